"""Campaigns: their settings and life cycle, their posts, the rankings entered by the office
and the balance table (the pool itself is in pool.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, Invalid, NotFound, StaleVersion, field_error
from cadrekit.pagination import by_id, decode_cursor, window
from cadrekit.roster_mirror import await_references, get_unit
from cadrekit.scope import Scope
from services.matching import events
from services.matching.domain import balance
from services.matching.domain.fit import FitWeights
from services.matching.domain.growth import GrowthWeights
from services.matching.models import Campaign, PoolMember, Post, mirror
from services.matching.schemas.campaigns import (
    BalanceRow,
    BalanceTable,
    CadrePreference,
    CadrePreferencePublic,
    CampaignCreate,
    CampaignPage,
    CampaignPublic,
    CampaignUpdate,
    FlagPublic,
    GrowthWeightsIn,
    PostCreate,
    PostPreference,
    PostPreferencePublic,
    PostPublic,
    PreferenceWarning,
    ShortlistRow,
    WeightsIn,
)
from services.matching.service.context import Context
from services.matching.service.queries import (
    campaign_of,
    evaluate_pool,
    load_problem,
    members_of,
    posts_of,
    units_of_cadres,
)


def fit_weights(w: WeightsIn | None) -> dict[str, Any]:
    """The campaign's weights column: the given weights, the defaults for what is omitted."""
    if w is None:
        return FitWeights().as_dict()
    return FitWeights(
        continuity=w.continuity,
        wish=w.wish,
        post_fit=w.post_fit,
        age_care=w.age_care,
        points=w.points,
        growth=w.growth,
        points_scale=w.points_scale,
        age_care_years=w.age_care_years,
    ).as_dict()


def growth_weights(g: GrowthWeightsIn | None) -> dict[str, Any]:
    if g is None:
        return GrowthWeights().as_dict()
    roles = {"tutor": g.roles.tutor, "host_unit": g.roles.host_unit, "public": g.roles.public}
    return GrowthWeights(g.performance, g.adaptation, roles).as_dict()


def require_status(c: Campaign, allowed: Sequence[str], action: str) -> None:
    if c.status not in allowed:
        raise Conflict(
            f"the campaign is {c.status}: {action} needs it {' or '.join(allowed)}", campaign_status=c.status
        )


