import datetime as dt
from decimal import Decimal

from services.roster.domain.people import (
    Period,
    age_band,
    age_on,
    availability_in,
    grassroots_years,
)


def test_a_cadre_retiring_within_the_year_is_not_available_that_year() -> None:
    a = availability_in(2022, retirement_date=dt.date(2022, 11, 30), health="healthy")
    assert (a.status, a.available) == ("retiring", False)
    assert "2022-11-30" in (a.reason or "")
    assert availability_in(2021, retirement_date=dt.date(2022, 11, 30), health="healthy").available


def test_health_exempt_cadres_are_excluded_with_a_reason() -> None:
    a = availability_in(2022, retirement_date=dt.date(2030, 1, 1), health="exempt")
    assert a.status == "health_exempt" and a.reason


def test_secondment_and_assignment_periods_make_a_cadre_unavailable() -> None:
    ret = dt.date(2040, 1, 1)
    assert (
        availability_in(2023, retirement_date=ret, health="healthy", seconded_until=dt.date(2024, 6, 30)).status
        == "seconded"
    )
    assert (
        availability_in(2023, retirement_date=ret, health="healthy", on_assignment_until=dt.date(2023, 3, 1)).status
        == "on_assignment"
    )
    assert availability_in(2025, retirement_date=ret, health="healthy", seconded_until=dt.date(2024, 6, 30)).available


def test_grassroots_years_count_days_over_365_25_and_overlaps_once() -> None:
    periods = [Period(dt.date(2010, 1, 1), dt.date(2015, 1, 1)), Period(dt.date(2014, 1, 1), dt.date(2016, 1, 1))]
    assert grassroots_years(periods, dt.date(2026, 1, 1)) == Decimal("6.0")


def test_an_open_period_runs_until_today() -> None:
    assert grassroots_years([Period(dt.date(2024, 1, 1), None)], dt.date(2026, 1, 1)) == Decimal("2.0")


def test_age_and_bands() -> None:
    assert age_on(dt.date(1975, 3, 8), dt.date(2026, 3, 7)) == 50
    assert age_on(dt.date(1975, 3, 8), dt.date(2026, 3, 8)) == 51
    assert [age_band(a) for a in (30, 35, 44, 45, 55)] == ["under_35", "35_44", "35_44", "45_54", "55_and_over"]


def test_a_secondment_up_pauses_the_open_grassroots_period_and_the_return_resumes_it() -> None:
    from services.roster.domain.people import Period, paused_for_secondment, resumed_after_secondment

    home = [Period(dt.date(1998, 1, 1), dt.date(2000, 12, 31), "村"), Period(dt.date(2001, 1, 1), None, "镇")]
    paused = paused_for_secondment(home, dt.date(2017, 4, 1))
    assert paused == [home[0], Period(dt.date(2001, 1, 1), dt.date(2017, 3, 31), "镇")]
    back = resumed_after_secondment(paused, dt.date(2017, 4, 1), dt.date(2019, 3, 31))
    assert back == [*paused, Period(dt.date(2019, 4, 1), None, "镇")]
    assert resumed_after_secondment(back, dt.date(2017, 4, 1), dt.date(2019, 3, 31)) == back
    assert resumed_after_secondment(home, dt.date(2017, 4, 1), dt.date(2019, 3, 31)) == home  # nothing paused
