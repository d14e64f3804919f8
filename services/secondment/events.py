"""What secondment publishes on ``secondment.events`` (keyed by the cadre id) and what it
consumes (``roster.events`` for its roster mirror, ``scoring.events`` for annual points).

Short type names (``secondment.started``), as architecture.md allows for a service's
namesake aggregate. ``SCHEMAS`` holds the JSON schema of each event's ``data`` for the
AsyncAPI document. Events carry ids, units, dates and ratings; never the vetting record
and never the discipline inspection office's opinion.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.db import utcnow
from cadrekit.events import Event
from services.secondment.domain.terms import term_end
from services.secondment.models import Batch, CadreAssignment, CadreScore, ReserveEntry, Review, Secondment

TOPIC = "secondment.events"
CONSUMES = {
    "roster.events": "roster mirror (cadrekit.roster_mirror)",
    "scoring.events": "scoring.score.changed (annual points: the strong-performer rule)",
    "matching.events": "matching.placement.confirmed (the not-already-placed rule)",
}

NOMINATED = "secondment.nominated"
APPROVED = "secondment.approved"
STARTED = "secondment.started"
EXTENDED = "secondment.extended"
ENDED = "secondment.ended"
WITHDRAWN = "secondment.withdrawn"
REVIEW_RECORDED = "secondment.review.recorded"
RESERVE_ADDED = "secondment.reserve.added"

_ID = {"type": "string", "format": "uuid"}
_DATE = {"type": "string", "format": "date"}
_DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
_DIRECTION = {"type": "string", "enum": ["city_to_grassroots", "grassroots_to_city"]}
_KIND = {
    "type": "string",
    "enum": ["city", "district", "city_organ", "district_organ", "town", "village", "enterprise", "institution"],
}
_PLACEMENT = {
    "secondment_id": _ID,
    "batch_id": _ID,
    "pair_id": {"type": ["string", "null"], "format": "uuid"},
    "cadre_id": _ID,
    "direction": _DIRECTION,
    "from_unit_id": _ID,
    "to_unit_id": _ID,
    "to_unit_kind": _KIND,
    "to_unit_name": {"type": "string"},
    "title_held": {"type": "string", "description": "挂任职务, the post held in the receiving unit"},
    "term_months": {"type": "integer", "minimum": 1, "maximum": 60},
    "starts_on": _DATE_OR_NULL,
    "ends_on": {**_DATE_OR_NULL, "description": "the term's last day (dataversion 2; version 1 gave the day after)"},
}
_PLACEMENT_REQUIRED = [
    "secondment_id",
    "batch_id",
    "cadre_id",
    "direction",
    "from_unit_id",
    "to_unit_id",
    "to_unit_kind",
]


def _schema(props: dict[str, Any], required: list[str], summary: str) -> dict[str, Any]:
    # "summary" is the event's one line in the AsyncAPI document (cadrekit's event catalogue)
    return {"summary": summary, "type": "object", "properties": props, "required": required}


SCHEMAS: dict[str, dict[str, Any]] = {
    NOMINATED: _schema(
        _PLACEMENT, _PLACEMENT_REQUIRED, "A cadre was nominated; starts_on/ends_on are the batch's planned term."
    ),
    APPROVED: _schema(
        _PLACEMENT,
        _PLACEMENT_REQUIRED,
        "The batch was approved (quotas met, vetting complete) with this secondment; starts_on/ends_on as planned.",
    ),
    STARTED: _schema(
        _PLACEMENT,
        [*_PLACEMENT_REQUIRED, "starts_on", "ends_on"],
        "The cadre is now seconded until ends_on (roster: availability 'seconded').",
    ),
    EXTENDED: _schema(
        {**_PLACEMENT, "months": {"type": "integer"}, "reason": {"type": "string"}},
        [*_PLACEMENT_REQUIRED, "starts_on", "ends_on", "months", "reason"],
        "The term was extended; ends_on is the new planned end.",
    ),
    ENDED: _schema(
        {
            **_PLACEMENT,
            "end_kind": {"type": "string", "enum": ["completed", "early"]},
            "ended_on": _DATE,
            "days_served": {"type": "integer", "minimum": 0},
            "grassroots_days": {
                "type": "integer",
                "minimum": 0,
                "description": "days that count as grassroots experience (to a town or village), else 0",
            },
            "reason": {"type": ["string", "null"]},
        },
        [*_PLACEMENT_REQUIRED, "starts_on", "ends_on", "end_kind", "ended_on", "days_served", "grassroots_days"],
        "The secondment ended, completed or early (roster: availability back, grassroots experience accrued).",
    ),
    WITHDRAWN: _schema(
        {**_PLACEMENT, "reason": {"type": "string"}},
        [*_PLACEMENT_REQUIRED, "reason"],
        "A nomination was withdrawn before the start (after vetting or approval, too).",
    ),
    REVIEW_RECORDED: _schema(
        {
            "review_id": _ID,
            "secondment_id": _ID,
            "cadre_id": _ID,
            "kind": {"type": "string", "enum": ["routine", "annual", "end_of_term"]},
            "rating": {"type": "string", "enum": ["excellent", "competent", "basically_competent", "not_competent"]},
            "reviewed_on": _DATE,
        },
        ["review_id", "secondment_id", "cadre_id", "kind", "rating", "reviewed_on"],
        "A review was recorded in the secondment archive (comments stay in the service).",
    ),
    RESERVE_ADDED: _schema(
        {"cadre_id": _ID, "source": {"type": "string"}, "secondment_id": _ID, "added_on": _DATE},
        ["cadre_id", "source", "added_on"],
        "The cadre entered the reserve pool (后备干部库), e.g. rated excellent at the end of the term.",
    ),
}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


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
        "starts_on": _iso(s.starts_on),
        "ends_on": _iso(s.ends_on),
    }


# Version 2 (issue 17): ``ends_on`` is the term's last day (24 months from 2017-04-01 end on
# 2019-03-31); version 1 carried the return day, one day later, and counted days served
# without the last day.
PLACEMENT_DATAVERSION = "2"


def _event(kind: str, s: Secondment, **extra: Any) -> Event:
    return Event(kind, f"secondment/{s.id}", s.cadre_id, {**placement(s), **extra}, PLACEMENT_DATAVERSION)


def _planned(s: Secondment, batch: Batch) -> dict[str, Any]:
    """Before the start, the term the batch plans: from its start date for the term's months."""
    return {"starts_on": _iso(batch.starts_on), "ends_on": _iso(term_end(batch.starts_on, s.term_months))}