async def claim(s: AsyncSession, c: Campaign, old_version: int, **values: Any) -> None:
    """Compare-and-set on the campaign's version: of concurrent writers, one wins."""
    result = cast(
        CursorResult[Any],
        await s.execute(
            update(Campaign)
            .where(col(Campaign.id) == c.id, col(Campaign.version) == old_version)
            .values(version=old_version + 1, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise StaleVersion("the campaign was changed concurrently; fetch it again")
    c.version = old_version + 1
    for k, v in values.items():
        setattr(c, k, v)


async def create_campaign(ctx: Context, principal: Principal, body: CampaignCreate) -> Campaign:
    async with ctx.uow() as uow:
        c = Campaign(
            name=body.name,
            kind=body.kind,
            year=body.year,
            ratio=body.ratio,
            weights=fit_weights(body.weights),
            tutor_capacity=body.tutor_capacity,
            growth_weights=growth_weights(body.growth_weights),
            starts_on=body.starts_on,
            created_by=principal.sub,
        )
        uow.session.add(c)
        await uow.commit()
        return c


async def get_campaign(ctx: Context, campaign_id: str) -> Campaign:
    async with ctx.uow() as uow:
        return await campaign_of(uow.session, campaign_id)


async def list_campaigns(
    ctx: Context, *, year: int | None, status: str | None, limit: int, cursor: str | None
) -> CampaignPage:
    async with ctx.uow() as uow:
        stmt = select(Campaign).order_by(col(Campaign.id))
        if year is not None:
            stmt = stmt.where(col(Campaign.year) == year)
        if status is not None:
            stmt = stmt.where(col(Campaign.status) == status)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Campaign.id) > after[0])
        rows, next_cursor = window(list((await uow.session.execute(stmt.limit(limit + 1))).scalars()), limit, by_id)
        return CampaignPage(items=[CampaignPublic.model_validate(c) for c in rows], next_cursor=next_cursor)


async def update_campaign(
    ctx: Context, principal: Principal, campaign_id: str, if_match: int, body: CampaignUpdate
) -> Campaign:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        # The start date may still be set on a matched campaign: confirmation asks for it.
        only_start = body.starts_on is not None and body.name is None and body.ratio is None and body.weights is None
        require_status(c, ("draft", "open", "matched") if only_start else ("draft", "open"), "changing it")
        if c.version != if_match:
            raise StaleVersion(f"the campaign is at version {c.version}, not {if_match}", current_version=c.version)
        values: dict[str, Any] = {}
        if body.name is not None:
            values["name"] = body.name
        if body.ratio is not None:
            values["ratio"] = body.ratio
        if body.weights is not None:
            values["weights"] = fit_weights(body.weights)
        if body.starts_on is not None:
            values["starts_on"] = body.starts_on
        if values:
            await claim(s, c, c.version, **values)
            await uow.commit()
        return c


async def open_campaign(ctx: Context, principal: Principal, campaign_id: str) -> Campaign:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        require_status(c, ("draft",), "opening it")
        posts = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(Post.seats), 0)).where(col(Post.campaign_id) == c.id)
            )
        ).one()
        if posts[0] == 0:
            raise Conflict("add at least one post before opening the campaign")
        await claim(s, c, c.version, status="open")
        uow.record(events.campaign_opened(c, int(posts[0]), int(posts[1])))
        await uow.commit()
        return c


# posts --------------------------------------------------------------------------------------
async def add_post(ctx: Context, principal: Principal, campaign_id: str, body: PostCreate) -> Post:
    await await_references(ctx.runtime, mirror, units={"host_unit_id": body.host_unit_id})
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        require_status(c, ("draft", "open"), "adding posts")
        if await get_unit(s, mirror, body.host_unit_id) is None:
            raise field_error("host_unit_id", "unknown unit (not in the roster)")
        p = Post(
            campaign_id=c.id,
            title=body.title,
            host_unit_id=body.host_unit_id,
            category=body.category,
            kind=body.kind,
            seats=body.seats,
            term_months=body.term_months,
            starts_on=body.starts_on,
            required_strengths=list(body.required_strengths),
            professional_field=body.professional_field,
        )
        s.add(p)
        await uow.commit()
        return p


async def list_posts(ctx: Context, campaign_id: str, scope: Scope) -> list[PostPublic]:
    """Every post (the city's offer); a post's own ranking names cadres, so it keeps those
    in scope."""
    async with ctx.uow() as uow:
        s = uow.session
        await campaign_of(s, campaign_id)
        posts = await posts_of(s, campaign_id)
        unit_of = await units_of_cadres(s, {cid for p in posts for cid in p.ranking})
        return [
            PostPublic.model_validate(p).model_copy(update={"ranking": scope.keep(p.ranking, unit_of.get)})
            for p in posts
        ]


# preferences ----------------------------------------------------------------------------------
def _check_list(field: str, values: Sequence[str], known: set[str], what: str) -> None:
    errors = []
    seen: set[str] = set()
    for n, v in enumerate(values):
        if v in seen:
            errors.append({"field": f"{field}[{n}]", "message": "listed twice"})
        elif v not in known:
            errors.append({"field": f"{field}[{n}]", "message": f"unknown {what} in this campaign"})
        seen.add(v)
    if errors:
        raise Invalid(f"the ranking has {len(errors)} invalid entries", errors=errors)


