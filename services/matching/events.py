"""Matching's events, built from their contracts (``contracts.matching``), and what it
consumes, read through theirs: roster events (the mirror), scoring's
``scoring.score.changed`` (annual points: the fifth fit term) and secondment's
``secondment.started`` / ``.extended`` / ``.ended`` (the "already seconded" exclusion), on
one consumer, ``matching.inbound``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.db import utcnow
from cadrekit.inbox import Handler
from cadrekit.latest import keep_latest
from cadrekit.roster_mirror import mirror_handlers
from contracts import matching as contract
from contracts import scoring, secondment, topics
from contracts.base import two_places
from contracts.envelope import Event
from services.matching.models import (
    CadrePoints,
    Campaign,
    GrowthIndex,
    Placement,
    Post,
    Run,
    Secondment,
    TutorAssignment,
    mirror,
)

INBOUND_TOPICS = [topics.ROSTER, topics.SCORING, topics.SECONDMENT]


def campaign_opened(campaign: Campaign, posts: int, seats: int) -> Event:
    return contract.CampaignOpened.model_validate(
        {
            "campaign_id": campaign.id,
            "name": campaign.name,
            "kind": campaign.kind,
            "year": campaign.year,
            "posts": posts,
            "seats": seats,
            "version": campaign.version,
        }
    ).event()


def run_completed(run: Run) -> Event:
    summary = run.summary or {}
    return contract.RunCompleted.model_validate(
        {**summary, "campaign_id": run.campaign_id, "run_id": run.id, "method": run.method, "what_if": run.what_if}
    ).event()


def placement_confirmed(placement: Placement, post: Post) -> Event:
    return contract.PlacementConfirmed.model_validate(
        {
            "campaign_id": placement.campaign_id,
            "cadre_id": placement.cadre_id,
            "post_id": post.id,
            "host_unit_id": post.host_unit_id,
            "term_months": post.term_months,
            "post_kind": post.kind,
            "post_title": post.title,
            "starts_on": placement.starts_on,
            "ends_on": placement.ends_on,
            "run_id": placement.run_id,
            "year": placement.year,
        }
    ).event()


# consumed -----------------------------------------------------------------------------------
async def score_changed(session: AsyncSession, event: dict[str, Any]) -> None:
    d = scoring.ScoreChanged.of(event)
    # Order holds per cadre on the topic, but a replay or a dead letter sent back does not:
    # the year's sequence decides.
    await keep_latest(
        session,
        CadrePoints.__table__,  # type: ignore[attr-defined]
        {"cadre_id": d.cadre_id, "year": d.year},
        {
            "total": two_places(d.total),
            "catalogue_version": d.catalogue_version,
            "sequence": d.sequence,
            "updated_at": utcnow(),
        },
        version="sequence",
    )


async def _keep_placement(session: AsyncSession, d: secondment.Placement, status: str, ended_on: Any) -> None:
    """The secondment as its newest event says: a replayed or dead-lettered older one (a start
    sent back after the end) changes nothing (cadrekit.latest, by the secondment's version)."""
    await keep_latest(
        session,
        Secondment.__table__,  # type: ignore[attr-defined]
        {"id": d.secondment_id},
        {
            "cadre_id": d.cadre_id,
            "starts_on": d.starts_on,
            "ends_on": d.ends_on,
            "ended_on": ended_on,
            "status": status,
            "version": d.version,
        },
        version="version",
    )


async def secondment_started(session: AsyncSession, event: dict[str, Any]) -> None:
    """secondment.started and .extended (an extension carries the placement with its new end)."""
    d = secondment.Placement.of(event)
    if d.version is not None:
        await _keep_placement(session, d, "active", None)
        return
    # an event from before versions (2026-12): applied as it was then
    row = await session.get(Secondment, d.secondment_id)
    if row is None:
        row = Secondment(id=d.secondment_id, cadre_id=d.cadre_id, status="active")
        session.add(row)
    if row.status == "ended":
        return  # an ended secondment does not restart from a redelivered start
    row.starts_on = d.starts_on or row.starts_on
    row.ends_on = d.ends_on or row.ends_on


async def secondment_ended(session: AsyncSession, event: dict[str, Any]) -> None:
    d = secondment.Ended.of(event)
    if d.version is not None:
        await _keep_placement(session, d, "ended", d.ended_on)
        return
    row = await session.get(Secondment, d.secondment_id)
    if row is None:
        row = Secondment(id=d.secondment_id, cadre_id=d.cadre_id, status="ended")
        row.starts_on = d.starts_on
        session.add(row)
    row.status = "ended"
    row.ends_on = d.ends_on or row.ends_on
    row.ended_on = d.ended_on


def inbound_handlers() -> dict[str, Handler]:
    return {
        **mirror_handlers(mirror),
        scoring.ScoreChanged.TYPE: score_changed,
        secondment.Started.TYPE: secondment_started,
        secondment.Extended.TYPE: secondment_started,
        secondment.Ended.TYPE: secondment_ended,
    }


async def points_of(session: AsyncSession, cadre_ids: list[str], year: int) -> dict[str, Decimal]:
    """Each cadre's points for the campaign year, or the latest earlier year."""
    if not cadre_ids:
        return {}
    rows = (
        await session.execute(
            select(col(CadrePoints.cadre_id), col(CadrePoints.year), col(CadrePoints.total)).where(
                col(CadrePoints.year) <= year
            )
        )
    ).all()
    wanted = set(cadre_ids)
    best: dict[str, tuple[int, Decimal]] = {}
    for cid, y, total in rows:
        if cid in wanted and (cid not in best or y > best[cid][0]):
            best[cid] = (y, Decimal(total))
    return {cid: v for cid, (_, v) in best.items()}


def tutor_assigned(a: TutorAssignment) -> Event:
    return contract.TutorAssigned(campaign_id=a.campaign_id, trainee_id=a.trainee_id, tutor_id=a.tutor_id).event()


def growth_index_updated(g: GrowthIndex) -> Event:
    return contract.GrowthIndexUpdated.model_validate(
        {"campaign_id": g.campaign_id, "cadre_id": g.trainee_id, "value": g.value, "inspections": g.inspections}
    ).event()
