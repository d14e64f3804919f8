"""Who of a campaign's pool may be placed, and why not (domain.md "availability").

Seed 000: of Pinghu's 141 second-line cadres, 24 retiring that year or ill were left out
and 117 placed. Every excluded cadre carries its reason; nobody disappears silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SecondmentSpan:
    starts_on: dt.date | None
    ends_on: dt.date | None
    ended_on: dt.date | None
    status: str  # active | ended


@dataclass(frozen=True)
class Exclusion:
    reason: str  # left | retiring | health_exempt | seconded | already_placed
    detail: str


def exclusion(
    year: int,
    *,
    status: str,
    retirement_date: dt.date | None,
    health: str | None,
    retirement_rule: str | None = None,
    secondments: Iterable[SecondmentSpan] = (),
    placed_in: str | None = None,
) -> Exclusion | None:
    """The first reason that keeps a cadre out of a campaign of ``year``, or None."""
    if status == "left":
        return Exclusion("left", "has left the roster")
    if retirement_date is not None and retirement_date.year <= year:
        rule = f" ({retirement_rule})" if retirement_rule else ""
        return Exclusion("retiring", f"retires on {retirement_date.isoformat()}{rule}")
    if health == "exempt":
        return Exclusion("health_exempt", "exempt on health grounds")
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    for s in secondments:
        end = s.ended_on if s.status == "ended" else s.ends_on
        if s.status == "ended" and end is None:
            continue
        if (s.starts_on is None or s.starts_on <= last) and (end is None or end >= first):
            until = f" until {end.isoformat()}" if end else ""
            return Exclusion("seconded", f"seconded{until}")
    if placed_in is not None:
        return Exclusion("already_placed", f"placed in campaign {placed_in} this year")
    return None
