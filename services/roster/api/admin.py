from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.roster import service
from services.roster.api.deps import Admin, Auditor, RosterDep

router = APIRouter(prefix="/api/v1/roster", tags=["operations"], dependencies=[Depends(authenticate)])


@router.get("/audit/personal-data-reads", summary="Who read which personal data, when and why")
async def audit_log(
    r: RosterDep,
    who: Auditor,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return await service.list_audit(r, subject_id=subject_id, limit=limit, cursor=cursor)


@router.post("/events/republish", summary="Re-send retained events from a point in time")
async def republish(r: RosterDep, who: Admin, since: dt.datetime) -> dict:
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    n = await r.runtime.relay.mark_for_republish(since)
    return {"republishing": n}


@router.post("/events/snapshot", summary="Publish the current state as events (for late subscribers)")
async def snapshot(r: RosterDep, who: Admin) -> dict:
    return {"events": await service.snapshot(r)}
