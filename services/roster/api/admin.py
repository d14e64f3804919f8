from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from cadrekit.problems import field_error
from services.roster import renormalising, resealing, service
from services.roster.api.deps import Admin, RosterDep, WholeRoster

router = APIRouter(prefix="/api/v1/roster", tags=["operations"], dependencies=[Depends(authenticate)])


@router.post("/events/republish", summary="Re-send retained events from a point in time")
async def republish(r: RosterDep, who: Admin, _scope: WholeRoster, since: dt.datetime) -> dict:
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    try:
        since = since.astimezone(dt.UTC)  # 0001-01-01T00:00+01:00 has no UTC: a 422, not a 500
    except OverflowError as exc:
        raise field_error("since", "out of the representable range") from exc
    n = await r.runtime.relay.mark_for_republish(since)
    return {"republishing": n}


@router.post("/events/snapshot", summary="Publish the current state as events (for late subscribers)")
async def snapshot(r: RosterDep, who: Admin, _scope: WholeRoster) -> dict:
    return {"events": await service.snapshot(r)}


@router.get("/admin/sealing", summary="The active ID-number sealing key and how many values wait for re-sealing")
async def sealing(r: RosterDep, who: Admin, _scope: WholeRoster) -> dict:
    return {"active_kid": r.sealer.active, "pending": await resealing.pending(r.runtime, r.sealer)}


@router.post("/admin/sealing/reseal", summary="Re-seal now every value sealed under an older key")
async def reseal(r: RosterDep, who: Admin, _scope: WholeRoster) -> dict:
    done = await resealing.reseal_all(r.runtime, r.sealer)
    return {"resealed": done, "active_kid": r.sealer.active, "pending": await resealing.pending(r.runtime, r.sealer)}


@router.get(
    "/admin/id-number-twins",
    summary="Cadres whose ID numbers are one number in its normal form (the same person twice)",
)
async def id_number_twins(r: RosterDep, who: Admin, _scope: WholeRoster) -> dict:
    # Names and units from the whole roster: not for a token limited to some units.
    return {"pending": await renormalising.pending(r), "twins": await renormalising.twins(r)}


@router.post(
    "/admin/id-numbers/renormalise",
    summary="Bring every stored ID number into the normal form now (ASCII digits and X) and find twins",
)
async def renormalise(r: RosterDep, who: Admin, _scope: WholeRoster) -> dict:
    done = await renormalising.renormalise_all(r)
    return {**asdict(done), "pending": await renormalising.pending(r)}
