"""Batch statistics as Foshan reported its first batch (seed 004): for the whole batch and
per direction — how many, average age at the batch's start (each age in whole years, the
average to one decimal: 33.8), non-Party members, women — and counts by the grassroots
side's region and unit kind (7 + 4 of 15 city cadres to Sanshui and Gaoming)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class Member:
    direction: str
    birth_date: dt.date | None
    gender: str | None
    party_member: bool
    region: str | None  # of the grassroots side
    unit_kind: str | None  # of the grassroots side


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def average_age(births: Iterable[dt.date | None], on: dt.date) -> Decimal | None:
    ages = [age_on(b, on) for b in births if b is not None]
    if not ages:
        return None
    return (Decimal(sum(ages)) / Decimal(len(ages))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _group(members: Sequence[Member], on: dt.date) -> dict[str, Any]:
    avg = average_age((m.birth_date for m in members), on)
    return {
        "count": len(members),
        "average_age": None if avg is None else str(avg),
        "non_party": sum(1 for m in members if not m.party_member),
        "women": sum(1 for m in members if m.gender == "female"),
        "by_region": dict(sorted(Counter(m.region or "unknown" for m in members).items())),
        "by_unit_kind": dict(sorted(Counter(m.unit_kind or "unknown" for m in members).items())),
    }


def batch_stats(members: Sequence[Member], starts_on: dt.date, directions: Sequence[str]) -> dict[str, Any]:
    return {
        "age_on": starts_on.isoformat(),
        "total": _group(members, starts_on),
        "by_direction": {d: _group([m for m in members if m.direction == d], starts_on) for d in directions},
    }
