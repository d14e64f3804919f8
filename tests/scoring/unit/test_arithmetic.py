"""Ledger arithmetic, impact periods and quotas as plain functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.catalogue import DEFAULT_CATALOGUE, CatalogueError, Rule, catalogue_dicts, parse_catalogue
from services.scoring.domain.impact import ImpactPeriod, excellence_verdict, open_period, promotion_verdict
from services.scoring.domain.ledger import AWARD, REVERSAL, Line, admit, restate, restated_total, total, used_capacity
from services.scoring.domain.money import as_points
from services.scoring.domain.quotas import RESERVE_SOURCE, Candidate, propose, unit_quota

D = Decimal


def rule(points: str, cap: str | None = None, direction: str = "positive") -> Rule:
    return Rule("R", "c", direction, D(points), "", None if cap is None else D(cap))


def test_points_are_decimal_to_two_places_and_never_float() -> None:
    assert as_points("0.6") == D("0.60")
    assert sum([as_points("0.1"), as_points("0.2")], D(0)) == D("0.30")
    for bad in (0.6, "0.605", "nan", "abc", None, True):
        with pytest.raises(ValueError):
            as_points(bad)


def test_a_capped_rule_admits_what_still_fits() -> None:
    r = rule("0.60", cap="1.00")
    assert admit(r, D("0")).points == D("0.60")
    partial = admit(r, D("0.60"))
    assert (partial.points, partial.capped) == (D("0.40"), True)
    assert admit(r, D("1.00")).points == D("0.00")
    neg = admit(rule("0.50", cap="1.00", direction="negative"), D("0.80"))
    assert (neg.points, neg.capped) == (D("-0.20"), True)


def test_a_reversal_frees_the_capacity_its_entry_used() -> None:
    lines = [Line("a", AWARD, "R", D("0.60"), 1), Line("b", AWARD, "R", D("0.40"), 2)]
    assert used_capacity(lines, "R") == D("1.00")
    lines.append(Line("x", REVERSAL, "R", D("-0.60"), 3, reverses="a"))
    assert used_capacity(lines, "R") == D("0.40")
    assert total(lines) == D("0.40")


def test_a_waiver_cancels_a_deduction_without_removing_it() -> None:
    lines = [
        Line("a", AWARD, "P01", D("0.60"), 1),
        Line("b", AWARD, "P01", D("0.60"), 2),
        Line("c", AWARD, "N02", D("-1.00"), 3, waived=True),
    ]
    assert total(lines) == D("1.20")
    assert len(lines) == 3


@given(
    st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=30), st.integers(min_value=1, max_value=2000)
)
def test_applied_points_never_pass_the_cap(amounts: list[int], cap_cents: int) -> None:
    cap = max(D(cap_cents), D(max(amounts))) / 100
    used = D(0)
    for cents in amounts:
        r = rule(str(D(cents) / 100), cap=str(cap))
        a = admit(r, used)
        used += a.points
        assert D(0) <= a.points <= r.points
        assert used <= cap


def test_restating_under_a_newer_version_replays_caps_in_approval_order() -> None:
    old = [
        Line("a", AWARD, "P01", D("0.60"), 1),
        Line("b", AWARD, "P01", D("0.60"), 2),
        Line("c", AWARD, "P99", D("1"), 3),
    ]
    data = catalogue_dicts(DEFAULT_CATALOGUE)
    data["rules"] = [
        {**r, "points": "0.80", "cap_per_year": "1.00"} if r["code"] == "P01" else r for r in data["rules"]
    ]
    newer = parse_catalogue(data["categories"], data["rules"], data["impact_months"])
    changes = {r.entry_id: r for r in restate(old, newer)}
    assert (changes["a"].new_points, changes["b"].new_points) == (D("0.80"), D("0.20"))
    assert changes["c"].withdrawn and changes["c"].new_points == D("0")
    assert restated_total(old, list(changes.values())) == D("1.00")


def test_a_draft_catalogue_is_checked_field_by_field() -> None:
    data = catalogue_dicts(DEFAULT_CATALOGUE)
    assert sum(c["direction"] == "positive" for c in data["categories"]) == 8
    assert sum(c["direction"] == "negative" for c in data["categories"]) == 5
    # The seed gives the +0.6 values; it names the three sanctions but not their amounts.
    named = {r["code"]: r for r in data["rules"] if not r["default"]}
    assert set(named) == {"P01", "P02"} and named["P01"]["points"] == named["P02"]["points"] == "0.60"
    named_categories = {c["code"] for c in data["categories"] if not c["default"]}
    assert {"ordered_inspection", "circular_criticism", "admonishment"} <= named_categories
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(data["categories"], [{**data["rules"][0], "points": "-1"}], {})
    assert err.value.field == "rules[0].points"
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(data["categories"], [data["rules"][0], data["rules"][0]], {})
    assert err.value.field == "rules[1].code"
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(data["categories"], data["rules"], {"admonishment": 600})
    assert err.value.field == "impact_months.admonishment"


def test_impact_periods_block_the_year_for_excellence_and_the_days_for_promotion() -> None:
    # six months from 31 August: no 31 February, so the period's last day is 28 February
    p = open_period("e", "admonishment", dt.date(2025, 8, 31), 6)
    assert p == ImpactPeriod("e", "admonishment", dt.date(2025, 8, 31), dt.date(2026, 2, 28))
    assert not excellence_verdict([p], 2025).eligible and not excellence_verdict([p], 2026).eligible
    assert excellence_verdict([p], 2027).eligible
    assert not promotion_verdict([p], dt.date(2026, 2, 28)).eligible  # the last day still has effect
    assert promotion_verdict([p], dt.date(2026, 3, 1)).eligible
    # issue 17: 6 months from 2022-03-01 run until 2022-08-31 (the day before 1 September)
    march = open_period("f", "admonishment", dt.date(2022, 3, 1), 6)
    assert march is not None and march.ends_on == dt.date(2022, 8, 31)
    assert not promotion_verdict([march], dt.date(2022, 8, 31)).eligible
    assert promotion_verdict([march], dt.date(2022, 9, 1)).eligible
    lifted = ImpactPeriod("e", "admonishment", dt.date(2025, 8, 31), dt.date(2026, 2, 28), lifted=True)
    assert excellence_verdict([lifted], 2025).eligible


def test_quotas_round_down_and_the_reserve_takes_second_line_cadres_only() -> None:
    assert unit_quota(11, D("0.20")) == 2 and unit_quota(11, D("0.20"), granted=1) == 3
    cands = [Candidate(f"c{i}", "u", D(90 - i), D(0)) for i in range(4)]
    cands.append(Candidate("old", "u", D(50), D("1.20"), second_line_central=True))
    cands.append(Candidate("bad", "u", D(99), D(5), blocked=["impact period"]))
    proposals, passed = propose(cands, {"u": 2}, reserve=1)
    assert [(p.cadre_id, p.source) for p in proposals] == [
        ("c0", "unit_quota"),
        ("c1", "unit_quota"),
        ("old", RESERVE_SOURCE),
    ]
    reasons = {p.cadre_id: p.reason for p in passed}
    assert reasons["bad"] == "impact period" and "quota of 2" in reasons["c2"]
