"""Excellence within quotas: unit ratings (which set a unit's excellence ratio), grants from
the city incentive pool, the quotas they make, and the excellence ratings proposed within
them and confirmed."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, field_error
from cadrekit.roster_mirror import await_references, get_unit, list_cadres
from cadrekit.scope import Scope
from services.scoring import events
from services.scoring.domain.impact import excellence_verdict
from services.scoring.domain.money import ZERO
from services.scoring.domain.quotas import (
    DEFAULT_EXCELLENCE_RATIOS,
    DEFAULT_UNIT_RATING,
    RESERVE_SOURCE,
    UNIT_SOURCE,
    Candidate,
    propose,
    unit_quota,
)
from services.scoring.models import AppraisalRow, Entry, QuotaGrant, Rating, Total, UnitRating, YearPolicy, mirror
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.schemas.excellence import (
    GrantIn,
    GrantPublic,
    ProposalsPublic,
    RatingPublic,
    UnitQuotaPublic,
    UnitRatingPublic,
)
from services.scoring.service.context import Context, check_year, unit_of_record
from services.scoring.service.queries import periods_of

CENTRAL_WORK = "central_work"


def ratios_of(row: YearPolicy | None) -> dict[str, Decimal]:
    """The year's excellence ratio by unit rating (the defaults where the year sets none)."""
    if row is None or not row.excellence_ratios:
        return dict(DEFAULT_EXCELLENCE_RATIOS)
    return {k: Decimal(v) for k, v in row.excellence_ratios.items()}


async def set_unit_rating(ctx: Context, principal: Principal, year: int, unit_id: str, rating: str) -> UnitRatingPublic:
    check_year(year)
    async with ctx.runtime.uow() as uow:
        s = uow.session
        ratios = ratios_of(await s.get(YearPolicy, year))
        if rating not in ratios:
            raise field_error("rating", f"one of {', '.join(ratios)} (the {year} excellence ratio table)")
        if await get_unit(s, mirror, unit_id) is None:
            raise NotFound(f"no unit {unit_id} is known to scoring")
        row = await s.get(UnitRating, (year, unit_id))
        if row is None:
            row = UnitRating(year=year, unit_id=unit_id, rating=rating, set_by=principal.sub)
            s.add(row)
        else:
            row.rating, row.set_by, row.set_at = rating, principal.sub, utcnow()
        await uow.commit()
    return UnitRatingPublic(year=year, unit_id=unit_id, rating=rating, ratio=ratios[rating])


async def granted_from_pool(s: AsyncSession, year: int, unit_id: str | None = None) -> int:
    stmt = select(func.coalesce(func.sum(QuotaGrant.count), 0)).where(col(QuotaGrant.year) == year)
    if unit_id is not None:
        stmt = stmt.where(col(QuotaGrant.unit_id) == unit_id)
    return int((await s.execute(stmt)).scalar_one())


async def grant_quota(ctx: Context, principal: Principal, year: int, body: GrantIn) -> GrantPublic:
    check_year(year)
    await await_references(ctx.runtime, mirror, units={"unit_id": body.unit_id})
    async with ctx.runtime.uow() as uow:
        s = uow.session
        # The policy row is the pool's lock: two grants at once cannot both take the last quota.
        row = (
            await s.execute(select(YearPolicy).where(col(YearPolicy.year) == year).with_for_update())
        ).scalar_one_or_none()
        pool = row.incentive_pool if row else 0
        if await get_unit(s, mirror, body.unit_id) is None:
            raise field_error("unit_id", f"no unit {body.unit_id} is known to scoring")
        granted = await granted_from_pool(s, year)
        if granted + body.count > pool:
            raise field_error(
                "count", f"the {year} incentive pool holds {pool}; {granted} granted, {pool - granted} left"
            )
        g = QuotaGrant(year=year, unit_id=body.unit_id, count=body.count, reason=body.reason, granted_by=principal.sub)
        s.add(g)
        await uow.commit()
        return GrantPublic(
            id=g.id,
            year=year,
            unit_id=g.unit_id,
            count=g.count,
            reason=g.reason,
            pool=pool,
            pool_left=pool - granted - g.count,
        )


