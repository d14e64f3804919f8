"""The business clock is Beijing's, and month arithmetic clamps to the month's last day."""

from __future__ import annotations

import datetime as dt

import pytest

from cadrekit import dates

D = dt.date


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2017, 1, 31), 1, D(2017, 2, 28)),
        (D(2019, 12, 31), 2, D(2020, 2, 29)),
        (D(2017, 11, 15), 14, D(2019, 1, 15)),
        (D(2025, 8, 31), 6, D(2026, 2, 28)),
        (D(2017, 4, 1), 24, D(2019, 4, 1)),
        (D(2020, 3, 31), -1, D(2020, 2, 29)),
        (D(2020, 1, 15), -13, D(2018, 12, 15)),
        (D(2020, 5, 20), 0, D(2020, 5, 20)),
    ],
)
def test_add_months_keeps_the_day_or_clamps_it_to_the_months_end(day: dt.date, months: int, expected: dt.date) -> None:
    assert dates.add_months(day, months) == expected


def test_the_business_date_is_beijings_also_when_a_utc_host_is_still_on_yesterday() -> None:
    # 2026-01-01 02:30 in Beijing is still 31 December on a UTC host.
    instant = dt.datetime(2025, 12, 31, 18, 30, tzinfo=dt.UTC)
    assert instant.date() == D(2025, 12, 31)
    assert dates.business_date(instant) == D(2026, 1, 1)
    assert dates.business_date(dt.datetime(2025, 12, 31, 15, 59, 59, tzinfo=dt.UTC)) == D(2025, 12, 31)


def test_a_naive_datetime_has_no_business_date() -> None:
    with pytest.raises(ValueError, match="naive"):
        dates.business_date(dt.datetime(2026, 1, 1, 12))


def test_today_reads_the_clock_in_beijing() -> None:
    before = dates.business_date(dt.datetime.now(dt.UTC))
    got = dates.today()
    after = dates.business_date(dt.datetime.now(dt.UTC))
    assert got in (before, after)


@pytest.mark.parametrize(
    ("starts_on", "months", "last_day"),
    [
        (dt.date(2022, 3, 1), 12, dt.date(2023, 2, 28)),  # issue 17: matching's phased post
        (dt.date(2017, 4, 1), 24, dt.date(2019, 3, 31)),  # issue 17: Foshan's two-year secondment
        (dt.date(2024, 3, 1), 12, dt.date(2025, 2, 28)),
        (dt.date(2023, 3, 1), 12, dt.date(2024, 2, 29)),  # a leap February is whole
        (dt.date(2024, 1, 15), 1, dt.date(2024, 2, 14)),
        # a start on the 29th–31st: no such day in the last month, so its last day (Civil Code art. 203)
        (dt.date(2024, 1, 29), 1, dt.date(2024, 2, 28)),
        (dt.date(2023, 1, 29), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 1, 30), 1, dt.date(2024, 2, 29)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 30), 1, dt.date(2024, 4, 29)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 4, 30)),
        (dt.date(2024, 8, 31), 6, dt.date(2025, 2, 28)),
        (dt.date(2024, 12, 31), 2, dt.date(2025, 2, 28)),
    ],
)
def test_a_term_ends_the_day_before_the_same_day_n_months_later(
    starts_on: dt.date, months: int, last_day: dt.date
) -> None:
    assert dates.term_end(starts_on, months) == last_day


def test_consecutive_terms_tile_with_no_gap_and_no_overlap() -> None:
    day = dt.date(2023, 1, 1)
    while day < dt.date(2025, 1, 1):
        for months in (1, 6, 12, 24):
            end = dates.term_end(day, months)
            following = end + dt.timedelta(days=1)
            # the next term of the same length starts the day after and ends no earlier
            assert dates.term_end(following, months) > end
            assert dates.days_counted(day, end) >= 28 * months
        day += dt.timedelta(days=1)


def test_a_term_has_at_least_one_month() -> None:
    with pytest.raises(ValueError):
        dates.term_end(dt.date(2024, 1, 1), 0)


def test_days_counted_count_both_ends() -> None:
    assert dates.days_counted(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == 31
    assert dates.days_counted(dt.date(2017, 4, 1), dt.date(2019, 3, 31)) == 730
    assert dates.days_counted(dt.date(2024, 3, 1), dt.date(2024, 3, 1)) == 1
    assert dates.days_counted(dt.date(2024, 3, 2), dt.date(2024, 3, 1)) == 0
