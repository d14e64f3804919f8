"""The secondment archive: reviews, the reserve pool and the batch statistics."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.pagination import decode_cursor
from cadrekit.problems import Conflict, field_error
from cadrekit.scope import Scope
from services.secondment import events
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import State
from services.secondment.domain.stats import Member, batch_stats
from services.secondment.models import (
    Batch,
    ReserveEntry,
    Review,
    Secondment,
    mirror,
)
from services.secondment.service import (
    DIRECTIONS,
    Secondments,
    load_batch,
    load_secondment,
    page,
)


# reviews and the reserve pool ---------------------------------------------------------------
def review_public(v: Review) -> dict[str, Any]:
    return {
        "id": v.id,
        "secondment_id": v.secondment_id,
        "cadre_id": v.cadre_id,
        "kind": v.kind,
        "rating": v.rating,
        "reviewed_on": v.reviewed_on,
        "comments": v.comments,
        "recorded_by": v.recorded_by,
        "created_at": v.created_at,
    }


def reserve_public(e: ReserveEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "cadre_id": e.cadre_id,
        "cadre_name": e.cadre_name,
        "source": e.source,
        "secondment_id": e.secondment_id,
        "added_on": e.added_on,
        "created_at": e.created_at,
    }


async def record_review(
    r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Routine and annual reviews while the secondment runs; the end-of-term review also once
    it has completed. An end-of-term "excellent" puts the cadre in the reserve pool (seed 004:
    挂职期满，业绩突出、考核优秀的，纳入后备干部库)."""
    async with r.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        allowed = {State.active.value} | ({State.completed.value} if data["kind"] == "end_of_term" else set())
        if sec.state not in allowed:
            raise Conflict(
                f"a {data['kind']} review needs a secondment that is {' or '.join(sorted(allowed))}; "
                f"this one is {sec.state}",
                state=sec.state,
                action="review",
            )
        assert sec.starts_on is not None
        if data["reviewed_on"] < sec.starts_on:
            raise field_error("reviewed_on", f"before the secondment started on {sec.starts_on.isoformat()}")
        if data["kind"] == "end_of_term":
            earlier = await s.execute(
                select(col(Review.id)).where(col(Review.secondment_id) == sec.id, col(Review.kind) == "end_of_term")
            )
            if earlier.first() is not None:
                raise Conflict(
                    "this secondment already has its end-of-term review",
                    errors=[{"field": "kind", "message": "one end_of_term review per secondment"}],
                )
        review = Review(secondment_id=sec.id, cadre_id=sec.cadre_id, recorded_by=principal.sub, **data)
        s.add(review)
        uow.record(events.review_recorded(review))
        entry = None
        if data["kind"] == "end_of_term" and data["rating"] == "excellent":
            source = f"secondment/{sec.id}"
            found = await s.execute(
                select(ReserveEntry).where(
                    col(ReserveEntry.cadre_id) == sec.cadre_id, col(ReserveEntry.source) == source
                )
            )
            if found.first() is None:
                entry = ReserveEntry(
                    cadre_id=sec.cadre_id,
                    cadre_name=sec.cadre_name,
                    source=source,
                    secondment_id=sec.id,
                    added_on=data["reviewed_on"],
                )
                s.add(entry)
                uow.record(events.reserve_added(entry))
        await uow.commit()
        return {**review_public(review), "reserve_entry": reserve_public(entry) if entry else None}


async def list_reviews(r: Secondments, secondment_id: str) -> list[dict[str, Any]]:
    async with r.uow() as uow:
        await load_secondment(uow.session, secondment_id)
        rows = await uow.session.execute(
            select(Review).where(col(Review.secondment_id) == secondment_id).order_by(col(Review.created_at))
        )
        return [review_public(v) for v in rows.scalars()]


async def reserve_pool(
    r: Secondments, scope: Scope, *, cadre_id: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """An entry is in scope by the unit its cadre works in now (the roster mirror): the pool
    is the home unit's list for promotion, whatever unit the cadre was seconded to."""
    async with r.uow() as uow:
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
        return page([reserve_public(e) for e in rows], limit)


# statistics and export ---------------------------------------------------------------------
async def batch_members(s: AsyncSession, batch_id: str) -> tuple[Batch, list[Secondment]]:
    batch = await load_batch(s, batch_id)
    rows = await s.execute(
        select(Secondment)
        .where(col(Secondment.batch_id) == batch_id, col(Secondment.state) != State.withdrawn.value)
        .order_by(col(Secondment.direction), col(Secondment.cadre_name), col(Secondment.id))
    )
    return batch, list(rows.scalars())


async def stats(r: Secondments, batch_id: str) -> dict[str, Any]:
    """Over the batch's secondments that were not withdrawn."""
    async with r.uow() as uow:
        batch, rows = await batch_members(uow.session, batch_id)
        members = [
            Member(
                direction=x.direction,
                birth_date=x.birth_date,
                gender=x.gender,
                party_member=x.party_member,
                region=x.region,
                unit_kind=x.to_unit_kind if x.direction == el.Direction.down else x.from_unit_kind,
            )
            for x in rows
        ]
        return {"batch_id": batch.id, "name": batch.name, **batch_stats(members, batch.starts_on, DIRECTIONS)}
