from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.secondment.domain.stats import Member, average_age, batch_stats
from services.secondment.domain.vetting import outcome

START = dt.date(2017, 4, 1)


def born(age: int, *, birthday_passed: bool) -> dt.date:
    """A birth date giving ``age`` whole years on START, the birthday before or after it."""
    return dt.date(2017 - age, 3, 1) if birthday_passed else dt.date(2017 - age - 1, 5, 1)


def test_ages_are_whole_years_at_the_batch_start() -> None:
    assert average_age([dt.date(1983, 4, 2)], START) == Decimal("33.0")  # 34 only on 2 April
    assert average_age([dt.date(1983, 4, 1)], START) == Decimal("34.0")
    assert average_age([None], START) is None


def test_the_foshan_first_batch_figures() -> None:
    # 30 ages summing to 1014 → 33.8; 7 non-Party; 3 women; 7 + 4 of 15 to Sanshui and Gaoming
    ages = [30, 31, 32, 33, 34, 35, 36, 37, 38, 32, 33, 34, 35, 36, 31] * 2
    ages[-1] += 1014 - sum(ages)
    assert sum(ages) == 1014
    regions = ["三水"] * 7 + ["高明"] * 4 + ["南海", "顺德", "禅城", "南海"]
    members = []
    for i, age in enumerate(ages):
        down = i < 15
        members.append(
            Member(
                direction="city_to_grassroots" if down else "grassroots_to_city",
                birth_date=born(age, birthday_passed=i % 2 == 0),
                gender="female" if i in (1, 16, 29) else "male",
                party_member=i not in (0, 3, 5, 18, 20, 22, 27),
                region=regions[i % 15],
                unit_kind="town",
            )
        )
    stats = batch_stats(members, START, ["city_to_grassroots", "grassroots_to_city"])
    total = stats["total"]
    assert (total["count"], total["average_age"], total["non_party"], total["women"]) == (30, "33.8", 7, 3)
    down = stats["by_direction"]["city_to_grassroots"]
    assert down["count"] == 15 and down["by_region"]["三水"] == 7 and down["by_region"]["高明"] == 4
    assert stats["by_direction"]["grassroots_to_city"]["women"] == 2
    assert stats["age_on"] == "2017-04-01"


def test_vetting_is_complete_only_with_every_aspect_and_the_discipline_opinion() -> None:
    aspects = dict.fromkeys(("political_quality", "moral_quality", "results", "diligence", "integrity"), "sound")
    partial = outcome({"political_quality": "sound"})
    assert not partial.complete and "discipline_reference" in partial.missing and "integrity" in partial.missing
    no_discipline = outcome(aspects)
    assert no_discipline.missing == ("discipline_reference",) and not no_discipline.passed
    full = outcome({**aspects, "discipline_reference": "佛纪函〔2017〕12号"})
    assert full.complete and full.passed
    concern = outcome({**aspects, "integrity": "concerns", "discipline_reference": "x"})
    assert concern.complete and not concern.passed and concern.concerns == ("integrity",)
