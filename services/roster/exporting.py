"""Export to the import sheet's layout; full ID numbers only for roles that may read them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.scope import Scope
from services.roster.domain.sheet import export_row
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, Unit, kit
from services.roster.protection import Sealed
from services.roster.service.context import Context
from services.roster.service.queries import CadreFilter, filtered_cadres
from services.roster.service.rules import TRACKED
from services.roster.spreadsheets import write_workbook

MAX_EXPORT = 200_000


async def export_cadres(
    ctx: Context, principal: Principal, f: CadreFilter, scope: Scope, *, reveal_reason: str | None
) -> bytes:
    """The cadres of ``scope``'s units the filter names (``principal``: for the audit)."""
    async with ctx.uow() as uow:
        s = uow.session
        units = {u.id: u for u in (await s.execute(select(Unit))).scalars()}

        def path_names(unit_id: str) -> str:
            unit = units[unit_id]
            return "/".join(units[p].name for p in path_ids(unit.path))

        stmt = await filtered_cadres(s, f, scope)
        rows = (await s.execute(stmt.order_by(col(Cadre.name), col(Cadre.id)).limit(MAX_EXPORT))).all()
        out: list[list[Any]] = []
        for cadre, _ in rows:
            if not f.keeps(cadre):
                continue
            idn = (
                ctx.sealer.open(Sealed(cadre.id_number_kid, cadre.id_number_sealed))
                if reveal_reason
                else cadre.id_number_masked
            )
            data = {k: getattr(cadre, k) for k in (*TRACKED, "retirement_date_override")}
            if not reveal_reason:
                data["birth_date"] = f"{cadre.birth_date.year}-**-**"
            out.append(export_row(data, path_names(cadre.unit_id), idn))
        if reveal_reason:
            await record_personal_data_read(
                s,
                kit,
                principal,
                action="export_id_numbers",
                subject_type="cadre",
                # only the cadres in the file: the strength filter runs after the query
                subject_ids=[c.id for c, _ in rows if f.keeps(c)],
                fields=["id_number", "birth_date"],
                reason=reveal_reason,
            )
            await uow.commit()
    return write_workbook(out)