def nominated(s: Secondment, batch: Batch) -> Event:
    return _event(NOMINATED, s, **_planned(s, batch))


def approved(s: Secondment, batch: Batch) -> Event:
    return _event(APPROVED, s, **_planned(s, batch))


def started(s: Secondment) -> Event:
    return _event(STARTED, s)


def extended(s: Secondment, months: int, reason: str) -> Event:
    return _event(EXTENDED, s, months=months, reason=reason)


def ended(s: Secondment, grassroots_days: int) -> Event:
    return _event(
        ENDED,
        s,
        end_kind=s.end_kind,
        ended_on=_iso(s.ended_on),
        days_served=s.days_served,
        grassroots_days=grassroots_days,
        reason=s.end_reason,
    )


def withdrawn(s: Secondment) -> Event:
    return _event(WITHDRAWN, s, reason=s.withdraw_reason)


def review_recorded(r: Review) -> Event:
    return Event(
        REVIEW_RECORDED,
        f"secondment/{r.secondment_id}",
        r.cadre_id,
        {
            "review_id": r.id,
            "secondment_id": r.secondment_id,
            "cadre_id": r.cadre_id,
            "kind": r.kind,
            "rating": r.rating,
            "reviewed_on": _iso(r.reviewed_on),
        },
    )


def reserve_added(e: ReserveEntry) -> Event:
    return Event(
        RESERVE_ADDED,
        f"reserve/{e.id}",
        e.cadre_id,
        {"cadre_id": e.cadre_id, "source": e.source, "secondment_id": e.secondment_id, "added_on": _iso(e.added_on)},
    )


# consumed ----------------------------------------------------------------------------------
# Applied by the consumer ``secondment.inputs`` (services/secondment/app.py) in the inbox's
# transaction, beside the roster mirror's handlers.
async def apply_placement_confirmed(session: AsyncSession, event: dict[str, Any]) -> None:
    """matching.placement.confirmed: keep the placement (one per cadre and campaign)."""
    d = event["data"]
    starts_on, ends_on = (dt.date.fromisoformat(d[k]) if d.get(k) else None for k in ("starts_on", "ends_on"))
    row = await session.get(CadreAssignment, (d["cadre_id"], d["campaign_id"]))
    if row is None:
        row = CadreAssignment(cadre_id=d["cadre_id"], campaign_id=d["campaign_id"], post_kind=d["post_kind"])
        session.add(row)
    row.post_kind, row.starts_on, row.ends_on, row.updated_at = d["post_kind"], starts_on, ends_on, utcnow()


async def apply_score_changed(session: AsyncSession, event: dict[str, Any]) -> None:
    """scoring.score.changed: keep the cadre's total of that year (decimal string)."""
    d = event["data"]
    total = str(Decimal(str(d["total"])))
    row = await session.get(CadreScore, (d["cadre_id"], int(d["year"])))
    if row is None:
        session.add(CadreScore(cadre_id=d["cadre_id"], year=int(d["year"]), total=total))
    else:
        row.total, row.updated_at = total, utcnow()
