"""Points are Decimal to two places, never float (domain.md "Ledger arithmetic")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def as_points(value: Any) -> Decimal:
    """Parse an amount given as text, int or Decimal. Floats are refused: 0.1 + 0.2 is not 0.3."""
    if isinstance(value, (bool, float)) or value is None:
        raise ValueError(f"points must be given as text or a whole number, not {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if d != d.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"points have at most two decimal places: {value!r}")
    return d.quantize(CENT)


def two_places(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def text(d: Decimal) -> str:
    return str(two_places(d))
