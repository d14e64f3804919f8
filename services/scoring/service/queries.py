"""Read side: a cadre's ledger with running totals, eligibility, rankings, standing; and the
reads the use cases share (an entry by id, a year's lines, impact periods).

Sanction entries' evidence, reference and decision note are discipline records: masked
unless the caller asks to reveal them and may, and every revealing read is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal, Role
from cadrekit.dates import today
from cadrekit.errors import NotFound, NotPermitted
from cadrekit.scope import Scope
from services.scoring.domain.impact import ImpactPeriod, Verdict, excellence_verdict, promotion_verdict
from services.scoring.domain.ledger import Line, effect
from services.scoring.domain.money import ZERO, two_places
from services.scoring.domain.ranking import TIE_RULE, ahead, order_key, placing
from services.scoring.models import Entry, ImpactPeriodRow, Total, Waiver, kit, mirror
from services.scoring.schemas.ledger import (
    EligibilityPublic,
    EntryCounts,
    EntryLine,
    EntryPage,
    EntryPublic,
    LedgerPublic,
    RankedCadre,
    RankingsPublic,
    StandingPublic,
    WaiverLine,
)
from services.scoring.service.context import Context, check_year, known_cadre, unit_of_record

REVEALERS = (Role.admin, Role.officer)
MASK = "***"
SANCTION_FIELDS = ("evidence", "reference", "decision_note")


def is_sanction(e: Entry) -> bool:
    return e.direction == "negative"


def entry_public(e: Entry, revealed: bool) -> EntryPublic:
    """The entry as the API shows it: a sanction's text masked unless revealed."""
    out = EntryPublic.model_validate(e)
    if is_sanction(e) and not revealed:
        masked = {f: MASK for f in SANCTION_FIELDS if getattr(e, f)}
        out = out.model_copy(update={"masked": True, **masked})
    return out


async def entry_or_404(s: AsyncSession, entry_id: str) -> Entry:
    entry = await s.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"entry {entry_id} does not exist")
    return entry


async def year_lines(s: AsyncSession, cadre_id: str, year: int) -> list[Entry]:
    stmt = (
        select(Entry)
        .where(col(Entry.cadre_id) == cadre_id, col(Entry.year) == year, col(Entry.status) == "approved")
        .order_by(col(Entry.seq))
    )
    return list((await s.execute(stmt)).scalars())


def as_lines(entries: Sequence[Entry]) -> list[Line]:
    return [Line(e.id, e.kind, e.rule_code, e.points or ZERO, e.seq or 0, e.reverses_id, e.waived) for e in entries]


async def periods_of(s: AsyncSession, cadre_id: str) -> list[ImpactPeriod]:
    rows = (await s.execute(select(ImpactPeriodRow).where(col(ImpactPeriodRow.cadre_id) == cadre_id))).scalars()
    return [ImpactPeriod(r.entry_id, r.kind, r.starts_on, r.ends_on, r.lifted) for r in rows]


async def audit_reveal(s: AsyncSession, principal: Principal, entries: list[Entry], action: str) -> bool:
    """True when the sanction text of these entries may be shown; records the read."""
    sanctions = [e.id for e in entries if is_sanction(e)]
    if principal.role not in REVEALERS:
        raise NotPermitted("discipline records are revealed to the cadre office only")
    if sanctions:
        await record_personal_data_read(
            s,
            kit,
            principal,
            action=action,
            subject_type="scoring_entry",
            subject_ids=sanctions,
            fields=list(SANCTION_FIELDS),
            reason="discipline record (sanction entry) read",
        )
    return True


async def entry_view(ctx: Context, principal: Principal, entry_id: str, reveal: bool) -> EntryPublic:
    async with ctx.runtime.sessions() as s:
        e = await entry_or_404(s, entry_id)
        revealed = reveal and await audit_reveal(s, principal, [e], "read scoring entry")
        await s.commit()
    return entry_public(e, revealed)


