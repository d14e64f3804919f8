"""Three-rater appraisal (三访三评, seed 003): the Party committee rates overall conduct, the
public rates work results, the organization rates political responsibility. The weighted
score combines the three; visible (显绩) and latent (潜绩) achievement indicators are kept
apart and reported apart, never folded into one number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.scoring.domain.money import ZERO, two_places

RATERS = ("party_committee", "public", "organization")
# Defaults for the department to set per year: the committee's overall view weighs most.
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "party_committee": Decimal("0.40"),
    "public": Decimal("0.30"),
    "organization": Decimal("0.30"),
}
MAX_RATING = Decimal("100")


class AppraisalError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_weights(weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    if set(weights) != set(RATERS):
        raise AppraisalError("appraisal_weights", f"give exactly {', '.join(RATERS)}")
    for k, w in weights.items():
        if w < 0 or w > 1:
            raise AppraisalError(f"appraisal_weights.{k}", "a weight lies between 0 and 1")
    if sum(weights.values(), ZERO) != Decimal("1"):
        raise AppraisalError("appraisal_weights", "the three weights add up to 1")
    return {k: Decimal(weights[k]) for k in RATERS}


def check_rating(field: str, value: Decimal) -> Decimal:
    if not ZERO <= value <= MAX_RATING:
        raise AppraisalError(field, "a rating lies between 0 and 100")
    return two_places(value)


@dataclass(frozen=True)
class Appraisal:
    party_committee: Decimal
    public: Decimal
    organization: Decimal
    visible: dict[str, Decimal]
    latent: dict[str, Decimal]

    def weighted(self, weights: Mapping[str, Decimal]) -> Decimal:
        return two_places(sum((weights[r] * getattr(self, r) for r in RATERS), ZERO))

    @staticmethod
    def mean(indicators: Mapping[str, Decimal]) -> Decimal | None:
        if not indicators:
            return None
        return two_places(sum(indicators.values(), ZERO) / len(indicators))
