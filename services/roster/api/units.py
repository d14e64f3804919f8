from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from contracts.roster import UnitKind
from services.roster.api.deps import (
    ContextDep,
    Office,
    ParentInBody,
    ParentInQuery,
    Reader,
    UnitInPath,
    UnitsInScope,
    WithinInQuery,
)
from services.roster.models import Unit, UnitChange
from services.roster.schemas import UnitChangePublic, UnitCreate, UnitMove, UnitPage, UnitPublic, UnitUpdate
from services.roster.service import units

router = APIRouter(prefix="/api/v1/roster/units", tags=["units"], dependencies=[Depends(authenticate)])


@router.post("", status_code=201, response_model=UnitPublic, summary="Create a unit in the tree")
async def create_unit(body: UnitCreate, ctx: ContextDep, principal: Office, scope: ParentInBody) -> Unit:
    return await units.create_unit(ctx, principal, scope, body)


@router.get("", response_model=UnitPage, summary="List units (filter by parent, subtree, kind, region, name)")
async def list_units(
    ctx: ContextDep,
    principal: Reader,
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
) -> UnitPage:
    return await units.list_units(
        ctx, scope, parent_id=parent_id, within=within, kind=kind, region=region, name=name, limit=limit, cursor=cursor
    )


@router.get("/{unit_id}", response_model=UnitPublic)
async def get_unit(unit_id: str, ctx: ContextDep, principal: Reader, _scope: UnitInPath) -> Unit:
    return await units.get_unit(ctx, unit_id)


@router.patch("/{unit_id}", response_model=UnitPublic, summary="Rename or change a unit (kept in its history)")
async def update_unit(unit_id: str, body: UnitUpdate, ctx: ContextDep, principal: Office, _scope: UnitInPath) -> Unit:
    return await units.update_unit(ctx, principal, unit_id, body)


@router.post("/{unit_id}/move", response_model=UnitPublic, summary="Move a unit (and its subtree) under another parent")
async def move_unit(
    unit_id: str, body: UnitMove, ctx: ContextDep, principal: Office, _unit: UnitInPath, scope: ParentInBody
) -> Unit:
    return await units.move_unit(ctx, principal, scope, unit_id, body)


@router.get("/{unit_id}/history", response_model=list[UnitChangePublic])
async def unit_history(unit_id: str, ctx: ContextDep, principal: Reader, _scope: UnitInPath) -> Sequence[UnitChange]:
    return await units.unit_history(ctx, unit_id)
