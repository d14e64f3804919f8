"""What matching publishes on ``matching.events`` and what it consumes.

Published (CloudEvents, key = the cadre id for a placement, else the campaign id):
- ``matching.campaign.opened``   {campaign_id, name, kind, year, posts, seats}
- ``matching.run.completed``     {campaign_id, run_id, method, what_if, placed, unplaced, total_fit, solver}
- ``matching.placement.confirmed`` {campaign_id, cadre_id, post_id, host_unit_id, term_months,
  post_kind, post_title, starts_on, ends_on, run_id, year}: roster moves the cadre (standing)
  or marks it on assignment until ends_on (phased, training).

Consumed (one consumer, ``matching.inbound``): roster events (the mirror), scoring's
``scoring.score.changed`` (annual points: the fifth fit term) and secondment's
``secondment.started`` / ``secondment.extended`` / ``secondment.ended`` (the "already
seconded" exclusion).
Unknown extra fields are ignored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.dates import today
from cadrekit.db import utcnow
from cadrekit.events import Event
from cadrekit.inbox import Handler
from cadrekit.roster_mirror import ROSTER_TOPIC, mirror_handlers
from cadrekit.upcasts import secondment_data
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

CAMPAIGN_OPENED = "matching.campaign.opened"
RUN_COMPLETED = "matching.run.completed"
PLACEMENT_CONFIRMED = "matching.placement.confirmed"

SCORING_TOPIC = "scoring.events"
SECONDMENT_TOPIC = "secondment.events"
INBOUND_TOPICS = [ROSTER_TOPIC, SCORING_TOPIC, SECONDMENT_TOPIC]


def campaign_opened(campaign: Campaign, posts: int, seats: int) -> Event:
    data = {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "kind": campaign.kind,
        "year": campaign.year,
        "posts": posts,
        "seats": seats,
    }
    return Event(CAMPAIGN_OPENED, f"campaign/{campaign.id}", campaign.id, data)


def run_completed(run: Run) -> Event:
    data: dict[str, Any] = {
        "campaign_id": run.campaign_id,
        "run_id": run.id,
        "method": run.method,
        "what_if": run.what_if,
    }
    data.update(run.summary or {})
    return Event(RUN_COMPLETED, f"campaign/{run.campaign_id}", run.campaign_id, data)


def placement_confirmed(placement: Placement, post: Post) -> Event:
    data = {
        "campaign_id": placement.campaign_id,
        "cadre_id": placement.cadre_id,
        "post_id": post.id,
        "host_unit_id": post.host_unit_id,
        "term_months": post.term_months,
        "post_kind": post.kind,
        "post_title": post.title,
        "starts_on": _iso(placement.starts_on),
        "ends_on": _iso(placement.ends_on),
        "run_id": placement.run_id,
        "year": placement.year,
    }
    return Event(PLACEMENT_CONFIRMED, f"cadre/{placement.cadre_id}", placement.cadre_id, data)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(str(value)[:10])


# consumed -----------------------------------------------------------------------------------
async def score_changed(session: AsyncSession, event: dict[str, Any]) -> None:
    d = event["data"]
    try:
        total = Decimal(str(d["total"])).quantize(Decimal("0.01"))
    except (InvalidOperation, KeyError) as exc:
        raise ValueError(f"scoring.score.changed without a decimal total: {d.get('total')!r}") from exc
    key = (str(d["cadre_id"]), int(d["year"]))
    row = await session.get(CadrePoints, key)
    if row is None:
        row = CadrePoints(cadre_id=key[0], year=key[1], total=str(total))
        session.add(row)
    # Order holds per cadre (the Kafka key), so the latest event carries the latest total.
    row.total = str(total)
    row.catalogue_version = d.get("catalogue_version")
    row.updated_at = utcnow()


async def secondment_started(session: AsyncSession, event: dict[str, Any]) -> None:
    d = secondment_data(event)
    row = await session.get(Secondment, str(d["secondment_id"]))
    if row is None:
        row = Secondment(id=str(d["secondment_id"]), cadre_id=str(d["cadre_id"]), status="active")
        session.add(row)
    if row.status == "ended":
        return  # an ended secondment does not restart from a redelivered start
    row.starts_on = _date(d.get("starts_on")) or row.starts_on
    row.ends_on = _date(d.get("ends_on")) or row.ends_on


async def secondment_ended(session: AsyncSession, event: dict[str, Any]) -> None:
    d = secondment_data(event)
    row = await session.get(Secondment, str(d["secondment_id"]))
    if row is None:
        row = Secondment(id=str(d["secondment_id"]), cadre_id=str(d["cadre_id"]), status="ended")
        row.starts_on = _date(d.get("starts_on"))
        session.add(row)
    row.status = "ended"
    row.ends_on = _date(d.get("ends_on")) or row.ends_on
    row.ended_on = _date(d.get("ended_on") or d.get("ends_on")) or today()


def inbound_handlers() -> dict[str, Handler]:
    return {
        **mirror_handlers(mirror),
        "scoring.score.changed": score_changed,
        "secondment.started": secondment_started,
        # An extension carries the same placement with the new ends_on.
        "secondment.extended": secondment_started,
        "secondment.ended": secondment_ended,
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


TUTOR_ASSIGNED = "matching.tutor.assigned"
GROWTH_INDEX_UPDATED = "matching.growth_index.updated"


def tutor_assigned(a: TutorAssignment) -> Event:
    data = {"campaign_id": a.campaign_id, "trainee_id": a.trainee_id, "tutor_id": a.tutor_id}
    return Event(TUTOR_ASSIGNED, f"cadre/{a.trainee_id}", a.trainee_id, data)


def growth_index_updated(g: GrowthIndex) -> Event:
    data = {"campaign_id": g.campaign_id, "cadre_id": g.trainee_id, "value": g.value, "inspections": g.inspections}
    return Event(GROWTH_INDEX_UPDATED, f"cadre/{g.trainee_id}", g.trainee_id, data)


# AsyncAPI: each published event's ``data`` as JSON Schema ----------------------------------------
_ID = {"type": "string", "format": "uuid"}
_DATE = {"type": ["string", "null"], "format": "date"}
_DEC = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "decimal, two places"}

SCHEMAS: dict[str, dict[str, Any]] = {
    CAMPAIGN_OPENED: {
        "summary": "A campaign opened for preferences. Key: the campaign id.",
        "type": "object",
        "required": ["campaign_id", "name", "kind", "year", "posts", "seats"],
        "properties": {
            "campaign_id": _ID,
            "name": {"type": "string"},
            "kind": {"enum": ["placement", "training", "general"]},
            "year": {"type": "integer"},
            "posts": {"type": "integer"},
            "seats": {"type": "integer"},
        },
    },
    RUN_COMPLETED: {
        "summary": "An assignment run finished and stored its result. Key: the campaign id.",
        "type": "object",
        "required": ["campaign_id", "run_id", "method", "what_if", "placed", "unplaced", "excluded", "total_fit"],
        "properties": {
            "campaign_id": _ID,
            "run_id": _ID,
            "method": {"enum": ["stable", "optimal"]},
            "what_if": {"type": "boolean"},
            "solver": {"type": "string"},
            "placed": {"type": "integer"},
            "unplaced": {"type": "integer"},
            "excluded": {"type": "integer"},
            "posts": {"type": "integer"},
            "seats": {"type": "integer"},
            "total_fit": _DEC,
        },
    },
    PLACEMENT_CONFIRMED: {
        "summary": "A cadre's placement was confirmed. Key: the cadre id. Roster moves the cadre (standing) "
        "or marks it on assignment until ends_on (phased, training).",
        "type": "object",
        "required": ["campaign_id", "cadre_id", "post_id", "host_unit_id", "term_months", "post_kind"],
        "properties": {
            "campaign_id": _ID,
            "cadre_id": _ID,
            "post_id": _ID,
            "host_unit_id": _ID,
            "term_months": {"type": ["integer", "null"]},
            "post_kind": {"enum": ["standing", "phased", "training"]},
            "post_title": {"type": "string"},
            "starts_on": _DATE,
            "ends_on": _DATE,
            "run_id": _ID,
            "year": {"type": "integer"},
        },
    },
    TUTOR_ASSIGNED: {
        "summary": "A trainee of a training campaign got a tutor (one per trainee). Key: the trainee's id.",
        "type": "object",
        "required": ["campaign_id", "trainee_id", "tutor_id"],
        "properties": {"campaign_id": _ID, "trainee_id": _ID, "tutor_id": _ID},
    },
    GROWTH_INDEX_UPDATED: {
        "summary": "A trainee's growth index changed after an inspection (0–100). Key: the cadre id.",
        "type": "object",
        "required": ["campaign_id", "cadre_id", "value", "inspections"],
        "properties": {"campaign_id": _ID, "cadre_id": _ID, "value": _DEC, "inspections": {"type": "integer"}},
    },
}