async def unit_quotas(s: AsyncSession, year: int, unit_ids: set[str]) -> dict[str, UnitQuotaPublic]:
    ratios = ratios_of(await s.get(YearPolicy, year))
    c = mirror.cadres
    out: dict[str, UnitQuotaPublic] = {}
    for unit_id in sorted(unit_ids):
        rating_row = await s.get(UnitRating, (year, unit_id))
        rating = rating_row.rating if rating_row else DEFAULT_UNIT_RATING
        members = (await s.execute(select(c).where(c.c.unit_id == unit_id, c.c.status == "active"))).all()
        granted = await granted_from_pool(s, year, unit_id)
        out[unit_id] = UnitQuotaPublic(
            unit_id=unit_id,
            rating=rating,
            ratio=ratios.get(rating, ZERO),
            headcount=len(members),
            granted_from_pool=granted,
            quota=unit_quota(len(members), ratios.get(rating, ZERO), granted),
        )
    return out


async def _candidates(s: AsyncSession, scope: Scope, year: int, unit_id: str | None) -> list[Candidate]:
    cadres = scope.keep(await list_cadres(s, mirror, unit_id=unit_id), lambda c: c.unit_id)
    ids = [c.cadre_id for c in cadres]
    appraisals = {
        a.cadre_id: a.weighted
        for a in (
            await s.execute(
                select(AppraisalRow).where(col(AppraisalRow.year) == year, col(AppraisalRow.cadre_id).in_(ids))
            )
        ).scalars()
    }
    totals = {
        t.cadre_id: t.total
        for t in (await s.execute(select(Total).where(col(Total.year) == year, col(Total.cadre_id).in_(ids)))).scalars()
    }
    central = set(
        (
            await s.execute(
                select(col(Entry.cadre_id)).where(
                    col(Entry.year) == year,
                    col(Entry.status) == "approved",
                    col(Entry.kind) == "award",
                    col(Entry.reversed_by_id).is_(None),
                    col(Entry.rule_code).in_(await _central_rule_codes(s, year)),
                )
            )
        ).scalars()
    )
    out = []
    for c in cadres:
        verdict = excellence_verdict(await periods_of(s, c.cadre_id), year)
        out.append(
            Candidate(
                c.cadre_id,
                c.unit_id,
                appraisals.get(c.cadre_id),
                totals.get(c.cadre_id, ZERO),
                verdict.reasons,
                c.leadership_status == "second_line" and c.cadre_id in central,
            )
        )
    return out


async def _central_rule_codes(s: AsyncSession, year: int) -> list[str]:
    rows = (await s.execute(select(CatalogueRow).where(col(CatalogueRow.year) == year))).scalars()
    return sorted({r["code"] for row in rows for r in row.rules if r["category"] == CENTRAL_WORK})


async def _confirmed(s: AsyncSession, year: int) -> list[Rating]:
    stmt = select(Rating).where(col(Rating.year) == year, col(Rating.status) == "confirmed")
    return list((await s.execute(stmt)).scalars())


