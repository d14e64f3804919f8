"""Two runs compared line by line (services/matching/domain/comparison.py): who moves, which
posts change hands, the total fit each way, and each quota group's count; and which posts a
quota groups (domain/quotas.py ``in_group``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.comparison import Group, GroupCount, Holders, Line, Move, compare, total_fit
from services.matching.domain.quotas import in_group


def placed(post_id: str, fit: str) -> Line:
    return Line(post_id, Decimal(fit), "placed")


def unplaced(reason: str = "outranked_everywhere") -> Line:
    return Line(None, None, reason)


def test_the_cadres_who_move_the_posts_that_change_hands_and_the_fit_and_quota_counts_each_way() -> None:
    # x moves from the government post g1 to the party post q1; z takes x's seat on g1; y
    # stays on g2; w is placed in a and no longer in b's pool; v is excluded in both.
    a = {
        "x": placed("g1", "71.30"),
        "y": placed("g2", "60.00"),
        "z": unplaced(),
        "w": placed("q2", "55.25"),
        "v": unplaced("excluded"),
    }
    b = {
        "x": placed("q1", "64.10"),
        "y": placed("g2", "60.00"),
        "z": placed("g1", "58.40"),
        "v": unplaced("excluded"),
    }
    groups = [Group("body=government", frozenset({"g1", "g2"})), Group("body=party_committee", frozenset({"q1", "q2"}))]

    got = compare(a, b, groups)

    assert got.moves == [
        Move("w", placed("q2", "55.25"), None),
        Move("x", placed("g1", "71.30"), placed("q1", "64.10")),
        Move("z", unplaced(), placed("g1", "58.40")),
    ]
    assert got.holders == [Holders("g1", ("x",), ("z",)), Holders("q1", (), ("x",)), Holders("q2", ("w",), ())]
    assert got.total_fit_a == Decimal("186.55")
    assert got.total_fit_b == Decimal("182.50")
    assert got.total_fit_difference == Decimal("-4.05")
    assert got.groups == [GroupCount("body=government", 2, 2), GroupCount("body=party_committee", 1, 1)]
    assert [g.difference for g in got.groups] == [0, 0]


def test_a_quota_whose_group_gains_and_one_that_loses_count_the_difference_b_minus_a() -> None:
    a = {"x": placed("g1", "70.00"), "y": placed("g2", "65.00")}
    b = {"x": placed("q1", "62.00"), "y": placed("g2", "65.00")}
    got = compare(a, b, [Group("body=government", frozenset({"g1", "g2"})), Group("body=cppcc", frozenset({"q1"}))])
    assert [(g.name, g.a, g.b, g.difference) for g in got.groups] == [
        ("body=government", 2, 1, -1),
        ("body=cppcc", 0, 1, 1),
    ]
    assert str(got.total_fit_difference) == "-8.00"


def test_a_run_compared_with_the_same_lines_changes_nothing() -> None:
    a = {"x": placed("g1", "70.00"), "y": unplaced("no_acceptable_post")}
    got = compare(a, dict(a), [Group("category=经济管理", frozenset({"g1"}))])
    assert got.moves == [] and got.holders == []
    assert got.total_fit_difference == Decimal("0.00")
    assert got.groups == [GroupCount("category=经济管理", 1, 1)]


def test_two_empty_runs_total_zero_to_two_places() -> None:
    got = compare({}, {})
    assert (got.moves, got.holders, got.groups) == ([], [], [])
    assert str(got.total_fit_a) == "0.00" and str(got.total_fit_difference) == "0.00"


def test_an_unplaced_line_and_a_line_without_a_fit_add_nothing_to_the_total() -> None:
    assert total_fit([placed("g1", "10.50"), unplaced(), Line("g2", None, "overridden")]) == Decimal("10.50")


lines = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(8)]),
    st.builds(
        Line,
        st.one_of(st.none(), st.sampled_from(["p1", "p2", "p3"])),
        st.decimals(min_value=0, max_value=100, places=2),
        st.just("placed"),
    ),
)


@settings(max_examples=200, deadline=None)
@given(lines, lines)
def test_moving_the_moved_cadres_turns_a_into_b(a: dict[str, Line], b: dict[str, Line]) -> None:
    got = compare(a, b, [Group("all", frozenset({"p1", "p2", "p3"}))])
    moved = {m.cadre_id for m in got.moves}
    post = {cid: ln.post_id for cid, ln in a.items()}
    for m in got.moves:
        post[m.cadre_id] = m.b.post_id if m.b else None
    assert {c: p for c, p in post.items() if p} == {c: ln.post_id for c, ln in b.items() if ln.post_id}
    for cid in (a.keys() | b.keys()) - moved:
        assert (a[cid].post_id if cid in a else None) == (b[cid].post_id if cid in b else None)
    # a post changes hands exactly when someone moves onto it or off it
    touched = {ln.post_id for m in got.moves for ln in (m.a, m.b) if ln and ln.post_id}
    assert {h.post_id for h in got.holders} == touched
    for h in got.holders:
        assert h.a == tuple(sorted(c for c, ln in a.items() if ln.post_id == h.post_id))
        assert h.b == tuple(sorted(c for c, ln in b.items() if ln.post_id == h.post_id))
    total_b = sum((ln.fit for ln in b.values() if ln.post_id and ln.fit is not None), Decimal("0"))
    total_a = sum((ln.fit for ln in a.values() if ln.post_id and ln.fit is not None), Decimal("0"))
    assert got.total_fit_difference == total_b - total_a
    placed_a = sum(1 for ln in a.values() if ln.post_id)
    placed_b = sum(1 for ln in b.values() if ln.post_id)
    assert got.groups == [GroupCount("all", placed_a, placed_b)]


@pytest.mark.parametrize(
    ("dimension", "value", "expected"),
    [
        ("category", "党政群团", True),
        ("category", "经济管理", False),
        ("unit_kind", "city_organ", True),
        ("body", "government", True),
        ("body", "cppcc", False),
    ],
)
def test_a_quota_groups_a_post_by_its_category_or_its_host_units_kind_or_body(
    dimension: str, value: str, expected: bool
) -> None:
    assert in_group(dimension, value, category="党政群团", unit_kind="city_organ", body="government") is expected


def test_a_post_whose_host_unit_is_unknown_is_in_no_unit_kind_or_body_group() -> None:
    assert not in_group("body", "government", category="党政群团", unit_kind=None, body=None)
    with pytest.raises(ValueError, match="unknown quota dimension"):
        in_group("region", "平湖", category="党政群团", unit_kind=None, body=None)