async def list_entries(
    ctx: Context,
    scope: Scope,
    status: str | None,
    year: int | None,
    cadre_id: str | None,
    limit: int,
    offset: int,
) -> EntryPage:
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
    async with ctx.runtime.sessions() as s:
        rows = list((await s.execute(stmt.offset(offset).limit(limit + 1))).scalars())
    return EntryPage(
        items=[entry_public(e, revealed=False) for e in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


async def ledger(ctx: Context, principal: Principal, cadre_id: str, year: int, reveal: bool) -> LedgerPublic:
    check_year(year)
    async with ctx.runtime.sessions() as s:
        cadre = await known_cadre(ctx, s, cadre_id, for_input=False)
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
        revealed = reveal and await audit_reveal(s, principal, entries, "read scoring ledger")
        total_row = await s.get(Total, (cadre_id, year))
        await s.commit()
    approved = [e for e in entries if e.status == "approved"]
    by_id = {e.id: e for e in approved}
    # Lines as they happened: each entry counts at its own approval; a waiver counts at its
    # own place, so an entry is shown with its points and the waiver with the cancellation.
    steps: list[tuple[int, Entry | Waiver]] = [(e.seq or 0, e) for e in approved]
    steps += [(w.seq, w) for w in waivers]
    steps.sort(key=lambda x: x[0])
    running = ZERO
    lines: list[EntryLine | WaiverLine] = []
    for seq, item in steps:
        if isinstance(item, Entry):
            delta = item.points or ZERO
            running = two_places(running + delta)
            shown = entry_public(item, revealed).model_dump()
            kind: Literal["entry", "reversal"] = "reversal" if item.kind == "reversal" else "entry"
            lines.append(EntryLine(seq=seq, line=kind, **shown, running_total=running))
        else:
            target = by_id.get(item.entry_id)
            delta = -(target.points or ZERO) if target is not None else ZERO
            running = two_places(running + delta)
            lines.append(
                WaiverLine(
                    seq=seq,
                    line="waiver",
                    id=item.id,
                    entry_id=item.entry_id,
                    reference=item.reference,
                    reason=item.reason,
                    granted_by=item.granted_by,
                    granted_at=item.granted_at,
                    points=delta,
                    running_total=running,
                )
            )
    total = two_places(sum((effect(ln) for ln in as_lines(approved)), ZERO))
    assert total_row is None or total_row.total == total, "ledger and total disagree"
    return LedgerPublic(
        cadre_id=cadre_id,
        name=cadre.name,
        year=year,
        total=total,
        lines=lines,
        pending=[entry_public(e, revealed) for e in entries if e.status == "pending"],
        rejected=[entry_public(e, revealed) for e in entries if e.status == "rejected"],
    )


async def eligibility(ctx: Context, cadre_id: str, year: int, on: dt.date | None) -> EligibilityPublic:
    check_year(year)
    day = on or today()
    async with ctx.runtime.sessions() as s:
        cadre = await known_cadre(ctx, s, cadre_id, for_input=False)
        periods = await periods_of(s, cadre_id)
    excellent = excellence_verdict(periods, year)
    promotion = promotion_verdict(periods, day)
    left = ["has left the roster"] if cadre.status != "active" else []
    return EligibilityPublic(
        cadre_id=cadre_id,
        year=year,
        on=day,
        excellent=Verdict(excellent.eligible and not left, left + excellent.reasons),
        promotion=Verdict(promotion.eligible and not left, left + promotion.reasons),
        impact_periods=periods,
    )


async def rankings(
    ctx: Context,
    scope: Scope,
    year: int,
    unit_id: str | None,
    leadership_status: str | None,
    limit: int,
    offset: int,
) -> RankingsPublic:
    """Active cadres of the scope (and of ``unit_id``'s subtree), ranked among themselves."""
    check_year(year)
    c, u = mirror.cadres, mirror.units
    async with ctx.runtime.sessions() as s:
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
                return RankingsPublic(year=year, tie_rule=TIE_RULE, count=0, items=[])
            stmt = stmt.where(c.c.unit_id.in_(select(u.c.unit_id).where(u.c.path.startswith(path, autoescape=True))))
        if leadership_status is not None:
            stmt = stmt.where(c.c.leadership_status == leadership_status)
        rows = (await s.execute(stmt)).all()
    zero = Decimal("0.00")
    ordered = sorted(rows, key=lambda r: order_key(placing(r.cadre_id, r.total, r.positive, r.negative)))
    items = [
        RankedCadre(
            rank=i,
            cadre_id=r.cadre_id,
            name=r.name,
            unit_id=r.unit_id,
            leadership_status=r.leadership_status,
            total=r.total or zero,
            positive=r.positive or zero,
            negative=r.negative or zero,
        )
        for i, r in enumerate(ordered[offset : offset + limit], start=offset + 1)
    ]
    return RankingsPublic(year=year, tie_rule=TIE_RULE, count=len(ordered), items=items)


async def city_rank(s: AsyncSession, cadre_id: str, year: int) -> tuple[int | None, int]:
    """The cadre's rank among the city's active cadres (None when not one of them) and how
    many they are, without ranking them all: the rankings' rule, counted. Totals, points
    earned and deducted compare in SQL; the few cadres level on all three are ordered in
    Python, as the rankings order them (the database's text collation may not be Python's)."""
    c = mirror.cadres
    total, positive, negative = (func.coalesce(x, ZERO) for x in (Total.total, Total.positive, Total.negative))
    joined = c.outerjoin(Total, and_(col(Total.cadre_id) == c.c.cadre_id, col(Total.year) == year))
    active = c.c.status == "active"
    ranked = (await s.execute(select(func.count()).select_from(c).where(active))).scalar_one()
    own = (
        await s.execute(
            select(c.c.cadre_id, col(Total.total), col(Total.positive), col(Total.negative))
            .select_from(joined)
            .where(active, c.c.cadre_id == cadre_id)
        )
    ).one_or_none()
    if own is None:
        return None, ranked
    me = placing(*own)
    level = and_(total == me.total, positive == me.positive)
    above = or_(total > me.total, and_(total == me.total, positive > me.positive), and_(level, negative > me.negative))
    count_above = (await s.execute(select(func.count()).select_from(joined).where(active, above))).scalar_one()
    tied = (
        await s.execute(select(c.c.cadre_id).select_from(joined).where(active, level, negative == me.negative))
    ).scalars()
    return count_above + sum(
        1 for other in tied if ahead(placing(other, me.total, me.positive, me.negative), me)
    ) + 1, ranked


async def standing(ctx: Context, cadre_id: str, year: int) -> StandingPublic:
    """A cadre's year in one answer (for the portal's profile view): total, its parts, the
    ledger's counts, and the rank among all active cadres of the city by the ranking's rule
    (a seat, not a list: a token scoped to the cadre's unit sees the city rank too)."""
    check_year(year)
    async with ctx.runtime.sessions() as s:
        await known_cadre(ctx, s, cadre_id, for_input=False)
        row = await s.get(Total, (cadre_id, year))
        counts = (
            await s.execute(
                select(col(Entry.status), col(Entry.kind), col(Entry.waived)).where(
                    col(Entry.cadre_id) == cadre_id, col(Entry.year) == year
                )
            )
        ).all()
        periods = await periods_of(s, cadre_id)
        rank, ranked = await city_rank(s, cadre_id, year)
    zero = Decimal("0.00")
    return StandingPublic(
        cadre_id=cadre_id,
        year=year,
        total=row.total if row else zero,
        positive=row.positive if row else zero,
        negative=row.negative if row else zero,
        catalogue_version=row.catalogue_version if row else None,
        rank=rank,
        ranked=ranked,
        entries=EntryCounts(
            approved=sum(1 for c in counts if c.status == "approved" and c.kind == "award"),
            reversals=sum(1 for c in counts if c.kind == "reversal"),
            waived=sum(1 for c in counts if c.waived),
            pending=sum(1 for c in counts if c.status == "pending"),
        ),
        excellent_eligible=excellence_verdict(periods, year).eligible,
    )
