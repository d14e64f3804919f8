"""Approving an entry: the ledger's hot path, in SQLAlchemy Core on one connection.

The benchmark showed the service, not the database, as the limit: ~4 ms of CPU per
approval, most of it building ORM statements again on every request. Here the statements
are built once (bound parameters only) and run on a plain connection; the rules are the
same as everywhere else in the ledger (lock the cadre's year, then claim the entry).
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, func, select

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.problems import Conflict, Forbidden, NotFound
from cadrekit.uow import write_events
from services.scoring import events
from services.scoring.domain.impact import open_period
from services.scoring.domain.ledger import AWARD, admit
from services.scoring.domain.money import ZERO, two_places
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.models import Entry, ImpactPeriodRow, Total
from services.scoring.scoring import Scoring, catalogue_version, lock_year

E: Table = Entry.__table__  # type: ignore[attr-defined]
T: Table = Total.__table__  # type: ignore[attr-defined]
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
USED = select(E.c.points).where(
    E.c.cadre_id == bindparam("b_cadre"),
    E.c.year == bindparam("b_year"),
    E.c.rule_code == bindparam("b_rule"),
    E.c.status == "approved",
    E.c.kind == AWARD,
    E.c.reversed_by_id.is_(None),
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


async def approve(sc: Scoring, who: Principal, entry_id: str, note: str | None) -> Entry:
    now = utcnow()
    async with sc.runtime.engine.begin() as conn:
        row = (await conn.execute(READ, {"b_id": entry_id})).first()
        if row is None:
            raise NotFound(f"entry {entry_id} does not exist")
        if row.status != "pending":
            raise Conflict(f"entry {entry_id} is already {row.status}", state=row.status)
        if row.proposed_by == who.sub:
            raise Forbidden("the person who proposed an entry cannot approve it (four-eyes rule)")
        held = await lock_year(sc, conn, row.cadre_id, row.year)
        version = row.in_force
        catalogue = sc._published.get((row.year, version))
        if catalogue is None:  # read once per version: a published catalogue never changes
            async with sc.runtime.sessions() as s:
                catalogue = await catalogue_version(sc, s, row.year, version)
        assert catalogue is not None  # an entry is only proposed under a published catalogue
        rule = catalogue.rule(row.rule_code)
        if rule is None:
            raise Conflict(f"rule {row.rule_code} is not in the {row.year} catalogue in force (v{version})")
        used = ZERO
        if rule.cap_per_year is not None:
            points = (
                await conn.execute(USED, {"b_cadre": row.cadre_id, "b_year": row.year, "b_rule": row.rule_code})
            ).scalars()
            used = sum((abs(p) for p in points if p is not None), ZERO)
        admitted = admit(rule, used)
        seq = held.seq + 1
        claimed = await conn.execute(
            CLAIM,
            {
                "b_id": entry_id,
                "b_by": who.sub,
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
        new_total = two_places(held.total + admitted.points)
        positive = rule.direction == "positive"
        await conn.execute(
            MOVE,
            {
                "b_cadre": row.cadre_id,
                "b_year": row.year,
                "b_total": new_total,
                "b_positive": held.positive + (admitted.points if positive else ZERO),
                "b_negative": held.negative + (ZERO if positive else admitted.points),
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
        values = {k: v for k, v in row._mapping.items() if k != "in_force"}
        values.update(
            status="approved",
            decided_by=who.sub,
            decided_at=now,
            decision_note=note,
            catalogue_version=version,
            rule_points=rule.points,
            points=admitted.points,
            capped=admitted.capped,
            sanction_kind=rule.sanction_kind,
            seq=seq,
            version=row.version + 1,
        )
        entry = Entry(**values)
        await write_events(
            conn,  # type: ignore[arg-type]
            sc.runtime.kit,
            [
                events.entry_approved(entry),
                events.score_changed(row.cadre_id, row.year, new_total, held.total, entry_id, version, "approval"),
            ],
            source=sc.runtime.settings.service_name,
            topic=sc.runtime.settings.topic,
        )
    sc.runtime.relay.wake()
    return entry
