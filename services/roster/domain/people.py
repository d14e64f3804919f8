"""Rules about a cadre that follow from dates: age, grassroots years, availability (the
retirement date is ``domain/retirement.py``'s)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

GENDERS = ("male", "female")
LEADERSHIP_STATUSES = ("in_post", "second_line", "non_leading")
HEALTH = ("healthy", "limited", "exempt")
EXIT_KINDS = ("retired", "transferred_out", "deceased")


def age_on(birth_date: dt.date, on: dt.date) -> int:
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date | None  # open: still running
    unit_name: str | None = None


def grassroots_years(periods: Iterable[Period], today: dt.date) -> Decimal:
    """Days in grassroots units (both ends counted, as every term is: cadrekit.dates) / 365.25,
    one decimal. Overlapping periods count once."""
    spans = sorted((p.start, min(p.end or today, today)) for p in periods if p.start <= today)
    days = 0
    cur_start: dt.date | None = None
    cur_end: dt.date | None = None
    for start, end in spans:
        if end < start:
            continue
        if cur_end is None or start > cur_end:
            if cur_start is not None and cur_end is not None:
                days += (cur_end - cur_start).days + 1  # both ends are days served
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_start is not None and cur_end is not None:
        days += (cur_end - cur_start).days + 1  # both ends are days served
    return (Decimal(days) / Decimal("365.25")).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def paused_for_secondment(periods: list[Period], starts_on: dt.date) -> list[Period]:
    """A grassroots cadre seconded to a city organ is not at the grassroots meanwhile: the
    open period (the cadre's town or village post) ends the day before the secondment starts
    (issue 17). Periods that end, or start later, stay as they are."""
    last_day = starts_on - dt.timedelta(days=1)
    return [Period(p.start, last_day, p.unit_name) if p.end is None and p.start <= last_day else p for p in periods]


def resumed_after_secondment(periods: list[Period], starts_on: dt.date, ended_on: dt.date) -> list[Period]:
    """On return from a city organ, the period the secondment paused goes on from the day
    after the last day served, in the same unit. Nothing paused (the cadre had no open
    period), or already resumed: unchanged."""
    paused = [p for p in periods if p.end == starts_on - dt.timedelta(days=1)]
    back = ended_on + dt.timedelta(days=1)
    if not paused or any(p.start == back for p in periods):
        return periods
    return [*periods, Period(back, None, paused[-1].unit_name)]


@dataclass(frozen=True)
class Availability:
    status: str  # available | retiring | health_exempt | seconded | on_assignment | left
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.status == "available"


def availability_in(
    year: int,
    *,
    retirement_date: dt.date,
    health: str,
    left: bool = False,
    seconded_until: dt.date | None = None,
    on_assignment_until: dt.date | None = None,
) -> Availability:
    """Derived for a year, never typed in (domain.md "availability"). Secondment and
    assignment periods arrive from other services' events in later issues."""
    if left:
        return Availability("left", "has left the roster")
    if retirement_date.year <= year:
        return Availability("retiring", f"retires on {retirement_date.isoformat()}")
    if health == "exempt":
        return Availability("health_exempt", "exempt on health grounds")
    first_day = dt.date(year, 1, 1)
    if seconded_until is not None and seconded_until >= first_day:
        return Availability("seconded", f"seconded until {seconded_until.isoformat()}")
    if on_assignment_until is not None and on_assignment_until >= first_day:
        return Availability("on_assignment", f"on assignment until {on_assignment_until.isoformat()}")
    return Availability("available")


AGE_BANDS = ((0, 35, "under_35"), (35, 45, "35_44"), (45, 55, "45_54"), (55, 200, "55_and_over"))


def age_band(age: int) -> str:
    for low, high, label in AGE_BANDS:
        if low <= age < high:
            return label
    return "55_and_over"
