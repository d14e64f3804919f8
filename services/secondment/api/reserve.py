from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.secondment import service
from services.secondment.api.deps import Auditor, Reader, SecondmentsDep
from services.secondment.models import kit
from services.secondment.schemas import ReservePage

router = APIRouter(prefix="/api/v1/secondment", tags=["reserve pool", "audit"], dependencies=[Depends(authenticate)])


@router.get("/reserve-pool", response_model=ReservePage, summary="The reserve pool (后备干部库) with source and date")
async def reserve_pool(
    r: SecondmentsDep,
    who: Reader,
    cadre_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await service.reserve_pool(r, cadre_id=cadre_id, limit=limit, cursor=cursor)


@router.get("/audit/personal-data-reads", summary="Who read discipline opinions, when and why")
async def personal_data_reads(
    r: SecondmentsDep, who: Auditor, subject_id: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    a = kit.audit
    stmt = select(a).order_by(a.c.id.desc()).limit(MAX_PAGE)
    if subject_id:
        stmt = stmt.where(a.c.subject_id == subject_id)
    async with r.runtime.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [dict(row._mapping) for row in rows]
