"""Fit score terms and breakdown, preferences derived from roster wishes, the 1:2 shortlist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.matching.domain.balance import shortlist
from services.matching.domain.fit import CadreFacts, FitWeights, PostFacts, cadre_terms, explain
from services.matching.domain.problem import CandidateIn, PostIn, Problem, explain_assignment
from services.matching.domain.stable import cadre_proposing

ON = dt.date(2022, 1, 1)


def cadre(**kw: object) -> CadreFacts:
    base: dict[str, object] = {
        "unit_id": "u-home",
        "region": "平湖",
        "professional_field": "经济",
        "strengths": frozenset({"招商引资", "文字材料"}),
        "retirement_date": dt.date(2030, 6, 1),
        "points": Decimal("0"),
    }
    base.update(kw)
    return CadreFacts(**base)  # type: ignore[arg-type]


def post(**kw: object) -> PostFacts:
    base: dict[str, object] = {
        "host_unit_id": "u-host",
        "host_region": "嘉兴",
        "category": "经济管理",
        "kind": "standing",
        "required_strengths": frozenset({"招商引资", "项目管理"}),
        "professional_field": "经济",
    }
    base.update(kw)
    return PostFacts(**base)  # type: ignore[arg-type]


def test_breakdown_adds_up_to_the_total_with_the_default_weights() -> None:
    w = FitWeights()
    assert (
        sum(Decimal(v) for k, v in w.as_dict().items() if k in ("continuity", "wish", "post_fit", "age_care", "points"))
        == 100
    )
    f = explain(cadre_terms(cadre(points=Decimal("1.50")), w, ON), post(), w, 1, 3)
    b = f.breakdown
    assert b["continuity"]["value"] == "1.0000"  # same professional field
    assert b["wish"]["value"] == "1.0000"  # first of three
    assert b["post_fit"]["value"] == "0.5000"  # one of two required strengths
    assert b["post_fit"]["label"] == "人岗相适" and b["continuity"]["label"] == "工作连续性"
    assert b["points"]["value"] == "0.5000"  # 1.50 of a 3.00 scale
    assert b["age_care"]["value"] == "0.0000"  # 8.4 years before retirement
    assert f.total == Decimal("20.00") + Decimal("30.00") + Decimal("12.50") + Decimal("7.50")
    assert sum(Decimal(t["contribution"]) for t in b.values()) == f.total


def test_terms_follow_the_four_principles() -> None:
    w = FitWeights()
    near = cadre_terms(cadre(retirement_date=dt.date(2023, 1, 1), professional_field="农业"), w, ON)
    # one year before retirement: 4/5 of full age care, on a phased post in the home region
    phased_near = explain(near, post(kind="phased", host_region="平湖", host_unit_id="u-home"), w, 3, 3)
    assert phased_near.breakdown["age_care"]["value"] == "0.8000"
    assert phased_near.breakdown["continuity"]["value"] == "0.5000"  # same unit, other field
    assert phased_near.breakdown["wish"]["value"] == "0.3333"  # last of three
    unlisted = explain(near, post(), w, None, 3)
    assert unlisted.breakdown["wish"]["value"] == "0.0000"
    assert unlisted.breakdown["age_care"]["value"] == "0.0000"  # standing, other region
    sanctioned = explain(cadre_terms(cadre(points=Decimal("-9")), w, ON), post(), w, 1, 1)
    assert sanctioned.breakdown["points"]["value"] == "-1.0000"  # capped at -1


def _problem(ranking: tuple[str, ...] | None = None, post_ranking: tuple[str, ...] = ()) -> Problem:
    cadres = [
        CandidateIn("c1", "甲", cadre(), None, ("经济管理", "城建交通")),
        CandidateIn("c2", "乙", cadre(strengths=frozenset({"项目管理", "招商引资"})), ranking, ()),
        CandidateIn("c3", "丙", cadre(professional_field="城建"), None, ("城建交通",)),
    ]
    posts = [
        PostIn("p-econ", "招商专班", post(), 1, post_ranking),
        PostIn("p-build", "重点工程", post(category="城建交通", professional_field="城建"), 1),
    ]
    return Problem(cadres, posts, FitWeights(), ON)


def test_rankings_come_from_the_office_else_from_roster_wishes() -> None:
    pr = _problem(ranking=("p-build",))
    assert pr.prefs[0] == [0, 1]  # wishes: economic management, then construction
    assert pr.prefs[1] == [1]  # the office's ranking
    assert pr.prefs[2] == [1]  # only construction wished


def test_a_post_ranks_its_own_list_first_then_by_fit() -> None:
    pr = _problem(post_ranking=("c1",))
    # c2 fits p-econ better (both strengths) but the post ranked c1 itself
    assert pr.keys[0][0] < pr.keys[1][pr.prefs[1].index(0)]
    assigned = cadre_proposing(pr.prefs, pr.keys, pr.seats)
    assert assigned[0] == 0
    rows = explain_assignment(pr, assigned, "stable")
    assert rows[0]["reason"] == "placed" and rows[0]["cadre_rank"] == 1 and rows[0]["post_rank"] == 1


def test_unplaced_cadres_say_why() -> None:
    pr = _problem(ranking=())
    assigned = cadre_proposing(pr.prefs, pr.keys, pr.seats)
    rows = {r["cadre_id"]: r for r in explain_assignment(pr, assigned, "stable")}
    assert rows["c2"]["reason"] == "no_acceptable_post"
    # c1 and c3 both want p-build second/first; whoever lost it is outranked everywhere
    losers = [r for r in rows.values() if r["post_id"] is None and r["cadre_id"] != "c2"]
    assert all(r["reason"] == "outranked_everywhere" for r in losers)


def test_balance_table_fills_to_one_in_two_and_flags_why() -> None:
    pr = _problem(ranking=("p-build",))
    rows, flags = shortlist(pr, 0)  # only c1 ranked p-econ: one more from the pool by fit
    assert [r["cadre_id"] for r in rows] == ["c1", "c2"]
    assert rows[0]["ranked_post"] and not rows[1]["ranked_post"]
    assert [f.code for f in flags] == ["few_applicants"]
    three_seats = Problem(pr.cadres, [PostIn("p-econ", "x", post(), 3)], FitWeights(), ON)
    rows, flags = shortlist(three_seats, 0)
    assert len(rows) == 3 and {f.code for f in flags} == {"few_applicants", "pool_too_small"}


def test_exclusion_reasons_in_order() -> None:
    from services.matching.domain.pool import SecondmentSpan, exclusion

    healthy = {"status": "active", "retirement_date": dt.date(2030, 1, 1), "health": "healthy"}
    assert exclusion(2022, **healthy) is None  # type: ignore[arg-type]
    retiring = exclusion(2022, status="active", retirement_date=dt.date(2022, 11, 30), health="exempt")
    assert retiring is not None and retiring.reason == "retiring"
    ruled = exclusion(
        2022, status="active", retirement_date=dt.date(2022, 11, 30), health=None, retirement_rule="60 years"
    )
    assert ruled is not None and ruled.detail == "retires on 2022-11-30 (60 years)"
    ill = exclusion(2022, status="active", retirement_date=dt.date(2030, 1, 1), health="exempt")
    assert ill is not None and ill.reason == "health_exempt"
    active = SecondmentSpan(dt.date(2021, 3, 1), dt.date(2023, 2, 28), None, "active")
    ended_early = SecondmentSpan(dt.date(2020, 3, 1), dt.date(2022, 2, 28), dt.date(2021, 6, 1), "ended")
    seconded = exclusion(2022, **healthy, secondments=[active])  # type: ignore[arg-type]
    assert seconded is not None and seconded.reason == "seconded"
    assert exclusion(2022, **healthy, secondments=[ended_early]) is None  # type: ignore[arg-type]
    placed = exclusion(2022, **healthy, placed_in="c-1")  # type: ignore[arg-type]
    assert placed is not None and placed.reason == "already_placed"