async def propose_ratings(
    ctx: Context, principal: Principal, scope: Scope, year: int, unit_id: str | None
) -> ProposalsPublic:
    """Replace the year's unconfirmed proposals (for a unit's subtree, or all in scope) with
    new ones. Quotas are shown for the units in scope; the second-line reserve is the
    city's, so what other units already confirmed from it counts too."""
    check_year(year)
    async with ctx.runtime.uow() as uow:
        s = uow.session
        if unit_id is not None and await get_unit(s, mirror, unit_id) is None:
            raise field_error("unit_id", f"no unit {unit_id} is known to scoring")
        candidates = await _candidates(s, scope, year, unit_id)
        confirmed = await _confirmed(s, year)
        done = {r.cadre_id for r in confirmed}
        candidates = [c for c in candidates if c.cadre_id not in done]
        quota_units = {c.unit_id for c in candidates} | {r.unit_id for r in scope.keep(confirmed, lambda r: r.unit_id)}
        quotas = await unit_quotas(s, year, quota_units)
        used = _used(confirmed)
        policy_row = await s.get(YearPolicy, year)
        reserve_left = (policy_row.second_line_reserved if policy_row else 0) - used.get(RESERVE_SOURCE, 0)
        proposals, passed = propose(
            candidates, {u: q.quota for u, q in quotas.items()}, max(reserve_left, 0), used=used
        )
        ids = [c.cadre_id for c in candidates]
        await s.execute(
            delete(Rating).where(
                col(Rating.year) == year, col(Rating.status) == "proposed", col(Rating.cadre_id).in_(ids)
            )
        )
        rows = [
            Rating(cadre_id=p.cadre_id, year=year, unit_id=p.unit_id, source=p.source, proposed_by=principal.sub)
            for p in proposals
        ]
        s.add_all(rows)
        await uow.commit()
    return ProposalsPublic(
        year=year,
        quotas=list(quotas.values()),
        second_line_reserve_left=max(reserve_left, 0) - sum(1 for p in proposals if p.source == RESERVE_SOURCE),
        proposed=[RatingPublic.model_validate(r) for r in rows],
        not_proposed=passed,
    )


def _used(confirmed: list[Rating]) -> dict[str, int]:
    used: dict[str, int] = {}
    for r in confirmed:
        key = RESERVE_SOURCE if r.source == RESERVE_SOURCE else r.unit_id
        used[key] = used.get(key, 0) + 1
    return used


async def confirm_rating(ctx: Context, principal: Principal, year: int, cadre_id: str) -> RatingPublic:
    """Confirm a proposal, re-checking its quota and the cadre's impact periods now: both
    may have changed since the proposal."""
    check_year(year)
    async with ctx.runtime.uow() as uow:
        s = uow.session
        policy_row = (
            await s.execute(select(YearPolicy).where(col(YearPolicy.year) == year).with_for_update())
        ).scalar_one_or_none()
        r = await s.get(Rating, (cadre_id, year))
        if r is None:
            raise NotFound(f"no {year} rating is proposed for cadre {cadre_id}")
        if r.status == "confirmed":
            raise Conflict(f"the {year} rating of cadre {cadre_id} is already confirmed", state="confirmed")
        verdict = excellence_verdict(await periods_of(s, cadre_id), year)
        if not verdict.eligible:
            raise Conflict("refused: " + "; ".join(verdict.reasons), reasons=verdict.reasons)
        used = _used(await _confirmed(s, year))
        if r.source == UNIT_SOURCE:
            quota = (await unit_quotas(s, year, {r.unit_id}))[r.unit_id].quota
            if used.get(r.unit_id, 0) >= quota:
                raise Conflict(f"refused: unit {r.unit_id} has used its excellence quota of {quota}", quota=quota)
        else:
            reserve = policy_row.second_line_reserved if policy_row else 0
            if used.get(RESERVE_SOURCE, 0) >= reserve:
                raise Conflict(f"refused: the second-line reserve of {reserve} is used up", quota=reserve)
        r.status, r.confirmed_by, r.confirmed_at = "confirmed", principal.sub, utcnow()
        uow.record(events.rating_confirmed(r))
        await uow.commit()
        return RatingPublic.model_validate(r)


async def list_ratings(ctx: Context, scope: Scope, year: int, status: str | None) -> list[RatingPublic]:
    stmt = (
        select(Rating)
        .where(col(Rating.year) == year, scope.clause(unit_of_record(col(Rating.cadre_id), col(Rating.unit_id))))
        .order_by(col(Rating.unit_id), col(Rating.cadre_id))
    )
    if status:
        stmt = stmt.where(col(Rating.status) == status)
    async with ctx.runtime.sessions() as s:
        return [RatingPublic.model_validate(r) for r in (await s.execute(stmt)).scalars()]
