"""Read side: a cadre's ledger with running totals, eligibility, rankings.

Sanction entries' evidence, reference and decision note are discipline records: masked
unless the caller asks to reveal them and may, and every revealing read is audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal, Role
from cadrekit.dates import today
from cadrekit.problems import Forbidden
from cadrekit.scope import WHOLE_TREE, Scope
from services.scoring.domain.impact import ImpactPeriod, excellence_verdict, promotion_verdict
from services.scoring.domain.ledger import effect
from services.scoring.domain.money import ZERO, text, two_places
from services.scoring.entries import SANCTION_FIELDS, as_lines
from services.scoring.models import Entry, ImpactPeriodRow, Total, Waiver, kit, mirror
from services.scoring.scoring import Scoring, check_year, known_cadre, unit_of_record

REVEALERS = (Role.admin, Role.officer)
MASK = "***"


def is_sanction(e: Entry) -> bool:
    return e.direction == "negative"


def entry_public(e: Entry, revealed: bool) -> dict[str, Any]:
    hidden = is_sanction(e) and not revealed
    out: dict[str, Any] = {
        "id": e.id,
        "cadre_id": e.cadre_id,
        "unit_id": e.unit_id,
        "year": e.year,
        "kind": e.kind,
        "rule_code": e.rule_code,
        "direction": e.direction,
        "sanction_kind": e.sanction_kind,
        "status": e.status,
        "occurred_on": e.occurred_on,
        "proposed_by": e.proposed_by,
        "proposed_at": e.proposed_at,
        "decided_by": e.decided_by,
        "decided_at": e.decided_at,
        "catalogue_version": e.catalogue_version,
        "rule_points": None if e.rule_points is None else text(e.rule_points),
        "points": None if e.points is None else text(e.points),
        "capped": e.capped,
        "reverses_id": e.reverses_id,
        "reversed_by_id": e.reversed_by_id,
        "restates_id": e.restates_id,
        "waived": e.waived,
        "masked": hidden,
    }
    for f in SANCTION_FIELDS:
        value = getattr(e, f)
        out[f] = MASK if hidden and value else value
    return out


async def audit_reveal(s: AsyncSession, who: Principal, entries: list[Entry], action: str) -> bool:
    """True when the sanction text of these entries may be shown; records the read."""
    sanctions = [e.id for e in entries if is_sanction(e)]
    if who.role not in REVEALERS:
        raise Forbidden("discipline records are revealed to the cadre office only")
    if sanctions:
        await record_personal_data_read(
            s,
            kit,
            who,
            action=action,
            subject_type="scoring_entry",
            subject_ids=sanctions,
            fields=list(SANCTION_FIELDS),
            reason="discipline record (sanction entry) read",
        )
    return True


async def entry_view(sc: Scoring, who: Principal, entry_id: str, reveal: bool) -> dict[str, Any]:
    from services.scoring.entries import _entry

    async with sc.runtime.sessions() as s:
        e = await _entry(s, entry_id)
        revealed = reveal and await audit_reveal(s, who, [e], "read scoring entry")
        await s.commit()
    return entry_public(e, revealed)


async def list_entries(
    sc: Scoring,
    scope: Scope,
    status: str | None,
    year: int | None,
    cadre_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Entries newest first (the pending queue, a year, a cadre), of the cadres in scope."""
    stmt = (
        select(Entry)
        .where(scope.clause(unit_of_record(col(Entry.cadre_id), col(Entry.unit_id))))
        .order_by(col(Entry.proposed_at).desc(), col(Entry.id))
    )
    if status:
        stmt = stmt.where(col(Entry.status) == status)
    if year is not None:
        stmt = stmt.where(col(Entry.year) == year)
    if cadre_id:
        stmt = stmt.where(col(Entry.cadre_id) == cadre_id)
    async with sc.runtime.sessions() as s:
        rows = list((await s.execute(stmt.offset(offset).limit(limit + 1))).scalars())
    return {
        "items": [entry_public(e, revealed=False) for e in rows[:limit]],
        "next_offset": offset + limit if len(rows) > limit else None,
    }


