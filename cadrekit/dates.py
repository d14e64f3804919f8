"""The business clock and month arithmetic, one of each for every service.

Business dates are Beijing dates: a term ends, an impact period runs out and a rating year
turns at midnight in China, not at midnight on the host's clock (a UTC host is eight hours
behind). Asia/Shanghai has kept UTC+8 all year since 1991, so a fixed offset is exact and
needs no time-zone database. ``datetime.date.today()`` is banned by a lint rule (pyproject:
ruff TID251) so that no module asks the host for the date.
"""

from __future__ import annotations

import calendar
import datetime as dt

BUSINESS_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def business_date(instant: dt.datetime) -> dt.date:
    """The Beijing date of an aware instant (a naive one is refused: it names no instant)."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime names no instant")
    return instant.astimezone(BUSINESS_TZ).date()


def today() -> dt.date:
    """Today's date in Beijing."""
    return business_date(dt.datetime.now(dt.UTC))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` later (or earlier), clamped to the month's last
    day: 31 January + 1 month = 28 or 29 February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_end(starts_on: dt.date, months: int) -> dt.date:
    """The last day of a term of ``months`` months that starts on ``starts_on``: the day
    before the same day ``months`` later (2022-03-01 + 12 → 2023-02-28; 2017-04-01 + 24 →
    2019-03-31). Where that month has no such day (a start on the 29th–31st), the term ends
    on the month's last day, as the Civil Code counts a period in months (art. 203): 31
    January + 1 month ends on 28 or 29 February, 30 March + 1 month on 29 April and 31 March
    + 1 month on 30 April. So consecutive terms tile: the next one starts the day after."""
    if months < 1:
        raise ValueError("a term lasts at least one month")
    index = starts_on.month - 1 + months
    year, month = starts_on.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if starts_on.day > last:
        return dt.date(year, month, last)
    return dt.date(year, month, starts_on.day) - dt.timedelta(days=1)


def days_counted(first: dt.date, last: dt.date) -> int:
    """Days from ``first`` to ``last`` counting both ends (a term served from 1 March to
    31 March is 31 days); 0 when ``last`` is before ``first``."""
    return max(0, (last - first).days + 1)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def impossible_day(year: int, month: int, day: int) -> tuple[str, str] | None:
    """What is wrong with a date written in the right form that names no day, in English and
    in Chinese (1962-02-30: "February has no 30th", "2月没有30日"); None when it is a day."""
    if not 1 <= month <= 12:
        return (f"there is no month {month}", f"没有{month}月")
    last = calendar.monthrange(year, month)[1]
    if 1 <= day <= last:
        return None
    if day < 1:
        return (f"there is no day {day}", f"没有{day}日")
    if month == 2 and day == 29:
        return (f"February {year} has no 29th ({year} is not a leap year)", f"{year}年2月没有29日（{year}年不是闰年）")
    return (f"{_MONTHS[month - 1]} has no {_ordinal(day)}", f"{month}月没有{day}日")