async def set_cadre_preference(
    ctx: Context, principal: Principal, campaign_id: str, cadre_id: str, body: CadrePreference
) -> CadrePreferencePublic:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)
        require_status(c, ("draft", "open"), "entering preferences")
        mb = await s.get(PoolMember, (c.id, cadre_id))
        if mb is None:
            raise NotFound(f"cadre {cadre_id} is not in this campaign's pool")
        _check_list("posts", body.posts, {p.id for p in await posts_of(s, c.id)}, "post")
        mb.ranking = list(body.posts)
        warnings = await _excluded_warnings(s, c, [cadre_id])
        await claim(s, c, c.version)
        await uow.commit()
        return CadrePreferencePublic(cadre_id=cadre_id, posts=mb.ranking, warnings=warnings)


async def set_post_preference(
    ctx: Context, principal: Principal, campaign_id: str, post_id: str, body: PostPreference
) -> PostPreferencePublic:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)
        require_status(c, ("draft", "open"), "entering preferences")
        p = await s.get(Post, post_id)
        if p is None or p.campaign_id != c.id:
            raise NotFound(f"post {post_id} is not in this campaign")
        known = {mb.cadre_id for mb in await members_of(s, c.id)}
        _check_list("cadres", body.cadres, known, "cadre (not in the pool)")
        p.ranking = list(body.cadres)
        warnings = await _excluded_warnings(s, c, p.ranking)
        await claim(s, c, c.version)
        await uow.commit()
        return PostPreferencePublic.model_validate({**PostPublic.model_validate(p).model_dump(), "warnings": warnings})


async def _excluded_warnings(s: AsyncSession, c: Campaign, cadre_ids: list[str]) -> list[PreferenceWarning]:
    """A preference about a cadre the pool excludes now (retiring this year, seconded, …) is
    kept, since the exclusion may lift before the run, but the answer says so (issue 17: such
    wishes were accepted with no word)."""
    wanted = set(cadre_ids)
    out = []
    for mb, why in (await evaluate_pool(s, c)).excluded:
        if mb.cadre_id in wanted:
            out.append(
                PreferenceWarning(
                    cadre_id=mb.cadre_id,
                    reason=why.reason,
                    message=f"{mb.name} is excluded from the pool ({why.reason}: {why.detail});"
                    " the preference is kept but counts only if the cadre is back in the pool at the run",
                    message_zh=f"{mb.name}当前不在可选范围内（{why.detail}），偏好已保存，仅在运行匹配时重回可选范围才生效",
                )
            )
    return sorted(out, key=lambda w: cadre_ids.index(w.cadre_id))


# balance table ----------------------------------------------------------------------------------
async def balance_table(ctx: Context, campaign_id: str, scope: Scope) -> BalanceTable:
    """Every post with its seats, applicants and flags, computed over the whole pool; the
    shortlists keep the cadres in scope, with the ranks they hold in the whole pool."""
    async with ctx.uow() as uow:
        c = await campaign_of(uow.session, campaign_id)
        loaded = await load_problem(uow.session, c)
    unit_of = {cd.cadre_id: cd.facts.unit_id for cd in loaded.problem.cadres}

    def build() -> list[BalanceRow]:
        out = []
        candidates = loaded.problem.candidates_of_post()
        for j, p in enumerate(loaded.posts):
            rows, flags = balance.shortlist(loaded.problem, j, c.ratio)
            rows = scope.keep(rows, lambda r: unit_of.get(str(r["cadre_id"])))
            out.append(
                BalanceRow(
                    post_id=p.id,
                    title=p.title,
                    category=p.category,
                    kind=p.kind,
                    seats=p.seats,
                    applicants=len(candidates[j]),
                    shortlist=[ShortlistRow.model_validate(r) for r in rows],
                    flags=[FlagPublic(code=f.code, message=f.message) for f in flags],
                )
            )
        return out

    return BalanceTable(campaign_id=c.id, ratio=c.ratio, posts=await asyncio.to_thread(build))