async def ledger(sc: Scoring, who: Principal, cadre_id: str, year: int, reveal: bool) -> dict[str, Any]:
    check_year(year)
    async with sc.runtime.sessions() as s:
        cadre = await known_cadre(sc, s, cadre_id, for_input=False)
        entries = list(
            (
                await s.execute(
                    select(Entry)
                    .where(col(Entry.cadre_id) == cadre_id, col(Entry.year) == year)
                    .order_by(col(Entry.seq), col(Entry.proposed_at))
                )
            ).scalars()
        )
        waivers = list(
            (
                await s.execute(
                    select(Waiver)
                    .where(col(Waiver.cadre_id) == cadre_id, col(Waiver.year) == year)
                    .order_by(col(Waiver.seq))
                )
            ).scalars()
        )
        revealed = reveal and await audit_reveal(s, who, entries, "read scoring ledger")
        total_row = await s.get(Total, (cadre_id, year))
        await s.commit()
    approved = [e for e in entries if e.status == "approved"]
    by_id = {e.id: e for e in approved}
    # Lines as they happened: each entry counts at its own approval; a waiver counts at its
    # own place, so an entry is shown with its points and the waiver with the cancellation.
    steps: list[tuple[int, str, Any]] = [(e.seq or 0, "entry", e) for e in approved]
    steps += [(w.seq, "waiver", w) for w in waivers]
    steps.sort(key=lambda x: x[0])
    running = ZERO
    lines: list[dict[str, Any]] = []
    for seq, kind, item in steps:
        if kind == "entry":
            delta = item.points or ZERO
            line = {
                "seq": seq,
                "line": "reversal" if item.kind == "reversal" else "entry",
                **entry_public(item, revealed),
            }
        else:
            target = by_id.get(item.entry_id)
            delta = -(target.points or ZERO) if target is not None else ZERO
            line = {
                "seq": seq,
                "line": "waiver",
                "id": item.id,
                "entry_id": item.entry_id,
                "reference": item.reference,
                "reason": item.reason,
                "granted_by": item.granted_by,
                "granted_at": item.granted_at,
                "points": text(delta),
            }
        running = two_places(running + delta)
        line["running_total"] = text(running)
        lines.append(line)
    total = two_places(sum((effect(ln) for ln in as_lines(approved)), ZERO))
    assert total_row is None or total_row.total == total, "ledger and total disagree"
    return {
        "cadre_id": cadre_id,
        "name": cadre.name,
        "year": year,
        "total": text(total),
        "lines": lines,
        "pending": [entry_public(e, revealed) for e in entries if e.status == "pending"],
        "rejected": [entry_public(e, revealed) for e in entries if e.status == "rejected"],
    }


async def periods_of(s: AsyncSession, cadre_id: str) -> list[ImpactPeriod]:
    rows = (await s.execute(select(ImpactPeriodRow).where(col(ImpactPeriodRow.cadre_id) == cadre_id))).scalars()
    return [ImpactPeriod(r.entry_id, r.kind, r.starts_on, r.ends_on, r.lifted) for r in rows]


async def eligibility(sc: Scoring, cadre_id: str, year: int, on: dt.date | None) -> dict[str, Any]:
    check_year(year)
    day = on or today()
    async with sc.runtime.sessions() as s:
        cadre = await known_cadre(sc, s, cadre_id, for_input=False)
        periods = await periods_of(s, cadre_id)
    excellent = excellence_verdict(periods, year)
    promotion = promotion_verdict(periods, day)
    left = ["has left the roster"] if cadre.status != "active" else []
    return {
        "cadre_id": cadre_id,
        "year": year,
        "on": day,
        "excellent": {"eligible": excellent.eligible and not left, "reasons": left + excellent.reasons},
        "promotion": {"eligible": promotion.eligible and not left, "reasons": left + promotion.reasons},
        "impact_periods": [
            {
                "entry_id": p.entry_id,
                "kind": p.kind,
                "starts_on": p.starts_on,
                "ends_on": p.ends_on,
                "lifted": p.lifted,
            }
            for p in periods
        ],
    }


