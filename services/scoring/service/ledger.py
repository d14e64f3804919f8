"""Ledger use cases: propose, reject, reverse, waive, restate (approving: approval.py).

Every change to a cadre's year takes the lock on its ``totals`` row first (lock_year),
then claims the entry with a conditional UPDATE: two officers approving one entry at once
are serialised, the second finds it decided, and the total moves once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.dates import today
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, field_error
from cadrekit.roster_mirror import await_references
from services.scoring import events
from services.scoring.domain.ledger import AWARD, REVERSAL, moved, restate, restated_total
from services.scoring.domain.money import ZERO, text, two_places
from services.scoring.models import Entry, ImpactPeriodRow, Total, Waiver, mirror
from services.scoring.schemas.ledger import EntryIn, RestatedLine, RestatementIn, RestatementPublic, WaiverIn
from services.scoring.service.catalogues import none_published
from services.scoring.service.context import (
    Context,
    YearLock,
    catalogue_version,
    check_year,
    in_force,
    known_cadre,
    lock_year,
    rowcount,
)
from services.scoring.service.queries import as_lines, entry_or_404, year_lines


async def propose(ctx: Context, principal: Principal, body: EntryIn) -> Entry:
    year = check_year(body.year)
    occurred: dt.date = body.occurred_on
    if occurred.year != year:
        raise field_error("occurred_on", f"{occurred} is not in {year}")
    await await_references(ctx.runtime, mirror, cadres={"cadre_id": body.cadre_id})
    async with ctx.runtime.uow() as uow:
        s = uow.session
        cadre = await known_cadre(ctx, s, body.cadre_id)
        if cadre.status != "active":
            raise field_error("cadre_id", f"cadre {cadre.cadre_id} has left the roster")
        found = await in_force(ctx, s, year)
        if found is None:
            raise await none_published(s, year)
        version, catalogue = found
        rule = catalogue.rule(body.rule_code)
        if rule is None:
            raise field_error("rule_code", f"rule {body.rule_code!r} is not in the {year} catalogue (v{version})")
        entry = Entry(
            cadre_id=cadre.cadre_id,
            unit_id=cadre.unit_id,
            year=year,
            rule_code=rule.code,
            direction=rule.direction,
            sanction_kind=rule.sanction_kind,
            occurred_on=occurred,
            evidence=body.evidence or "",
            reference=body.reference,
            proposed_by=principal.sub,
        )
        s.add(entry)
        await uow.commit()
    return entry


async def _move_total(
    s: AsyncSession,
    cadre_id: str,
    year: int,
    held: YearLock,
    delta: Decimal,
    seq: int,
    version: int | None,
    direction: str,
) -> Decimal:
    """Move the held total by a line of ``direction`` (the domain's ``moved``)."""
    after = moved(held.sums, delta, direction)
    await s.execute(
        update(Total)
        .where(col(Total.cadre_id) == cadre_id, col(Total.year) == year)
        .values(
            total=after.total,
            positive=after.positive,
            negative=after.negative,
            seq=seq,
            catalogue_version=version if version is not None else held.catalogue_version,
            updated_at=utcnow(),
        )
    )
    return after.total


async def reject(ctx: Context, principal: Principal, entry_id: str, note: str | None) -> Entry:
    async with ctx.runtime.uow() as uow:
        s = uow.session
        entry = await entry_or_404(s, entry_id)
        done = await s.execute(
            update(Entry)
            .where(col(Entry.id) == entry_id, col(Entry.status) == "pending")
            .values(status="rejected", decided_by=principal.sub, decided_at=utcnow(), decision_note=note)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:
            raise Conflict(f"entry {entry_id} is already {entry.status}", state=entry.status)
        await uow.commit()
        await s.refresh(entry)
    return entry


async def reverse(ctx: Context, principal: Principal, entry_id: str, reason: str) -> Entry:
    async with ctx.runtime.uow() as uow:
        s = uow.session
        original = await entry_or_404(s, entry_id)
        if original.kind == REVERSAL:
            raise Conflict("a reversal cannot be reversed; propose the entry again instead")
        if original.status != "approved":
            raise Conflict(f"only approved entries are reversed; this one is {original.status}", state=original.status)
        year = await lock_year(ctx, s, original.cadre_id, original.year)
        await s.refresh(original)
        if original.reversed_by_id is not None:
            raise Conflict(f"entry {entry_id} is already reversed by {original.reversed_by_id}")
        if original.waived:
            raise Conflict("this deduction is waived and has no effect left to reverse")
        assert original.points is not None
        seq = year.seq + 1
        reversal = reversal_of(
            original,
            by=principal.sub,
            at=utcnow(),
            seq=seq,
            occurred_on=today() if today().year == original.year else original.occurred_on,
            evidence=reason,
            note=reason,
        )
        s.add(reversal)
        await s.flush()
        done = await s.execute(
            update(Entry)
            .where(col(Entry.id) == original.id, col(Entry.reversed_by_id).is_(None))
            .values(reversed_by_id=reversal.id)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:
            raise Conflict(f"entry {entry_id} was reversed by someone else just now")
        new_total = await _move_total(
            s,
            original.cadre_id,
            original.year,
            year,
            -original.points,
            seq,
            original.catalogue_version,
            original.direction,
        )
        await _lift(s, original.id, "reversed")
        uow.record(events.entry_reversed(original, reversal))
        uow.record(
            events.score_changed(
                original.cadre_id,
                original.year,
                new_total,
                year.total,
                reversal.id,
                original.catalogue_version or 0,
                "reversal",
                seq,
            )
        )
        await uow.commit()
    return reversal


async def _lift(s: AsyncSession, entry_id: str, why: str) -> None:
    await s.execute(
        update(ImpactPeriodRow)
        .where(col(ImpactPeriodRow.entry_id) == entry_id)
        .values(lifted=True, lifted_reason=why)
        .execution_options(synchronize_session=False)
    )


async def waive(ctx: Context, principal: Principal, entry_id: str, body: WaiverIn) -> Waiver:
    async with ctx.runtime.uow() as uow:
        s = uow.session
        entry = await entry_or_404(s, entry_id)
        if entry.direction != "negative" or entry.kind != AWARD:
            raise field_error("entry_id", "only a deduction can be waived (容错纠错); this entry adds points")
        if entry.status != "approved":
            raise Conflict(f"only approved deductions are waived; this one is {entry.status}", state=entry.status)
        year = await lock_year(ctx, s, entry.cadre_id, entry.year)
        await s.refresh(entry)
        if entry.reversed_by_id is not None:
            raise Conflict("this deduction is reversed already; nothing is left to waive")
        done = await s.execute(
            update(Entry)
            .where(col(Entry.id) == entry_id, col(Entry.waived).is_(False))
            .values(waived=True)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:
            raise Conflict(f"entry {entry_id} is already waived")
        assert entry.points is not None
        seq = year.seq + 1
        waiver = Waiver(
            entry_id=entry.id,
            cadre_id=entry.cadre_id,
            year=entry.year,
            reference=body.reference,
            reason=body.reason,
            granted_by=principal.sub,
            seq=seq,
        )
        s.add(waiver)
        new_total = await _move_total(
            s, entry.cadre_id, entry.year, year, -entry.points, seq, entry.catalogue_version, entry.direction
        )
        await _lift(s, entry.id, "waived")
        uow.record(events.waiver_granted(waiver, entry))
        uow.record(
            events.score_changed(
                entry.cadre_id,
                entry.year,
                new_total,
                year.total,
                entry.id,
                entry.catalogue_version or 0,
                "waiver",
                seq,
            )
        )
        await uow.commit()
    return waiver


async def restatement(ctx: Context, principal: Principal, cadre_id: str, body: RestatementIn) -> RestatementPublic:
    """Score a cadre's year again under catalogue ``version``: a preview, or (apply) a
    reversal and a re-issued entry for every line whose points change."""
    year, version, apply, expect = check_year(body.year), body.version, body.apply, body.expected_difference
    async with ctx.runtime.uow() as uow:
        s = uow.session
        await known_cadre(ctx, s, cadre_id, for_input=False)
        newer = await catalogue_version(ctx, s, year, version)
        if newer is None:
            raise field_error("version", f"no published catalogue v{version} for {year}")
        held = await lock_year(ctx, s, cadre_id, year) if apply else None
        entries = await year_lines(s, cadre_id, year)
        lines = as_lines(entries)
        stale = [e for e in entries if e.kind == AWARD and (e.catalogue_version or 0) > version]
        if stale:
            raise field_error("version", f"entries were scored under a newer version than v{version}")
        changes = [r for r in restate(lines, newer) if r.changed or _older(entries, r.entry_id, version)]
        old_total = two_places(sum((ln.points for ln in lines if not ln.waived), ZERO))
        new_total = restated_total(lines, changes)
        preview = RestatementPublic(
            cadre_id=cadre_id,
            year=year,
            to_version=version,
            total=old_total,
            restated_total=new_total,
            difference=new_total - old_total,
            lines=[
                RestatedLine(
                    entry_id=r.entry_id,
                    rule_code=r.rule_code,
                    points=r.old_points,
                    restated_points=r.new_points,
                    withdrawn=r.withdrawn,
                )
                for r in changes
            ],
            applied=False,
        )
        if not apply:
            return preview
        assert held is not None
        if expect is not None and two_places(expect) != two_places(new_total - old_total):
            raise Conflict(
                f"the difference is now {text(new_total - old_total)}, not {text(expect)}: the ledger changed since "
                "the preview; preview again"
            )
        by_id = {e.id: e for e in entries}
        seq = held.seq
        last_id = None
        now = utcnow()
        for r in changes:
            original = by_id[r.entry_id]
            assert original.points is not None
            seq += 1
            reversal = reversal_of(
                original,
                by=principal.sub,
                at=now,
                seq=seq,
                occurred_on=original.occurred_on,
                evidence=f"restated under catalogue v{version}",
            )
            s.add(reversal)
            await s.flush()
            original.reversed_by_id = reversal.id
            uow.record(events.entry_reversed(original, reversal))
            last_id = reversal.id
            if r.withdrawn:
                continue
            seq += 1
            reissue = Entry(
                cadre_id=cadre_id,
                unit_id=original.unit_id,
                year=year,
                rule_code=original.rule_code,
                direction=original.direction,
                sanction_kind=original.sanction_kind,
                status="approved",
                occurred_on=original.occurred_on,
                evidence=original.evidence,
                reference=original.reference,
                proposed_by=original.proposed_by,
                decided_by=principal.sub,
                decided_at=now,
                decision_note=f"restated under catalogue v{version}",
                catalogue_version=version,
                rule_points=r.new_points.copy_abs(),
                points=r.new_points,
                capped=False,
                seq=seq,
                restates_id=original.id,
            )
            s.add(reissue)
            await s.flush()
            uow.record(events.entry_approved(reissue))
            last_id = reissue.id
        if last_id is not None:
            delta = new_total - old_total
            by_direction = {
                d: sum((r.new_points - r.old_points for r in changes if by_id[r.entry_id].direction == d), ZERO)
                for d in ("positive", "negative")
            }
            await _move_total(s, cadre_id, year, held, by_direction["positive"], seq, version, "positive")
            held_after = await lock_year(ctx, s, cadre_id, year)
            await _move_total(s, cadre_id, year, held_after, by_direction["negative"], seq, version, "negative")
            uow.record(
                events.score_changed(
                    cadre_id, year, two_places(held.total + delta), held.total, last_id, version, "restatement", seq
                )
            )
        await uow.commit()
    return preview.model_copy(update={"applied": True})


def _older(entries: list[Entry], entry_id: str, version: int) -> bool:
    """An entry scored under an older version moves to the newer one even when its points
    stay the same, so every standing entry of the year ends up under one version."""
    e = next(x for x in entries if x.id == entry_id)
    return (e.catalogue_version or 0) < version


def reversal_of(
    original: Entry, *, by: str, at: dt.datetime, seq: int, occurred_on: dt.date, evidence: str, note: str | None = None
) -> Entry:
    """The approved line that takes back ``original``'s points (a reversal or a restatement)."""
    assert original.points is not None
    return Entry(
        cadre_id=original.cadre_id,
        unit_id=original.unit_id,
        year=original.year,
        kind=REVERSAL,
        rule_code=original.rule_code,
        direction=original.direction,
        status="approved",
        occurred_on=occurred_on,
        evidence=evidence,
        proposed_by=by,
        decided_by=by,
        decided_at=at,
        decision_note=note,
        catalogue_version=original.catalogue_version,
        rule_points=original.rule_points,
        points=-original.points,
        seq=seq,
        reverses_id=original.id,
    )
