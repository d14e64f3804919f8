"""Excellence quotas (seed 003 Xinghua, seed 000 Pinghu).

- A unit's quota is its share of cadres rated excellent, set by the unit's own rating
  (table per year), times its headcount, rounded down, plus what the department granted
  it from the city incentive pool.
- A reserved quota for second-line cadres who worked in central work that year (Pinghu)
  is city-wide and used only after a unit's own quota is full.
- Proposals rank by the weighted appraisal, then the year's points ("top scorers go first
  at equal conditions"), then cadre id so the result is the same every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

UNIT_SOURCE = "unit_quota"
RESERVE_SOURCE = "second_line_reserve"

# Defaults for the department to set per year (unit rating → share rated excellent).
DEFAULT_EXCELLENCE_RATIOS: dict[str, Decimal] = {
    "first": Decimal("0.25"),
    "second": Decimal("0.20"),
    "third": Decimal("0.15"),
    "fourth": Decimal("0.10"),
}
DEFAULT_UNIT_RATING = "second"


def unit_quota(headcount: int, ratio: Decimal, granted: int = 0) -> int:
    return int((Decimal(headcount) * ratio).to_integral_value(rounding=ROUND_FLOOR)) + granted


@dataclass(frozen=True)
class Candidate:
    cadre_id: str
    unit_id: str
    appraisal: Decimal | None
    points: Decimal
    blocked: list[str] = field(default_factory=list)
    second_line_central: bool = False


@dataclass(frozen=True)
class Proposal:
    cadre_id: str
    unit_id: str
    source: str


@dataclass(frozen=True)
class Passed:
    cadre_id: str
    unit_id: str
    reason: str


def _order(c: Candidate) -> tuple[Decimal, Decimal, str]:
    return (-(c.appraisal or Decimal(0)), -c.points, c.cadre_id)


def propose(
    candidates: Iterable[Candidate], quotas: Mapping[str, int], reserve: int, used: Mapping[str, int] | None = None
) -> tuple[list[Proposal], list[Passed]]:
    """Who is proposed excellent, from which quota, and why everyone else is not.
    ``used`` counts ratings already confirmed against each unit's quota."""
    used = dict(used or {})
    proposals: list[Proposal] = []
    passed: list[Passed] = []
    over: list[Candidate] = []
    for c in sorted(candidates, key=_order):
        if c.blocked:
            passed.append(Passed(c.cadre_id, c.unit_id, "; ".join(c.blocked)))
            continue
        if c.appraisal is None:
            passed.append(Passed(c.cadre_id, c.unit_id, "no appraisal recorded for the year"))
            continue
        if used.get(c.unit_id, 0) < quotas.get(c.unit_id, 0):
            used[c.unit_id] = used.get(c.unit_id, 0) + 1
            proposals.append(Proposal(c.cadre_id, c.unit_id, UNIT_SOURCE))
        else:
            over.append(c)
    left = reserve
    for c in sorted(over, key=lambda c: (-c.points, *_order(c))):
        if c.second_line_central and left > 0:
            left -= 1
            proposals.append(Proposal(c.cadre_id, c.unit_id, RESERVE_SOURCE))
        else:
            passed.append(Passed(c.cadre_id, c.unit_id, f"over the unit's quota of {quotas.get(c.unit_id, 0)}"))
    return proposals, passed
