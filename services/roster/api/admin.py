from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from cadrekit.errors import field_error
from services.roster.api.deps import Admin, ContextDep, WholeRoster
from services.roster.schemas import (
    EventsRepublished,
    EventsSnapshot,
    IdNumberTwins,
    Rederived,
    Renormalised,
    Resealed,
    SealingStatus,
    SnapshotSubjects,
)
from services.roster.service import admin

router = APIRouter(prefix="/api/v1/roster", tags=["operations"], dependencies=[Depends(authenticate)])


@router.post(
    "/events/republish", response_model=EventsRepublished, summary="Re-send retained events from a point in time"
)
async def republish(ctx: ContextDep, principal: Admin, _scope: WholeRoster, since: dt.datetime) -> EventsRepublished:
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    try:
        since = since.astimezone(dt.UTC)  # 0001-01-01T00:00+01:00 has no UTC: a 422, not a 500
    except OverflowError as exc:
        raise field_error("since", "out of the representable range") from exc
    return await admin.republish(ctx, since)


@router.post(
    "/events/snapshot",
    response_model=EventsSnapshot,
    summary="Publish the current state as events (for late subscribers)",
)
async def snapshot(
    ctx: ContextDep, principal: Admin, _scope: WholeRoster, body: SnapshotSubjects | None = None
) -> EventsSnapshot:
    """Without a body, every unit and cadre; with one, only those it names (a mirror's open
    gaps, listed in its ``/health``, are healed this way)."""
    return await admin.snapshot(ctx, body)


@router.get(
    "/admin/sealing",
    response_model=SealingStatus,
    summary="The active ID-number sealing key and how many values wait for re-sealing",
)
async def sealing(ctx: ContextDep, principal: Admin, _scope: WholeRoster) -> SealingStatus:
    return await admin.sealing(ctx)


@router.post(
    "/admin/sealing/reseal", response_model=Resealed, summary="Re-seal now every value sealed under an older key"
)
async def reseal(ctx: ContextDep, principal: Admin, _scope: WholeRoster) -> Resealed:
    return await admin.reseal(ctx)


@router.get(
    "/admin/id-number-twins",
    response_model=IdNumberTwins,
    summary="Cadres whose ID numbers are one number in its normal form (the same person twice)",
)
async def id_number_twins(ctx: ContextDep, principal: Admin, _scope: WholeRoster) -> IdNumberTwins:
    return await admin.id_number_twins(ctx)


@router.post(
    "/admin/id-numbers/renormalise",
    response_model=Renormalised,
    summary="Bring every stored ID number into the normal form now (ASCII digits and X) and find twins",
)
async def renormalise(ctx: ContextDep, principal: Admin, _scope: WholeRoster) -> Renormalised:
    return await admin.renormalise(ctx)


@router.post(
    "/admin/retirement/rederive",
    response_model=Rederived,
    summary="Derive again now every retirement date derived under another rule set than the one in force",
)
async def rederive_retirement(ctx: ContextDep, principal: Admin, _scope: WholeRoster) -> Rederived:
    return await admin.rederive_retirement(ctx)
