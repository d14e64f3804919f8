from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from cadrekit.problems import field_error
from services.roster import resealing, service
from services.roster.api.deps import Admin, RosterDep

router = APIRouter(prefix="/api/v1/roster", tags=["operations"], dependencies=[Depends(authenticate)])


@router.post("/events/republish", summary="Re-send retained events from a point in time")
async def republish(r: RosterDep, who: Admin, since: dt.datetime) -> dict:
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    try:
        since = since.astimezone(dt.UTC)  # 0001-01-01T00:00+01:00 has no UTC: a 422, not a 500
    except OverflowError as exc:
        raise field_error("since", "out of the representable range") from exc
    n = await r.runtime.relay.mark_for_republish(since)
    return {"republishing": n}


@router.post("/events/snapshot", summary="Publish the current state as events (for late subscribers)")
async def snapshot(r: RosterDep, who: Admin) -> dict:
    return {"events": await service.snapshot(r)}


@router.get("/admin/sealing", summary="The active ID-number sealing key and how many values wait for re-sealing")
async def sealing(r: RosterDep, who: Admin) -> dict:
    return {"active_kid": r.sealer.active, "pending": await resealing.pending(r.runtime, r.sealer)}


@router.post("/admin/sealing/reseal", summary="Re-seal now every value sealed under an older key")
async def reseal(r: RosterDep, who: Admin) -> dict:
    done = await resealing.reseal_all(r.runtime, r.sealer)
    return {"resealed": done, "active_kid": r.sealer.active, "pending": await resealing.pending(r.runtime, r.sealer)}
