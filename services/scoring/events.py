"""Scoring's events, built from their contracts (``contracts.scoring``) from the rows that
changed."""

from __future__ import annotations

from decimal import Decimal

from contracts import scoring as contract
from contracts.envelope import Event
from services.scoring.models import Entry, Rating, Waiver


def entry_approved(e: Entry) -> Event:
    return contract.EntryApproved.model_validate(
        {
            "entry_id": e.id,
            "cadre_id": e.cadre_id,
            "unit_id": e.unit_id,
            "year": e.year,
            "rule_code": e.rule_code,
            "direction": e.direction,
            "points": e.points,
            "rule_points": e.rule_points or Decimal(0),
            "capped": e.capped,
            "catalogue_version": e.catalogue_version,
            "occurred_on": e.occurred_on,
            "restates_entry_id": e.restates_id,
            "approved_by": e.decided_by,
            "sequence": e.seq,
        }
    ).event()


def entry_reversed(original: Entry, reversal: Entry) -> Event:
    return contract.EntryReversed.model_validate(
        {
            "entry_id": original.id,
            "reversal_id": reversal.id,
            "cadre_id": original.cadre_id,
            "year": original.year,
            "rule_code": original.rule_code,
            "points": reversal.points,
            "catalogue_version": reversal.catalogue_version,
            "reversed_by": reversal.decided_by,
            "sequence": reversal.seq,
        }
    ).event()


def waiver_granted(w: Waiver, entry: Entry) -> Event:
    return contract.WaiverGranted(
        waiver_id=w.id,
        entry_id=w.entry_id,
        cadre_id=w.cadre_id,
        year=w.year,
        reference=w.reference,
        cancelled_points=-(entry.points or Decimal(0)),
        granted_by=w.granted_by,
        sequence=w.seq,
    ).event()


def rating_confirmed(r: Rating) -> Event:
    return contract.RatingConfirmed.model_validate(
        {
            "cadre_id": r.cadre_id,
            "year": r.year,
            "grade": r.grade,
            "unit_id": r.unit_id,
            "source": r.source,
            "confirmed_by": r.confirmed_by,
        }
    ).event()


def score_changed(
    cadre_id: str,
    year: int,
    total: Decimal,
    previous: Decimal,
    cause_entry_id: str,
    version: int,
    cause: str,
    sequence: int,
) -> Event:
    """``sequence``: the year's counter after the change (``totals.seq``, moved under the
    year's lock), which subscribers order totals by."""
    return contract.ScoreChanged.model_validate(
        {
            "cadre_id": cadre_id,
            "year": year,
            "total": total,
            "previous_total": previous,
            "delta": total - previous,
            "cause_entry_id": cause_entry_id,
            "cause": cause,
            "catalogue_version": version,
            "sequence": sequence,
        }
    ).event()
