"""What scoring publishes on ``scoring.events``, keyed by cadre id so one cadre's changes
arrive in order. Never evidence or sanction text: those are personal data, read through the
API where the read is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field

from contracts import topics
from contracts.base import EventData, Id, Order, Points


class _OfCadre(EventData):
    TOPIC: ClassVar[str] = topics.SCORING
    KEY: ClassVar[str] = "cadre_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("cadre", "cadre_id")

    cadre_id: Id
    year: int


class _InYear(_OfCadre):
    """An event of a cadre-year's ledger, ordered by the year's sequence."""

    ORDER: ClassVar[Order | None] = Order(("cadre_id", "year"), "sequence")

    # Added in place (an additive change: data version 1 still); absent only in events from
    # before 2026-12, which consumers apply as they arrive.
    sequence: int | None = Field(
        default=None,
        ge=1,
        description="the cadre-year's sequence after this change: it grows with every approval, reversal, waiver "
        "and restatement of the year, so keep a total (or an entry's state) only when its sequence is higher than "
        "the one held (a replay or a dead letter sent back after newer events carries a lower one)",
    )


class EntryApproved(_InYear):
    """An entry was approved (or re-issued under a newer catalogue version)."""

    TYPE: ClassVar[str] = "scoring.entry.approved"

    entry_id: Id
    unit_id: Id
    rule_code: str
    direction: Literal["positive", "negative"]
    points: Points
    rule_points: Points = Decimal(0)
    capped: bool = False
    catalogue_version: int
    occurred_on: dt.date
    restates_entry_id: Id | None = None
    approved_by: str | None = None


class EntryReversed(_InYear):
    """A compensating reversal entry undid an approved entry."""

    TYPE: ClassVar[str] = "scoring.entry.reversed"

    entry_id: Id
    reversal_id: Id
    rule_code: str
    points: Points = Field(description="the reversal's points (the entry's, negated)")
    catalogue_version: int | None = None
    reversed_by: str | None = None


class WaiverGranted(_InYear):
    """Fault tolerance (容错纠错): a deduction's effect was cancelled; the entry stays."""

    TYPE: ClassVar[str] = "scoring.waiver.granted"

    waiver_id: Id
    entry_id: Id
    reference: str
    cancelled_points: Points
    granted_by: str | None = None


class RatingConfirmed(_OfCadre):
    """An excellence rating was confirmed by an officer."""

    TYPE: ClassVar[str] = "scoring.rating.confirmed"
    ORDER: ClassVar[Order | None] = None  # confirmed once per cadre-year

    grade: Literal["excellent"]
    unit_id: Id
    source: Literal["unit_quota", "second_line_reserve"]
    confirmed_by: str | None = None


class ScoreChanged(_InYear):
    """A cadre's total for a year changed; sent after every change."""

    TYPE: ClassVar[str] = "scoring.score.changed"
    EXAMPLE: ClassVar[dict[str, Any] | None] = {
        "cadre_id": "0b8a4f7e-5c1d-4c39-9a55-2f1f7f0f7a10",
        "year": 2026,
        "total": "12.50",
        "previous_total": "10.00",
        "delta": "2.50",
        "cause_entry_id": "5d2e8c1a-3b4f-4a6d-9e7c-1f2a3b4c5d6e",
        "cause": "approval",
        "catalogue_version": 3,
        "sequence": 7,
    }

    total: Points
    previous_total: Points
    delta: Points
    cause_entry_id: Id = Field(description="the entry, reversal or waived entry that caused it")
    cause: Literal["approval", "reversal", "waiver", "restatement"]
    catalogue_version: int | None = Field(default=None, description="the version of the causing entry")
