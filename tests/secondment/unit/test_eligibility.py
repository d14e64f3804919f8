from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.secondment.domain.eligibility import (
    Assignment,
    Candidate,
    Criteria,
    Direction,
    Performance,
    assess,
    rank_of,
    top_cutoff,
)

CRITERIA = Criteria(
    starts_on=dt.date(2017, 4, 1),
    ends_on=dt.date(2019, 3, 31),
    needed_specialties=("城市规划", "农业"),
    performance_top_share=Decimal("0.3"),
    performance_year=2016,
)


def city(**kw: object) -> Candidate:
    values: dict = {
        "direction": Direction.down,
        "status": "active",
        "home_unit_kind": "city_organ",
        "strengths": ("城市规划",),
        "grassroots_years": Decimal("0.5"),
        "retirement_date": dt.date(2045, 1, 1),
    }
    values.update(kw)
    return Candidate(**values)


def grassroots(**kw: object) -> Candidate:
    values: dict = {
        "direction": Direction.up,
        "status": "active",
        "home_unit_kind": "town",
        "retirement_date": dt.date(2045, 1, 1),
        "performance": Performance(Decimal("1.20"), tuple(Decimal(x) for x in ("1.20", "0.60", "0.40", "0.00"))),
    }
    values.update(kw)
    return Candidate(**values)


def failed(c: Candidate) -> list[str]:
    return [r.rule for r in assess(c, CRITERIA).failed]


def test_a_city_cadre_with_the_specialty_and_little_grassroots_time_is_eligible() -> None:
    verdict = assess(city(), CRITERIA)
    assert verdict.eligible
    assert [r.rule for r in verdict.rules] == [
        "on_roster",
        "home_unit_kind",
        "needed_specialty",
        "grassroots_experience_under_2_years",
        "not_retiring_within_term",
        "not_already_seconded",
        "not_already_placed",
    ]
    assert "城市规划" in verdict.rules[2].detail


def test_each_city_rule_fails_on_its_own_and_says_why() -> None:
    assert failed(city(strengths=("招商引资",))) == ["needed_specialty"]
    assert failed(city(strengths=(), professional_field="农业")) == []
    two = assess(city(grassroots_years=Decimal("2.0")), CRITERIA)
    assert [r.rule for r in two.failed] == ["grassroots_experience_under_2_years"]
    assert "2.0 years" in two.failed[0].detail
    assert failed(city(grassroots_years=Decimal("1.9"))) == []
    retiring = assess(city(retirement_date=dt.date(2019, 3, 31)), CRITERIA)  # on the term's last day
    assert [r.rule for r in retiring.failed] == ["not_retiring_within_term"]
    assert "2019-03-31" in retiring.failed[0].detail
    assert failed(city(retirement_date=dt.date(2019, 4, 1))) == []  # the day after: the whole term served
    assert failed(city(open_secondment_id="s-1")) == ["not_already_seconded"]
    assert failed(city(status="left")) == ["on_roster"]
    assert failed(city(home_unit_kind="town")) == ["home_unit_kind"]


def test_no_needed_specialty_in_the_batch_lets_anyone_pass_that_rule() -> None:
    assert assess(city(strengths=()), Criteria(ends_on=dt.date(2019, 3, 31))).eligible


def test_a_grassroots_cadre_in_the_top_share_is_a_strong_performer() -> None:
    verdict = assess(grassroots(), CRITERIA)
    assert verdict.eligible
    perf = next(r for r in verdict.rules if r.rule == "strong_performer")
    assert "rank 1 of 4" in perf.detail and "2016" in perf.detail


def test_outside_the_top_share_or_unscored_is_not() -> None:
    low = grassroots(performance=Performance(Decimal("0.40"), (Decimal("1.2"), Decimal("0.6"), Decimal("0.4"))))
    assert failed(low) == ["strong_performer"]
    assert failed(grassroots(performance=Performance())) == ["strong_performer"]


def test_the_office_judgement_decides_when_recorded() -> None:
    assert failed(grassroots(performance=Performance(judgement="strong"))) == []
    high_but_judged = grassroots(performance=Performance(Decimal("1.20"), (Decimal("1.20"),), judgement="not_strong"))
    verdict = assess(high_but_judged, CRITERIA)
    assert [r.rule for r in verdict.failed] == ["strong_performer"]
    assert "judged not a strong performer" in verdict.failed[0].detail


def test_a_grassroots_cadre_must_come_from_a_town_or_village() -> None:
    assert failed(grassroots(home_unit_kind="city_organ")) == ["home_unit_kind"]
    assert failed(grassroots(home_unit_kind="village")) == []


def test_ranks_share_places_and_the_cutoff_rounds_up() -> None:
    totals = [Decimal(x) for x in ("3", "2", "2", "1")]
    assert rank_of(Decimal("2"), totals) == 2
    assert rank_of(Decimal("1"), totals) == 4
    assert top_cutoff(10, Decimal("0.3")) == 3
    assert top_cutoff(4, Decimal("0.3")) == 2
    assert top_cutoff(1, Decimal("0.01")) == 1
    assert top_cutoff(0, Decimal("0.3")) == 0


def test_a_placement_during_the_term_excludes_the_cadre() -> None:
    D = dt.date
    phased = Assignment("c-1", "phased", D(2016, 10, 1), D(2017, 10, 1))
    verdict = assess(city(assignments=(phased,)), CRITERIA)
    assert [r.rule for r in verdict.failed] == ["not_already_placed"]
    assert "phased post by campaign c-1 (2016-10-01–2017-10-01)" in verdict.failed[0].detail
    assert failed(grassroots(assignments=(Assignment("c-2", "training", D(2019, 1, 1), D(2019, 12, 31)),))) == [
        "not_already_placed"
    ]


def test_placements_outside_the_term_or_standing_posts_taken_before_it_do_not() -> None:
    D = dt.date
    ended = Assignment("c-1", "training", D(2016, 3, 1), D(2017, 3, 31))  # its last day the eve of the term
    later = Assignment("c-2", "phased", D(2019, 4, 1), D(2019, 12, 1))
    standing_before = Assignment("c-3", "standing", D(2016, 1, 1), None)
    assert failed(city(assignments=(ended, later, standing_before))) == []
    moving = Assignment("c-4", "standing", D(2017, 9, 1), None)
    assert failed(city(assignments=(moving,))) == ["not_already_placed"]
