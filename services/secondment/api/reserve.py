from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.secondment.api.deps import ContextDep, Reader, ReserveFiltered
from services.secondment.schemas import ReservePage
from services.secondment.service import reserve

router = APIRouter(prefix="/api/v1/secondment", tags=["reserve pool"], dependencies=[Depends(authenticate)])


@router.get("/reserve-pool", response_model=ReservePage, summary="The reserve pool (后备干部库) with source and date")
async def reserve_pool(
    ctx: ContextDep,
    principal: Reader,
    scope: ReserveFiltered,
    # A filter within the rows in scope: a cadre of another subtree gives an empty page.
    cadre_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ReservePage:
    return await reserve.reserve_pool(ctx, scope, cadre_id=cadre_id, limit=limit, cursor=cursor)
