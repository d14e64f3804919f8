"""The order of the year's rankings (domain.md "Scoring"), with no I/O.

Higher total first; at equal totals the cadre who earned more; then the one with less
deducted; then the cadre id, so two reads never disagree. ``service.queries`` sorts the
rankings by ``order_key`` and counts one cadre's rank with ``ahead``, the same rule.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from services.scoring.domain.money import ZERO

TIE_RULE = (
    "higher total first; at equal totals, more points earned (positive entries) first; then fewer points "
    "deducted; then cadre id, so the order never changes between two reads"
)


class Placing(NamedTuple):
    """What the order looks at; a cadre without a total for the year stands at zero."""

    total: Decimal
    positive: Decimal
    negative: Decimal  # signed: deductions are negative
    cadre_id: str


def placing(cadre_id: str, total: Decimal | None, positive: Decimal | None, negative: Decimal | None) -> Placing:
    return Placing(total or ZERO, positive or ZERO, negative or ZERO, cadre_id)


def order_key(p: Placing) -> tuple[Decimal, Decimal, Decimal, str]:
    return (-p.total, -p.positive, -p.negative, p.cadre_id)


def ahead(a: Placing, b: Placing) -> bool:
    """Whether ``a`` is ranked before ``b``."""
    return order_key(a) < order_key(b)
