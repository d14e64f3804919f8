"""The growth index of a trainee (seed 002, Pinghu "百岗大练兵"): inspection groups — the
tutor, cadres of the host unit and representatives of the public — look at the trainee's
performance in the post and adaptation to it on site; the index summarises them.

Method (weights configurable per campaign):
1. per inspection and per aspect, the mean rating of each role present, combined with the
   role weights (tutor 0.4, host unit 0.4, public 0.2 by default; re-normalised over the
   roles present);
2. the inspection's score = performance weight × performance + adaptation weight ×
   adaptation (0.6 / 0.4 by default), 0–100;
3. the index = the mean of the inspection scores weighted 1, 2, …, n in date order, so the
   latest inspections count most: growth is where the trainee ends up, not where it began.
Rounded to two places, half up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

ROLES = ("tutor", "host_unit", "public")


@dataclass(frozen=True)
class GrowthWeights:
    performance: Decimal = Decimal("0.6")
    adaptation: Decimal = Decimal("0.4")
    roles: dict[str, Decimal] = field(
        default_factory=lambda: {"tutor": Decimal("0.4"), "host_unit": Decimal("0.4"), "public": Decimal("0.2")}
    )

    def as_dict(self) -> dict[str, object]:
        return {
            "performance": str(self.performance),
            "adaptation": str(self.adaptation),
            "roles": {k: str(v) for k, v in self.roles.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, object] | None) -> GrowthWeights:
        if not d:
            return cls()
        roles = d.get("roles") or {}
        assert isinstance(roles, dict)
        return cls(
            Decimal(str(d.get("performance", "0.6"))),
            Decimal(str(d.get("adaptation", "0.4"))),
            {r: Decimal(str(roles.get(r, cls().roles[r]))) for r in ROLES},
        )


@dataclass(frozen=True)
class Rating:
    role: str
    performance: int  # 0–100
    adaptation: int  # 0–100


@dataclass(frozen=True)
class Inspection:
    inspected_on: dt.date
    ratings: Sequence[Rating]


def inspection_score(inspection: Inspection, w: GrowthWeights) -> Decimal:
    def aspect(name: str) -> Decimal:
        total = weight = Decimal(0)
        for role in ROLES:
            values = [getattr(r, name) for r in inspection.ratings if r.role == role]
            if values and w.roles.get(role, 0) > 0:
                total += w.roles[role] * Decimal(sum(values)) / len(values)
                weight += w.roles[role]
        return total / weight if weight else Decimal(0)

    share = w.performance + w.adaptation
    if share <= 0:
        return Decimal(0)
    return (w.performance * aspect("performance") + w.adaptation * aspect("adaptation")) / share


def growth_index(inspections: Sequence[Inspection], w: GrowthWeights) -> Decimal | None:
    """None before the first inspection."""
    if not inspections:
        return None
    ordered = sorted(inspections, key=lambda i: i.inspected_on)
    num = sum((k * inspection_score(i, w) for k, i in enumerate(ordered, start=1)), Decimal(0))
    den = len(ordered) * (len(ordered) + 1) // 2
    return (num / den).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
