"""Batches: creating and reading them, their pairs (a city organ and a town or village that
send each other one cadre), approval (vetting complete, pairs whole, quotas met) and the
batch's statistics. Each use case opens a unit of work, applies the domain rules, records the
events it causes and commits."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cadrekit import roster_mirror as rm
from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, Invalid, field_error
from cadrekit.pagination import by_id, decode_cursor, window
from services.secondment import events
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import Action, State
from services.secondment.domain.quotas import QuotaError, check_rules, unmet
from services.secondment.domain.stats import Member, batch_stats
from services.secondment.domain.terms import GRASSROOTS_KINDS, TermError, check_term_months
from services.secondment.models import Batch, Pair, Secondment, mirror
from services.secondment.schemas import (
    BatchApproved,
    BatchCreate,
    BatchPage,
    BatchPublic,
    BatchStats,
    GroupStats,
    PairCreate,
    PairPublic,
)
from services.secondment.service.context import Context
from services.secondment.service.queries import (
    DIRECTIONS,
    batch_members,
    load_batch,
    mirrored_unit,
    quota_problem,
    quota_rules_of,
    require_open,
    top_share,
)
from services.secondment.service.transitions import claim


async def create_batch(ctx: Context, principal: Principal, body: BatchCreate) -> BatchPublic:
    try:
        check_term_months(body.term_months)
    except TermError as exc:
        raise field_error(exc.field, exc.message) from None
    top_share(body.performance_top_share)
    quota_rules = [rule.model_dump() for rule in body.quota_rules]  # the JSON column's shape
    try:
        check_rules(quota_rules_of(quota_rules))
    except QuotaError as exc:
        raise quota_problem(exc) from None
    async with ctx.uow() as uow:
        batch = Batch(
            name=body.name,
            year=body.year,
            starts_on=body.starts_on,
            term_months=body.term_months,
            allow_unpaired=body.allow_unpaired,
            needed_specialties=list(body.needed_specialties),
            performance_top_share=body.performance_top_share,
            performance_year=body.performance_year,
            quota_rules=quota_rules,
            created_by=principal.sub,
        )
        uow.session.add(batch)
        await uow.commit()
        return BatchPublic.model_validate(batch)


async def get_batch(ctx: Context, batch_id: str) -> BatchPublic:
    async with ctx.uow() as uow:
        return BatchPublic.model_validate(await load_batch(uow.session, batch_id))


async def list_batches(ctx: Context, *, year: int | None, limit: int, cursor: str | None) -> BatchPage:
    async with ctx.uow() as uow:
        stmt = select(Batch)
        if year is not None:
            stmt = stmt.where(col(Batch.year) == year)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Batch.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(Batch.id)).limit(limit + 1))).scalars().all()
        items, next_cursor = window(rows, limit, by_id)
        return BatchPage(items=[BatchPublic.model_validate(b) for b in items], next_cursor=next_cursor)


# pairs -------------------------------------------------------------------------------------
async def create_pair(ctx: Context, batch_id: str, body: PairCreate) -> PairPublic:
    await rm.await_references(
        ctx.runtime, mirror, units={"city_organ_id": body.city_organ_id, "grassroots_unit_id": body.grassroots_unit_id}
    )
    async with ctx.uow() as uow:
        s = uow.session
        batch = await load_batch(s, batch_id)
        require_open(batch)
        organ = await mirrored_unit(s, body.city_organ_id, "city_organ_id")
        grassroots = await mirrored_unit(s, body.grassroots_unit_id, "grassroots_unit_id")
        errors = []
        if organ.kind != "city_organ":
            errors.append({"field": "city_organ_id", "message": f"{organ.name} is a {organ.kind}, not a city_organ"})
        if grassroots.kind not in GRASSROOTS_KINDS:
            errors.append(
                {
                    "field": "grassroots_unit_id",
                    "message": f"{grassroots.name} is a {grassroots.kind}: a pair binds a city organ and a town or village",
                }
            )
        if errors:
            raise Invalid("a pair binds a city organ and a grassroots unit", errors=errors)
        pair = Pair(
            batch_id=batch.id,
            city_organ_id=organ.unit_id,
            city_organ_name=organ.name,
            grassroots_unit_id=grassroots.unit_id,
            grassroots_unit_name=grassroots.name,
            grassroots_unit_kind=grassroots.kind,
            region=grassroots.region,
        )
        s.add(pair)
        try:
            await uow.commit()
        except IntegrityError:
            raise Conflict(
                "this batch already pairs these two units",
                errors=[{"field": "grassroots_unit_id", "message": "paired"}],
            ) from None
        return PairPublic.model_validate(pair)


async def list_pairs(ctx: Context, batch_id: str) -> list[PairPublic]:
    async with ctx.uow() as uow:
        await load_batch(uow.session, batch_id)
        rows = await uow.session.execute(
            select(Pair).where(col(Pair.batch_id) == batch_id).order_by(col(Pair.created_at), col(Pair.id))
        )
        return [PairPublic.model_validate(p) for p in rows.scalars()]


# approval ----------------------------------------------------------------------------------
async def approve_batch(ctx: Context, principal: Principal, batch_id: str) -> BatchApproved:
    async with ctx.uow() as uow:
        s = uow.session
        batch = await load_batch(s, batch_id)
        if batch.state != "open":
            raise Conflict(f"batch {batch.id} is already {batch.state}", state=batch.state, action="approve")
        rows = (
            (
                await s.execute(
                    select(Secondment)
                    .where(
                        col(Secondment.batch_id) == batch.id,
                        col(Secondment.state).in_([State.nominated.value, State.vetted.value]),
                    )
                    .order_by(col(Secondment.id))
                )
            )
            .scalars()
            .all()
        )
        unvetted = [x for x in rows if x.state == State.nominated]
        if unvetted:
            raise Conflict(
                f"{len(unvetted)} nominee(s) not yet vetted: no approval without complete vetting",
                state="nominated",
                unvetted=[
                    {"secondment_id": x.id, "cadre_id": x.cadre_id, "cadre_name": x.cadre_name} for x in unvetted
                ],
            )
        if not rows:
            raise Conflict("this batch has no vetted nominee to approve")
        if not batch.allow_unpaired:
            sides: dict[str, set[str]] = {}
            for x in rows:
                if x.pair_id:
                    sides.setdefault(x.pair_id, set()).add(x.direction)
            half = sorted(p for p, d in sides.items() if len(d) < 2)
            if half:
                raise Conflict(
                    f"{len(half)} pair(s) send only one way; this batch places cadres in pairs",
                    incomplete_pairs=half,
                )
        shortfalls = unmet(quota_rules_of(batch.quota_rules), [(el.Direction(x.direction), x.region) for x in rows])
        if shortfalls:
            raise Conflict(
                "; ".join(f.message() for f in shortfalls),
                unmet_rules=[
                    {
                        "rule": f"quota_rules[{f.index}]",
                        "description": f.rule,
                        "direction": f.direction,
                        "regions": f.regions,
                        "count": f.count,
                        "of": f.of,
                        "bound": f.bound,
                        "required": f.required,
                    }
                    for f in shortfalls
                ],
            )
        claimed = cast(
            CursorResult[Any],
            await s.execute(
                update(Batch)
                .where(col(Batch.id) == batch.id, col(Batch.version) == batch.version, col(Batch.state) == "open")
                .values(version=batch.version + 1, state="approved", approved_by=principal.sub, approved_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            raise Conflict("the batch was approved or changed concurrently; fetch it again", state="approved")
        for x in rows:
            await claim(s, x, Action.approve)
            uow.record(events.approved(x, batch))
        await uow.commit()
        await s.refresh(batch)
        return BatchApproved.of(batch, approved=len(rows))


# statistics --------------------------------------------------------------------------------
async def stats(ctx: Context, batch_id: str) -> BatchStats:
    """Over the batch's secondments that were not withdrawn."""
    async with ctx.uow() as uow:
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
        figures = batch_stats(members, batch.starts_on, DIRECTIONS)
        return BatchStats(
            batch_id=batch.id,
            name=batch.name,
            age_on=batch.starts_on,
            total=GroupStats.model_validate(figures["total"]),
            by_direction={d: GroupStats.model_validate(g) for d, g in figures["by_direction"].items()},
        )
