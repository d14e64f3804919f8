from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from services.roster import service
from services.roster.api.deps import Admin, RosterDep

router = APIRouter(prefix="/api/v1/roster", tags=["operations"], dependencies=[Depends(authenticate)])


@router.post("/events/republish", summary="Re-send retained events from a point in time")
async def republish(r: RosterDep, who: Admin, since: dt.datetime) -> dict:
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    n = await r.runtime.relay.mark_for_republish(since)
    return {"republishing": n}


@router.post("/events/snapshot", summary="Publish the current state as events (for late subscribers)")
async def snapshot(r: RosterDep, who: Admin) -> dict:
    return {"events": await service.snapshot(r)}
