"""Secondment's events, built from their contracts (``contracts.secondment``), and what it
consumes (``roster.events`` for its roster mirror, ``scoring.events`` for annual points,
``matching.events`` for placements), read through theirs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.db import utcnow
from cadrekit.latest import keep_latest
from contracts import matching, scoring, topics
from contracts import secondment as contract
from contracts.base import two_places
from contracts.envelope import Event
from services.secondment.domain.terms import term_end
from services.secondment.models import Batch, CadreAssignment, CadreScore, ReserveEntry, Review, Secondment

CONSUMES = {
    topics.ROSTER: "roster mirror (cadrekit.roster_mirror)",
    topics.SCORING: "scoring.score.changed (annual points: the strong-performer rule)",
    topics.MATCHING: "matching.placement.confirmed (the not-already-placed rule)",
}


def placement(s: Secondment) -> dict[str, Any]:
    return {
        "secondment_id": s.id,
        "batch_id": s.batch_id,
        "pair_id": s.pair_id,
        "cadre_id": s.cadre_id,
        "direction": s.direction,
        "from_unit_id": s.from_unit_id,
        "to_unit_id": s.to_unit_id,
        "to_unit_kind": s.to_unit_kind,
        "to_unit_name": s.to_unit_name,
        "title_held": s.title_held,
        "term_months": s.term_months,
        "starts_on": s.starts_on,
        "ends_on": s.ends_on,
        "version": s.version,
    }


def _event(model: type[contract.Placement], s: Secondment, **extra: Any) -> Event:
    return model.model_validate({**placement(s), **extra}).event()


def _planned(s: Secondment, batch: Batch) -> dict[str, Any]:
    """Before the start, the term the batch plans: from its start date for the term's months."""
    return {"starts_on": batch.starts_on, "ends_on": term_end(batch.starts_on, s.term_months)}


def nominated(s: Secondment, batch: Batch) -> Event:
    return _event(contract.Nominated, s, **_planned(s, batch))


def approved(s: Secondment, batch: Batch) -> Event:
    return _event(contract.Approved, s, **_planned(s, batch))


def started(s: Secondment) -> Event:
    return _event(contract.Started, s)


def extended(s: Secondment, months: int, reason: str) -> Event:
    return _event(contract.Extended, s, months=months, reason=reason)


def ended(s: Secondment, grassroots_days: int) -> Event:
    return _event(
        contract.Ended,
        s,
        end_kind=s.end_kind,
        ended_on=s.ended_on,
        days_served=s.days_served,
        grassroots_days=grassroots_days,
        reason=s.end_reason,
    )


def withdrawn(s: Secondment) -> Event:
    return _event(contract.Withdrawn, s, reason=s.withdraw_reason)


def review_recorded(r: Review) -> Event:
    return contract.ReviewRecorded.model_validate(
        {
            "review_id": r.id,
            "secondment_id": r.secondment_id,
            "cadre_id": r.cadre_id,
            "kind": r.kind,
            "rating": r.rating,
            "reviewed_on": r.reviewed_on,
        }
    ).event()


def reserve_added(e: ReserveEntry) -> Event:
    return contract.ReserveAdded(
        reserve_id=e.id, cadre_id=e.cadre_id, source=e.source, secondment_id=e.secondment_id, added_on=e.added_on
    ).event()


# consumed ----------------------------------------------------------------------------------
# Applied by the consumer ``secondment.inputs`` (services/secondment/app.py) in the inbox's
# transaction, beside the roster mirror's handlers.
async def apply_placement_confirmed(session: AsyncSession, event: dict[str, Any]) -> None:
    """matching.placement.confirmed: keep the placement (one per cadre and campaign)."""
    d = matching.PlacementConfirmed.of(event)
    row = await session.get(CadreAssignment, (d.cadre_id, d.campaign_id))
    if row is None:
        row = CadreAssignment(cadre_id=d.cadre_id, campaign_id=d.campaign_id, post_kind=d.post_kind)
        session.add(row)
    row.post_kind, row.starts_on, row.ends_on, row.updated_at = d.post_kind, d.starts_on, d.ends_on, utcnow()


async def apply_score_changed(session: AsyncSession, event: dict[str, Any]) -> None:
    """scoring.score.changed: keep the cadre's total of that year (decimal string)."""
    d = scoring.ScoreChanged.of(event)
    # The year's sequence decides, not the arrival: a replayed older total changes nothing.
    await keep_latest(
        session,
        CadreScore.__table__,  # type: ignore[attr-defined]
        {"cadre_id": d.cadre_id, "year": d.year},
        {"total": two_places(d.total), "sequence": d.sequence, "updated_at": utcnow()},
        version="sequence",
    )
