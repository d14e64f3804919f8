"""The explained fit score: Qichun's four principles plus the cadre's annual points.

Source: seed 001 (蕲春 "四原则": 工作连续性、尊重个人意愿、人岗相适、年龄照顾) and the Pinghu
points system (seed 000) for the fifth term. Each term is a fraction in [0, 1] (points in
[-1, 1]); the score is the weighted sum, so with the default weights (summing to 100) a
score reads as "out of 100".

The arithmetic is in integers (terms in 1/10 000, scores in 1/100) so that 100 000 pairs
score in a fraction of a second and every result is exact and reproducible; the API shows
them as Decimal strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

TERMS = ("continuity", "wish", "post_fit", "age_care", "points", "growth")
# Each term's name in the office's words (seed 001's four principles, then the two scores).
# The person–post term was called ``fit``, the name of the score it is part of (issue 17).
TERM_LABELS_ZH = {
    "continuity": "工作连续性",
    "wish": "个人意愿",
    "post_fit": "人岗相适",
    "age_care": "年龄照顾",
    "points": "年度积分",
    "growth": "成长指数",
}
TermTuple = tuple[int, int, int, int, int, int]
ONE = 10_000  # a term of 1.0, in ten-thousandths


@dataclass(frozen=True)
class FitWeights:
    """Per-campaign weights. Defaults: personal wish weighs most (the campaigns are
    two-way selections), then person–post fit, continuity of work, points, age care."""

    continuity: Decimal = Decimal("20")
    wish: Decimal = Decimal("30")
    post_fit: Decimal = Decimal("25")
    age_care: Decimal = Decimal("10")
    points: Decimal = Decimal("15")
    # The growth index from an earlier training campaign (seed 002: "作为今后选拔的参考").
    # Off by default: most cadres have none, and a term most cannot earn would skew scores.
    growth: Decimal = Decimal("0")
    # Annual points at which the points term is full (five +0.6 entries in Pinghu's rules).
    points_scale: Decimal = Decimal("3.00")
    # Age care starts this many years before retirement and grows to full at retirement.
    age_care_years: int = 5

    def hundredths(self) -> TermTuple:
        return tuple(int((getattr(self, t) * 100).to_integral_value()) for t in TERMS)  # type: ignore[return-value]

    def as_dict(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {t: str(getattr(self, t)) for t in TERMS}
        out["points_scale"] = str(self.points_scale)
        out["age_care_years"] = self.age_care_years
        return out


@dataclass(frozen=True)
class CadreFacts:
    """What the score needs of a cadre (from the roster mirror and scoring events)."""

    unit_id: str
    region: str | None
    professional_field: str | None
    strengths: frozenset[str]
    retirement_date: dt.date | None
    points: Decimal = Decimal("0")
    growth: Decimal | None = None  # 0–100, the latest growth index


@dataclass(frozen=True)
class PostFacts:
    host_unit_id: str
    host_region: str | None
    category: str
    kind: str  # standing | phased | training
    required_strengths: frozenset[str] = field(default_factory=frozenset)
    professional_field: str | None = None


@dataclass(frozen=True)
class CadreTerms:
    """The parts of the score that depend on the cadre alone, computed once per cadre."""

    facts: CadreFacts
    points_bp: int
    age_need_bp: int
    growth_bp: int = 0


def cadre_terms(facts: CadreFacts, weights: FitWeights, on: dt.date) -> CadreTerms:
    points_bp = int(facts.points * ONE / weights.points_scale) if weights.points_scale > 0 else 0
    points_bp = max(-ONE, min(ONE, points_bp))
    need = 0
    if facts.retirement_date is not None and weights.age_care_years > 0:
        r = facts.retirement_date
        months_left = (r.year - on.year) * 12 + (r.month - on.month) - (r.day < on.day)
        span = weights.age_care_years * 12
        # Linear in whole months from 0 (age_care_years or more before retirement) to 1.
        need = max(0, min(ONE, (span - months_left) * ONE // span))
    growth_bp = max(0, min(ONE, int(facts.growth * 100))) if facts.growth is not None else 0
    return CadreTerms(facts, points_bp, need, growth_bp)


def wish_bp(rank: int | None, count: int) -> int:
    """Rank 1 of n is 1.0, the last is 1/n, a post not in the list 0."""
    if rank is None or count <= 0 or rank > count:
        return 0
    return (count - rank + 1) * ONE // count


def terms_bp(c: CadreTerms, p: PostFacts, wish_rank: int | None, wish_count: int) -> TermTuple:
    f = c.facts
    # Continuity of work: the post continues the cadre's line (same professional field),
    # or at least the same unit.
    if p.professional_field is not None and p.professional_field == f.professional_field:
        continuity = ONE
    elif p.host_unit_id == f.unit_id:
        continuity = ONE // 2
    else:
        continuity = 0
    # Person–post fit: the share of the post's required strengths the cadre has; a post
    # that asks for none fits everyone halfway.
    if p.required_strengths:
        post_fit = len(p.required_strengths & f.strengths) * ONE // len(p.required_strengths)
    else:
        post_fit = ONE // 2
    # Age care: cadres near retirement get lighter (time-limited) or nearer (same region) posts.
    ease = (ONE // 2 if p.kind != "standing" else 0) + (ONE // 2 if p.host_region and p.host_region == f.region else 0)
    age_care = c.age_need_bp * ease // ONE
    return continuity, wish_bp(wish_rank, wish_count), post_fit, age_care, c.points_bp, c.growth_bp


def score_hundredths(terms: TermTuple, weights_h: TermTuple) -> int:
    """The weighted sum in hundredths, each contribution rounded as ``explain`` rounds it
    (half away from zero), so a score always equals the sum of its breakdown."""
    c, w, f, a, p, g = terms
    wc, ww, wf, wa, wp, wg = weights_h
    half = ONE // 2
    total = (wc * c + half) // ONE + (ww * w + half) // ONE + (wf * f + half) // ONE + (wa * a + half) // ONE
    total += (wg * g + half) // ONE
    # only the points term can be negative
    return total + ((wp * p + half) // ONE if p >= 0 else -((-wp * p + half) // ONE))


def _div_round(a: int, b: int) -> int:
    """a / b rounded half away from zero (symmetric for negative points)."""
    q, r = divmod(abs(a), b)
    q += 2 * r >= b
    return q if a >= 0 else -q


@dataclass(frozen=True)
class Fit:
    total: Decimal
    breakdown: dict[str, dict[str, str]]

    def as_dict(self) -> dict[str, object]:
        return {"total": str(self.total), "breakdown": self.breakdown}


def explain(c: CadreTerms, p: PostFacts, weights: FitWeights, wish_rank: int | None, wish_count: int) -> Fit:
    """The score with each term's value (0–1) and its weighted contribution."""
    terms = terms_bp(c, p, wish_rank, wish_count)
    weights_h = weights.hundredths()
    breakdown = {}
    total = 0
    for name, t, w in zip(TERMS, terms, weights_h, strict=True):
        contribution = _div_round(w * t, ONE)
        total += contribution
        breakdown[name] = {
            "label": TERM_LABELS_ZH[name],
            "value": str(Decimal(t).scaleb(-4)),
            "weight": str(getattr(weights, name)),
            "contribution": str(Decimal(contribution).scaleb(-2)),
        }
    return Fit(Decimal(total).scaleb(-2), breakdown)


def as_decimal(hundredths: int) -> Decimal:
    return Decimal(hundredths).scaleb(-2)