TIE_RULE = (
    "higher total first; at equal totals, more points earned (positive entries) first; then fewer points "
    "deducted; then cadre id, so the order never changes between two reads"
)


async def rankings(
    sc: Scoring,
    scope: Scope,
    year: int,
    unit_id: str | None,
    leadership_status: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Active cadres of the scope (and of ``unit_id``'s subtree), ranked among themselves."""
    check_year(year)
    c, u = mirror.cadres, mirror.units
    async with sc.runtime.sessions() as s:
        stmt = (
            select(
                c.c.cadre_id,
                c.c.name,
                c.c.unit_id,
                c.c.leadership_status,
                col(Total.total),
                col(Total.positive),
                col(Total.negative),
            )
            .select_from(c.outerjoin(Total, and_(col(Total.cadre_id) == c.c.cadre_id, col(Total.year) == year)))
            .where(c.c.status == "active", scope.clause(c.c.unit_id))
        )
        if unit_id is not None:
            path = (await s.execute(select(u.c.path).where(u.c.unit_id == unit_id))).scalar_one_or_none()
            if path is None:
                return {"year": year, "tie_rule": TIE_RULE, "count": 0, "items": []}
            stmt = stmt.where(c.c.unit_id.in_(select(u.c.unit_id).where(u.c.path.startswith(path, autoescape=True))))
        if leadership_status is not None:
            stmt = stmt.where(c.c.leadership_status == leadership_status)
        rows = (await s.execute(stmt)).all()
    zero = Decimal("0.00")

    def key(r: Any) -> tuple[Decimal, Decimal, Decimal, str]:
        return (-(r.total or zero), -(r.positive or zero), -(r.negative or zero), r.cadre_id)

    ordered = sorted(rows, key=key)
    items = []
    for i, r in enumerate(ordered[offset : offset + limit], start=offset + 1):
        items.append(
            {
                "rank": i,
                "cadre_id": r.cadre_id,
                "name": r.name,
                "unit_id": r.unit_id,
                "leadership_status": r.leadership_status,
                "total": text(r.total or zero),
                "positive": text(r.positive or zero),
                "negative": text(r.negative or zero),
            }
        )
    return {"year": year, "tie_rule": TIE_RULE, "count": len(ordered), "items": items}


async def standing(sc: Scoring, cadre_id: str, year: int) -> dict[str, Any]:
    """A cadre's year in one answer (for the portal's profile view): total, its parts, the
    ledger's counts, and the rank among all active cadres of the city by the ranking's rule
    (a seat, not a list: a token scoped to the cadre's unit sees the city rank too)."""
    check_year(year)
    async with sc.runtime.sessions() as s:
        await known_cadre(sc, s, cadre_id, for_input=False)
        row = await s.get(Total, (cadre_id, year))
        counts = (
            await s.execute(
                select(col(Entry.status), col(Entry.kind), col(Entry.waived)).where(
                    col(Entry.cadre_id) == cadre_id, col(Entry.year) == year
                )
            )
        ).all()
        periods = await periods_of(s, cadre_id)
    everyone = await rankings(sc, WHOLE_TREE, year, None, None, 10**9, 0)
    rank = next((i["rank"] for i in everyone["items"] if i["cadre_id"] == cadre_id), None)
    zero = Decimal("0.00")
    return {
        "cadre_id": cadre_id,
        "year": year,
        "total": text(row.total if row else zero),
        "positive": text(row.positive if row else zero),
        "negative": text(row.negative if row else zero),
        "catalogue_version": row.catalogue_version if row else None,
        "rank": rank,
        "ranked": everyone["count"],
        "entries": {
            "approved": sum(1 for c in counts if c.status == "approved" and c.kind == "award"),
            "reversals": sum(1 for c in counts if c.kind == "reversal"),
            "waived": sum(1 for c in counts if c.waived),
            "pending": sum(1 for c in counts if c.status == "pending"),
        },
        "excellent_eligible": excellence_verdict(periods, year).eligible,
    }
