"""Impact periods (影响期) and what they block: an excellent rating, a promotion.

A sanction opens a period from the day it occurred, for the months its kind is configured
with, by the kit's one calendar: 6 months from 2022-03-01 run until 2022-08-31, the last
day with effect (``cadrekit.dates.term_end``). Excellence for a year is blocked when any period overlaps that year (the rating
judges the whole year); promotion is blocked on a day inside a period. A waiver or a
reversal lifts the period: the sanction no longer has effect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cadrekit.dates import term_end


@dataclass(frozen=True)
class ImpactPeriod:
    entry_id: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date  # the last day with effect
    lifted: bool = False

    def overlaps_year(self, year: int) -> bool:
        return not self.lifted and self.starts_on <= dt.date(year, 12, 31) and self.ends_on >= dt.date(year, 1, 1)

    def covers(self, day: dt.date) -> bool:
        return not self.lifted and self.starts_on <= day <= self.ends_on


def open_period(entry_id: str, kind: str, occurred_on: dt.date, months: int) -> ImpactPeriod | None:
    if months <= 0:
        return None
    return ImpactPeriod(entry_id, kind, occurred_on, term_end(occurred_on, months))


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    reasons: list[str]


def excellence_verdict(periods: Iterable[ImpactPeriod], year: int) -> Verdict:
    reasons = [
        f"impact period of a {p.kind} sanction from {p.starts_on} until {p.ends_on} overlaps {year}"
        for p in periods
        if p.overlaps_year(year)
    ]
    return Verdict(not reasons, reasons)


def promotion_verdict(periods: Iterable[ImpactPeriod], on: dt.date) -> Verdict:
    reasons = [
        f"impact period of a {p.kind} sanction runs until {p.ends_on} (from {p.starts_on})"
        for p in periods
        if p.covers(on)
    ]
    return Verdict(not reasons, reasons)
