from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.roster import service
from services.roster.api.deps import (
    Office,
    ParentInBody,
    ParentInQuery,
    Reader,
    RosterDep,
    UnitInPath,
    UnitsInScope,
    WithinInQuery,
)
from services.roster.schemas import UnitChangePublic, UnitCreate, UnitKind, UnitMove, UnitPage, UnitPublic, UnitUpdate

router = APIRouter(prefix="/api/v1/roster/units", tags=["units"], dependencies=[Depends(authenticate)])
UnitId = Annotated[str, Query(max_length=36)]


@router.post("", status_code=201, response_model=UnitPublic, summary="Create a unit in the tree")
async def create_unit(body: UnitCreate, r: RosterDep, who: Office, scope: ParentInBody) -> dict:
    return await service.create_unit(r, who, scope, body.model_dump())


@router.get("", response_model=UnitPage, summary="List units (filter by parent, subtree, kind, region, name)")
async def list_units(
    r: RosterDep,
    who: Reader,
    scope: UnitsInScope,
    _parent: ParentInQuery,
    _within: WithinInQuery,
    parent_id: Annotated[str | None, Query(max_length=36)] = None,
    within: Annotated[str | None, Query(max_length=36, description="a unit id: its whole subtree")] = None,
    kind: UnitKind | None = None,
    region: Annotated[str | None, Query(max_length=50)] = None,
    name: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return await service.list_units(
        r, scope, parent_id=parent_id, within=within, kind=kind, region=region, name=name, limit=limit, cursor=cursor
    )


@router.get("/{unit_id}", response_model=UnitPublic)
async def get_unit(unit_id: str, r: RosterDep, who: Reader, _scope: UnitInPath) -> dict:
    return await service.get_unit(r, unit_id)


@router.patch("/{unit_id}", response_model=UnitPublic, summary="Rename or change a unit (kept in its history)")
async def update_unit(unit_id: str, body: UnitUpdate, r: RosterDep, who: Office, _scope: UnitInPath) -> dict:
    return await service.update_unit(r, who, unit_id, body.model_dump(exclude_unset=True, exclude_none=True))


@router.post("/{unit_id}/move", response_model=UnitPublic, summary="Move a unit (and its subtree) under another parent")
async def move_unit(
    unit_id: str, body: UnitMove, r: RosterDep, who: Office, _unit: UnitInPath, scope: ParentInBody
) -> dict:
    return await service.move_unit(r, who, scope, unit_id, body.parent_id, body.reason)


@router.get("/{unit_id}/history", response_model=list[UnitChangePublic])
async def unit_history(unit_id: str, r: RosterDep, who: Reader, _scope: UnitInPath) -> list:
    return await service.unit_history(r, unit_id)
