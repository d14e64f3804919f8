"""Approving an entry: the ledger's hot path, in SQLAlchemy Core on the unit of work's connection.

The benchmark showed the service, not the database, as the limit: ~4 ms of CPU per
approval, most of it building ORM statements again on every request. Here the statements
are built once (bound parameters only) and run on the unit of work's connection; the rules
are the domain's (``used_capacity``, ``admit``, ``moved``, ``open_period``) as everywhere
else in the ledger: lock the cadre's year, then claim the entry. Its events go out through
the unit of work, in the transaction of the change.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, func, select

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, NotPermitted
from services.scoring import events
from services.scoring.domain.impact import open_period
from services.scoring.domain.ledger import Line, admit, moved, used_capacity
from services.scoring.domain.money import ZERO
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.models import Entry, ImpactPeriodRow
from services.scoring.models import Total as TotalRow
from services.scoring.service.context import Context, catalogue_version, lock_year

E: Table = Entry.__table__  # type: ignore[attr-defined]
T: Table = TotalRow.__table__  # type: ignore[attr-defined]
C: Table = CatalogueRow.__table__  # type: ignore[attr-defined]
P: Table = ImpactPeriodRow.__table__  # type: ignore[attr-defined]

_IN_FORCE = select(func.max(C.c.version)).where(C.c.year == E.c.year, C.c.status == "published").scalar_subquery()
READ = select(*E.c, _IN_FORCE.label("in_force")).where(E.c.id == bindparam("b_id"))
CLAIM = (
    E.update()
    .where(E.c.id == bindparam("b_id"), E.c.status == "pending")
    .values(
        status="approved",
        decided_by=bindparam("b_by"),
        decided_at=bindparam("b_at"),
        decision_note=bindparam("b_note"),
        catalogue_version=bindparam("b_version"),
        rule_points=bindparam("b_rule_points"),
        points=bindparam("b_points"),
        capped=bindparam("b_capped"),
        sanction_kind=bindparam("b_sanction"),
        seq=bindparam("b_seq"),
        version=E.c.version + 1,
    )
)
# The rule's approved lines of the cadre's year, reversals included: what its cap has used.
RULE_LINES = select(E.c.id, E.c.kind, E.c.rule_code, E.c.points, E.c.seq, E.c.reverses_id, E.c.waived).where(
    E.c.cadre_id == bindparam("b_cadre"),
    E.c.year == bindparam("b_year"),
    E.c.rule_code == bindparam("b_rule"),
    E.c.status == "approved",
)
MOVE = (
    T.update()
    .where(T.c.cadre_id == bindparam("b_cadre"), T.c.year == bindparam("b_year"))
    .values(
        total=bindparam("b_total"),
        positive=bindparam("b_positive"),
        negative=bindparam("b_negative"),
        seq=bindparam("b_seq"),
        catalogue_version=bindparam("b_version"),
        updated_at=bindparam("b_at"),
    )
)


async def approve(ctx: Context, principal: Principal, entry_id: str, note: str | None) -> Entry:
    now = utcnow()
    async with ctx.runtime.uow() as uow:
        conn = await uow.session.connection()
        row = (await conn.execute(READ, {"b_id": entry_id})).first()
        if row is None:
            raise NotFound(f"entry {entry_id} does not exist")
        if row.status != "pending":
            raise Conflict(f"entry {entry_id} is already {row.status}", state=row.status)
        if row.proposed_by == principal.sub:
            raise NotPermitted("the person who proposed an entry cannot approve it (four-eyes rule)")
        held = await lock_year(ctx, conn, row.cadre_id, row.year)
        version = row.in_force
        # Read once per version (a published catalogue never changes), then from memory.
        catalogue = ctx.cached_catalogue(row.year, version) or await catalogue_version(
            ctx, uow.session, row.year, version
        )
        assert catalogue is not None  # an entry is only proposed under a published catalogue
        rule = catalogue.rule(row.rule_code)
        if rule is None:
            raise Conflict(f"rule {row.rule_code} is not in the {row.year} catalogue in force (v{version})")
        used = ZERO
        if rule.cap_per_year is not None:
            found = await conn.execute(RULE_LINES, {"b_cadre": row.cadre_id, "b_year": row.year, "b_rule": rule.code})
            lines = [
                Line(r.id, r.kind, r.rule_code, r.points or ZERO, r.seq or 0, r.reverses_id, r.waived) for r in found
            ]
            used = used_capacity(lines, rule.code)
        admitted = admit(rule, used)
        seq = held.seq + 1
        claimed = await conn.execute(
            CLAIM,
            {
                "b_id": entry_id,
                "b_by": principal.sub,
                "b_at": now,
                "b_note": note,
                "b_version": version,
                "b_rule_points": rule.points,
                "b_points": admitted.points,
                "b_capped": admitted.capped,
                "b_sanction": rule.sanction_kind,
                "b_seq": seq,
            },
        )
        if claimed.rowcount != 1:
            raise Conflict(f"entry {entry_id} was decided by someone else just now")
        after = moved(held.sums, admitted.points, rule.direction)
        await conn.execute(
            MOVE,
            {
                "b_cadre": row.cadre_id,
                "b_year": row.year,
                "b_total": after.total,
                "b_positive": after.positive,
                "b_negative": after.negative,
                "b_seq": seq,
                "b_version": version,
                "b_at": now,
            },
        )
        if rule.sanction_kind is not None:
            period = open_period(
                entry_id, rule.sanction_kind, row.occurred_on, catalogue.impact_months.get(rule.sanction_kind, 0)
            )
            if period is not None:
                await conn.execute(
                    P.insert().values(
                        entry_id=entry_id,
                        cadre_id=row.cadre_id,
                        kind=period.kind,
                        starts_on=period.starts_on,
                        ends_on=period.ends_on,
                        lifted=False,
                    )
                )
        entry = Entry.model_validate({k: v for k, v in row._mapping.items() if k != "in_force"})
        entry.status, entry.decided_by, entry.decided_at, entry.decision_note = "approved", principal.sub, now, note
        entry.catalogue_version, entry.rule_points, entry.points = version, rule.points, admitted.points
        entry.capped, entry.sanction_kind, entry.seq, entry.version = (
            admitted.capped,
            rule.sanction_kind,
            seq,
            row.version + 1,
        )
        uow.record(events.entry_approved(entry))
        uow.record(
            events.score_changed(row.cadre_id, row.year, after.total, held.total, entry_id, version, "approval", seq)
        )
        await uow.commit()
    return entry
