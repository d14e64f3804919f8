from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.dates import today
from services.roster.api.deps import CadresInScope, ContextDep, Reader, UnitInQuery
from services.roster.schemas import StructureStats
from services.roster.service import stats

router = APIRouter(prefix="/api/v1/roster/stats", tags=["statistics"], dependencies=[Depends(authenticate)])


@router.get(
    "/structure",
    response_model=StructureStats,
    summary="Counts by age band, gender, Party membership, rank, education, status, unit kind, region",
)
async def structure_stats(
    ctx: ContextDep,
    principal: Reader,
    scope: CadresInScope,
    _unit: UnitInQuery,
    unit_id: Annotated[str | None, Query(max_length=36)] = None,
    year: Annotated[int | None, Query(ge=1950, le=2200)] = None,
) -> StructureStats:
    return await stats.structure(ctx, scope, unit_id=unit_id, year=year or today().year)
