"""Reading secondments (one, or a page of those in scope) and the secondment archive's
reviews: an end-of-term "excellent" puts the cadre in the reserve pool."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.errors import Conflict, field_error
from cadrekit.pagination import by_id, decode_cursor, window
from cadrekit.scope import Scope
from services.secondment import events
from services.secondment.domain.lifecycle import State
from services.secondment.models import ReserveEntry, Review, Secondment, Vetting
from services.secondment.schemas import ReviewIn, ReviewPublic, ReviewRecorded, SecondmentPage, SecondmentPublic
from services.secondment.service.context import Context
from services.secondment.service.queries import load_secondment, secondment_read


async def get_secondment(ctx: Context, secondment_id: str) -> SecondmentPublic:
    async with ctx.uow() as uow:
        sec = await load_secondment(uow.session, secondment_id)
        return secondment_read(sec, await uow.session.get(Vetting, sec.id))


async def list_secondments(
    ctx: Context,
    scope: Scope,
    *,
    batch_id: str | None,
    cadre_id: str | None,
    state: str | None,
    direction: str | None,
    limit: int,
    cursor: str | None,
) -> SecondmentPage:
    async with ctx.uow() as uow:
        # A secondment concerns both units: the one that sends and the one that receives.
        stmt = select(Secondment).where(scope.clause(col(Secondment.from_unit_id), col(Secondment.to_unit_id)))
        if batch_id:
            stmt = stmt.where(col(Secondment.batch_id) == batch_id)
        if cadre_id:
            stmt = stmt.where(col(Secondment.cadre_id) == cadre_id)
        if state:
            stmt = stmt.where(col(Secondment.state) == state)
        if direction:
            stmt = stmt.where(col(Secondment.direction) == direction)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Secondment.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(Secondment.id)).limit(limit + 1))).scalars().all()
        items, next_cursor = window(rows, limit, by_id)
        return SecondmentPage(items=[secondment_read(x) for x in items], next_cursor=next_cursor)


# reviews -----------------------------------------------------------------------------------
async def record_review(ctx: Context, principal: Principal, secondment_id: str, body: ReviewIn) -> ReviewRecorded:
    """Routine and annual reviews while the secondment runs; the end-of-term review also once
    it has completed. An end-of-term "excellent" puts the cadre in the reserve pool (seed 004:
    挂职期满，业绩突出、考核优秀的，纳入后备干部库)."""
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        allowed = {State.active.value} | ({State.completed.value} if body.kind == "end_of_term" else set())
        if sec.state not in allowed:
            raise Conflict(
                f"a {body.kind} review needs a secondment that is {' or '.join(sorted(allowed))}; "
                f"this one is {sec.state}",
                state=sec.state,
                action="review",
            )
        assert sec.starts_on is not None
        if body.reviewed_on < sec.starts_on:
            raise field_error("reviewed_on", f"before the secondment started on {sec.starts_on.isoformat()}")
        if body.kind == "end_of_term":
            earlier = await s.execute(
                select(col(Review.id)).where(col(Review.secondment_id) == sec.id, col(Review.kind) == "end_of_term")
            )
            if earlier.first() is not None:
                raise Conflict(
                    "this secondment already has its end-of-term review",
                    errors=[{"field": "kind", "message": "one end_of_term review per secondment"}],
                )
        review = Review(
            secondment_id=sec.id,
            cadre_id=sec.cadre_id,
            kind=body.kind,
            rating=body.rating,
            reviewed_on=body.reviewed_on,
            comments=body.comments,
            recorded_by=principal.sub,
        )
        s.add(review)
        uow.record(events.review_recorded(review))
        entry = None
        if body.kind == "end_of_term" and body.rating == "excellent":
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
                    added_on=body.reviewed_on,
                )
                s.add(entry)
                uow.record(events.reserve_added(entry))
        await uow.commit()
        return ReviewRecorded.of(review, entry)


async def list_reviews(ctx: Context, secondment_id: str) -> list[ReviewPublic]:
    async with ctx.uow() as uow:
        await load_secondment(uow.session, secondment_id)
        rows = await uow.session.execute(
            select(Review).where(col(Review.secondment_id) == secondment_id).order_by(col(Review.created_at))
        )
        return [ReviewPublic.model_validate(v) for v in rows.scalars()]
