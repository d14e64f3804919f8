"""The 2025 retirement law against its own examples (NPCSC decision of 13 September 2024,
the tables annexed to it) and the 2015 notice for senior women (组通字〔2015〕14号)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.roster.domain.retirement import (
    Category,
    DecisionRefused,
    RetirementLaw,
    check_early,
    check_later,
    default_category,
)

LAW = RetirementLaw()


@pytest.mark.parametrize(
    ("birth", "category", "due", "age"),
    [
        # the law's examples
        (dt.date(1965, 1, 10), Category.men, dt.date(2025, 2, 10), "60 years 1 month"),
        (dt.date(1976, 9, 1), Category.men, dt.date(2039, 9, 1), "63 years"),
        (dt.date(1990, 3, 3), Category.men, dt.date(2053, 3, 3), "63 years"),
        (dt.date(1970, 1, 5), Category.women_cadres, dt.date(2025, 2, 5), "55 years 1 month"),
        (dt.date(1981, 9, 30), Category.women_cadres, dt.date(2039, 9, 30), "58 years"),
        (dt.date(1975, 1, 20), Category.women_workers, dt.date(2025, 2, 20), "50 years 1 month"),
        # the steps: four months of birth per month for men and women cadres, two for workers
        (dt.date(1965, 4, 30), Category.men, dt.date(2025, 5, 30), "60 years 1 month"),
        (dt.date(1965, 5, 1), Category.men, dt.date(2025, 7, 1), "60 years 2 months"),
        (dt.date(1976, 8, 31), Category.men, dt.date(2039, 7, 31), "62 years 11 months"),
        (dt.date(1975, 3, 1), Category.women_workers, dt.date(2025, 5, 1), "50 years 2 months"),
        (dt.date(1984, 11, 1), Category.women_workers, dt.date(2039, 11, 1), "55 years"),
        # before the first births delayed: the original age
        (dt.date(1964, 12, 31), Category.men, dt.date(2024, 12, 31), "60 years"),
        (dt.date(1969, 12, 1), Category.women_cadres, dt.date(2024, 12, 1), "55 years"),
        # the day of the month, clamped to the month's end
        (dt.date(1965, 5, 31), Category.men, dt.date(2025, 7, 31), "60 years 2 months"),
        (dt.date(1965, 1, 31), Category.men, dt.date(2025, 2, 28), "60 years 1 month"),
    ],
)
def test_the_statutory_date_follows_the_table_of_the_persons_original_age(
    birth: dt.date, category: Category, due: dt.date, age: str
) -> None:
    got = LAW.statutory(birth, category)
    assert got.date == due
    assert got.rule.startswith(age + " (")


def test_senior_women_retire_at_60_unless_the_department_applies_the_reform() -> None:
    # Qichun's 副处级 women born 1962–66: 60, not 55, and not "retiring" at 55.
    for year in range(1962, 1967):
        birth = dt.date(year, 6, 15)
        got = LAW.statutory(birth, Category.senior_women)
        assert got.date == dt.date(year + 60, 6, 15) and "2015" in got.rule
    delayed = RetirementLaw(senior_women_delayed=True).statutory(dt.date(1966, 6, 15), Category.senior_women)
    assert delayed.date == dt.date(2026, 11, 15)  # the men's table: June 1966 is 17 months on → 5 months


def test_the_category_follows_gender_and_rank_by_default() -> None:
    assert default_category("male", "副处") is Category.men
    assert default_category("female", "副处") is Category.senior_women
    assert default_category("female", " 正处 ") is Category.senior_women
    assert default_category("female", "正科") is Category.women_cadres
    assert default_category("female", None) is Category.women_cadres
    # 组通字〔2015〕14号 covers organs, people's organisations and institutions, not enterprises
    assert default_category("female", "副处", "institution") is Category.senior_women
    assert default_category("female", "副处", "enterprise") is Category.women_cadres
    assert default_category("male", "正科", "enterprise") is Category.men


def test_every_date_says_its_rule_in_chinese_too() -> None:
    got = LAW.statutory(dt.date(1965, 1, 10), Category.men)
    assert got.rule_zh.startswith("60周岁1个月（原法定退休年龄60周岁，延迟1个月")


def test_an_earlier_retirement_is_at_most_three_years_early_and_never_before_the_original_age() -> None:
    man = dt.date(1980, 1, 1)  # due at 63: 2043-01-01; original age 60: 2040-01-01
    check_early(LAW, man, Category.men, dt.date(2040, 1, 1))
    with pytest.raises(DecisionRefused):
        check_early(LAW, man, Category.men, dt.date(2039, 12, 31))
    with pytest.raises(DecisionRefused):
        check_early(LAW, man, Category.men, dt.date(2043, 1, 1))
    early = dt.date(1966, 1, 1)  # due at 60 years 4 months (2026-05-01); never before 2026-01-01
    with pytest.raises(DecisionRefused):
        check_early(LAW, early, Category.men, dt.date(2025, 12, 1))
    check_early(LAW, dt.date(1964, 3, 1), Category.senior_women, dt.date(2019, 3, 1))  # 55 on request


def test_a_later_retirement_is_after_the_due_date_and_at_most_three_years_after() -> None:
    birth = dt.date(1970, 1, 5)  # due 2025-02-05
    check_later(LAW, birth, Category.women_cadres, dt.date(2028, 2, 5))
    for refused in (dt.date(2025, 2, 5), dt.date(2028, 2, 6)):
        with pytest.raises(DecisionRefused):
            check_later(LAW, birth, Category.women_cadres, refused)
