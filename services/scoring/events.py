"""What scoring publishes on ``scoring.events``, keyed by cadre id so one cadre's changes
arrive in order. ``SCHEMAS`` documents each event's ``data`` for the AsyncAPI document.

Events never carry evidence or sanction text: those are personal data, read through the
API where the read is audited.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cadrekit.events import Event
from services.scoring.domain.money import text
from services.scoring.models import Entry, Rating, Waiver

ENTRY_APPROVED = "scoring.entry.approved"
ENTRY_REVERSED = "scoring.entry.reversed"
WAIVER_GRANTED = "scoring.waiver.granted"
RATING_CONFIRMED = "scoring.rating.confirmed"
SCORE_CHANGED = "scoring.score.changed"

_DEC = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "points, two decimal places"}
_ID = {"type": "string", "format": "uuid"}

SCHEMAS: dict[str, dict[str, Any]] = {
    ENTRY_APPROVED: {
        "summary": "An entry was approved (or re-issued under a newer catalogue version).",
        "type": "object",
        "required": ["entry_id", "cadre_id", "year", "rule_code", "points", "catalogue_version"],
        "properties": {
            "entry_id": _ID,
            "cadre_id": _ID,
            "unit_id": _ID,
            "year": {"type": "integer"},
            "rule_code": {"type": "string"},
            "direction": {"enum": ["positive", "negative"]},
            "points": _DEC,
            "rule_points": _DEC,
            "capped": {"type": "boolean"},
            "catalogue_version": {"type": "integer"},
            "occurred_on": {"type": "string", "format": "date"},
            "restates_entry_id": {**_ID, "nullable": True},
            "approved_by": {"type": "string"},
        },
    },
    ENTRY_REVERSED: {
        "summary": "A compensating reversal entry undid an approved entry.",
        "type": "object",
        "required": ["entry_id", "reversal_id", "cadre_id", "year", "points"],
        "properties": {
            "entry_id": _ID,
            "reversal_id": _ID,
            "cadre_id": _ID,
            "year": {"type": "integer"},
            "rule_code": {"type": "string"},
            "points": {**_DEC, "description": "the reversal's points (the entry's, negated)"},
            "catalogue_version": {"type": "integer"},
            "reversed_by": {"type": "string"},
        },
    },
    WAIVER_GRANTED: {
        "summary": "Fault tolerance (容错纠错): a deduction's effect was cancelled; the entry stays.",
        "type": "object",
        "required": ["waiver_id", "entry_id", "cadre_id", "year", "reference"],
        "properties": {
            "waiver_id": _ID,
            "entry_id": _ID,
            "cadre_id": _ID,
            "year": {"type": "integer"},
            "reference": {"type": "string"},
            "cancelled_points": _DEC,
            "granted_by": {"type": "string"},
        },
    },
    RATING_CONFIRMED: {
        "summary": "An excellence rating was confirmed by an officer.",
        "type": "object",
        "required": ["cadre_id", "year", "grade", "unit_id", "source"],
        "properties": {
            "cadre_id": _ID,
            "year": {"type": "integer"},
            "grade": {"enum": ["excellent"]},
            "unit_id": _ID,
            "source": {"enum": ["unit_quota", "second_line_reserve"]},
            "confirmed_by": {"type": "string"},
        },
    },
    SCORE_CHANGED: {
        "summary": "A cadre's total for a year changed; sent after every change.",
        "type": "object",
        "required": [
            "cadre_id",
            "year",
            "total",
            "previous_total",
            "delta",
            "cause_entry_id",
            "catalogue_version",
        ],
        "properties": {
            "cadre_id": _ID,
            "year": {"type": "integer"},
            "total": _DEC,
            "previous_total": _DEC,
            "delta": _DEC,
            "cause_entry_id": {**_ID, "description": "the entry, reversal or waived entry that caused it"},
            "cause": {"enum": ["approval", "reversal", "waiver", "restatement"]},
            "catalogue_version": {"type": "integer", "description": "the version of the causing entry"},
        },
    },
}


def _subject(cadre_id: str) -> str:
    return f"cadre/{cadre_id}"


def entry_approved(e: Entry) -> Event:
    assert e.points is not None and e.catalogue_version is not None
    return Event(
        ENTRY_APPROVED,
        _subject(e.cadre_id),
        e.cadre_id,
        {
            "entry_id": e.id,
            "cadre_id": e.cadre_id,
            "unit_id": e.unit_id,
            "year": e.year,
            "rule_code": e.rule_code,
            "direction": e.direction,
            "points": text(e.points),
            "rule_points": text(e.rule_points or Decimal(0)),
            "capped": e.capped,
            "catalogue_version": e.catalogue_version,
            "occurred_on": e.occurred_on.isoformat(),
            "restates_entry_id": e.restates_id,
            "approved_by": e.decided_by,
        },
    )


def entry_reversed(original: Entry, reversal: Entry) -> Event:
    assert reversal.points is not None
    return Event(
        ENTRY_REVERSED,
        _subject(original.cadre_id),
        original.cadre_id,
        {
            "entry_id": original.id,
            "reversal_id": reversal.id,
            "cadre_id": original.cadre_id,
            "year": original.year,
            "rule_code": original.rule_code,
            "points": text(reversal.points),
            "catalogue_version": reversal.catalogue_version,
            "reversed_by": reversal.decided_by,
        },
    )


def waiver_granted(w: Waiver, entry: Entry) -> Event:
    return Event(
        WAIVER_GRANTED,
        _subject(w.cadre_id),
        w.cadre_id,
        {
            "waiver_id": w.id,
            "entry_id": w.entry_id,
            "cadre_id": w.cadre_id,
            "year": w.year,
            "reference": w.reference,
            "cancelled_points": text(-(entry.points or Decimal(0))),
            "granted_by": w.granted_by,
        },
    )


def rating_confirmed(r: Rating) -> Event:
    return Event(
        RATING_CONFIRMED,
        _subject(r.cadre_id),
        r.cadre_id,
        {
            "cadre_id": r.cadre_id,
            "year": r.year,
            "grade": r.grade,
            "unit_id": r.unit_id,
            "source": r.source,
            "confirmed_by": r.confirmed_by,
        },
    )


def score_changed(
    cadre_id: str, year: int, total: Decimal, previous: Decimal, cause_entry_id: str, version: int, cause: str
) -> Event:
    return Event(
        SCORE_CHANGED,
        _subject(cadre_id),
        cadre_id,
        {
            "cadre_id": cadre_id,
            "year": year,
            "total": text(total),
            "previous_total": text(previous),
            "delta": text(total - previous),
            "cause_entry_id": cause_entry_id,
            "cause": cause,
            "catalogue_version": version,
        },
    )
