"""Terms, dates and grassroots experience (issue 6; domain.md "Secondment", "grassroots experience").

A term is counted by the kit's one calendar (``cadrekit.dates.term_end``): 24 months from
2017-04-01 end on 2019-03-31, the term's last day; the cadre is back on 2019-04-01. (Until
issue 17 ``ends_on`` was the return day, one day later; the events carrying it are
``dataversion`` 2 since.) Days served count both ends (``cadrekit.dates.days_counted``), the
same day arithmetic roster uses for grassroots periods, so what roster accrues matches what
this service reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from cadrekit.dates import days_counted
from cadrekit.dates import term_end as calendar_term_end

DEFAULT_TERM_MONTHS = 24
# Foshan's earlier practice was 6–12 months and the programme's term two years; five years
# is far beyond any secondment and a term of 0 is none.
MIN_TERM_MONTHS = 1
MAX_TERM_MONTHS = 60
GRASSROOTS_KINDS = frozenset({"town", "village"})


class TermError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_term_months(months: int, field: str = "term_months") -> int:
    if not MIN_TERM_MONTHS <= months <= MAX_TERM_MONTHS:
        raise TermError(field, f"must be between {MIN_TERM_MONTHS} and {MAX_TERM_MONTHS} months, not {months}")
    return months


def term_end(starts_on: dt.date, months: int) -> dt.date:
    """The term's last day."""
    return calendar_term_end(starts_on, check_term_months(months))


@dataclass(frozen=True)
class Ending:
    ended_on: dt.date
    end_kind: str  # completed | early
    days_served: int


def end_of(starts_on: dt.date, ends_on: dt.date, ended_on: dt.date | None, *, early: bool) -> Ending:
    """How a running secondment ends: ``ended_on`` is the last day served. Completion is on (or
    after) the term's last day, an early end before it; neither before the start."""
    day = ended_on or ends_on
    if day < starts_on:
        raise TermError("ended_on", f"{day.isoformat()} is before the start {starts_on.isoformat()}")
    if early and day >= ends_on:
        raise TermError("ended_on", f"an early end must be before the planned end {ends_on.isoformat()}")
    if not early and day < ends_on:
        raise TermError(
            "ended_on", f"the term runs until {ends_on.isoformat()}: end it early (with a reason) or extend it"
        )
    return Ending(day, "early" if early else "completed", days_counted(starts_on, day))


def grassroots_days(to_unit_kind: str, starts_on: dt.date, until: dt.date) -> int:
    """Days of grassroots experience a secondment gives: only to a town or village, and only
    days already served (``until`` is the last day served, or today for a running one)."""
    if to_unit_kind not in GRASSROOTS_KINDS:
        return 0
    return days_counted(starts_on, until)


def years_of(days: int) -> Decimal:
    """Days / 365.25 to one decimal, as roster derives grassroots_years."""
    return (Decimal(days) / Decimal("365.25")).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
