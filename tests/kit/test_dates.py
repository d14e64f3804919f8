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
