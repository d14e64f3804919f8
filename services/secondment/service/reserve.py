"""The reserve pool (后备干部库): cadres marked for promotion, with where from and when."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from cadrekit.pagination import by_id, decode_cursor, window
from cadrekit.scope import Scope
from services.secondment.models import ReserveEntry, mirror
from services.secondment.schemas import ReservePage, ReservePublic
from services.secondment.service.context import Context


async def reserve_pool(
    ctx: Context, scope: Scope, *, cadre_id: str | None, limit: int, cursor: str | None
) -> ReservePage:
    """An entry is in scope by the unit its cadre works in now (the roster mirror): the pool
    is the home unit's list for promotion, whatever unit the cadre was seconded to."""
    async with ctx.uow() as uow:
        cadres = mirror.cadres
        stmt = (
            select(ReserveEntry)
            .outerjoin(cadres, cadres.c.cadre_id == col(ReserveEntry.cadre_id))
            .where(scope.clause(cadres.c.unit_id))
        )
        if cadre_id:
            stmt = stmt.where(col(ReserveEntry.cadre_id) == cadre_id)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(ReserveEntry.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(ReserveEntry.id)).limit(limit + 1))).scalars().all()
        items, next_cursor = window(rows, limit, by_id)
        return ReservePage(items=[ReservePublic.model_validate(e) for e in items], next_cursor=next_cursor)
