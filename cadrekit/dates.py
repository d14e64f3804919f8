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
