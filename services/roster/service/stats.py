"""Structure statistics (总量结构): counts over the visible, active cadres."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlmodel import col

from cadrekit.scope import Scope
from services.roster.domain.people import age_band, age_on
from services.roster.models import Cadre, Unit
from services.roster.schemas import StructureStats
from services.roster.service.context import Context
from services.roster.service.queries import find_unit

DIMENSIONS = (
    "age_band",
    "gender",
    "party_member",
    "rank",
    "education",
    "leadership_status",
    "professional_field",
    "unit_kind",
    "region",
)


async def structure(ctx: Context, scope: Scope, *, unit_id: str | None, year: int) -> StructureStats:
    """Ages are taken on 31 December of ``year``; only the cadres of units in ``scope`` count."""
    async with ctx.uow() as uow:
        s = uow.session
        stmt = (
            select(
                col(Cadre.birth_date),
                col(Cadre.gender),
                col(Cadre.party_member),
                col(Cadre.rank),
                col(Cadre.education),
                col(Cadre.leadership_status),
                col(Cadre.professional_field),
                col(Unit.kind),
                col(Unit.region),
            )
            .join(Unit, col(Unit.id) == Cadre.unit_id)
            .where(col(Cadre.status) == "active", scope.clause(col(Cadre.unit_id)))
        )
        if unit_id:
            root = await find_unit(s, unit_id)
            stmt = stmt.where(col(Unit.path).like(root.path + "%"))
        counters = {d: Counter[str]() for d in DIMENSIONS}
        on = dt.date(year, 12, 31)
        total = 0
        result = await s.stream(stmt)
        async for birth, gender, party, rank, edu, ls, field, kind, region in result:
            total += 1
            counters["age_band"][age_band(age_on(birth, on))] += 1
            counters["gender"][gender] += 1
            counters["party_member"]["yes" if party else "no"] += 1
            counters["rank"][rank or "unknown"] += 1
            counters["education"][edu or "unknown"] += 1
            counters["leadership_status"][ls] += 1
            counters["professional_field"][field or "unknown"] += 1
            counters["unit_kind"][kind] += 1
            counters["region"][region or "unknown"] += 1
        return StructureStats(
            year=year,
            unit_id=unit_id,
            total=total,
            by={d: dict(sorted(c.items())) for d, c in counters.items()},
        )
