"""After a run: an officer's overrides of single placements (with their history) and the
confirmation that fixes a run's result as placements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.dates import term_end
from cadrekit.errors import Conflict, field_error
from cadrekit.roster_mirror import get_cadres, get_units
from cadrekit.scope import Scope
from services.matching import events
from services.matching.domain.fit import CadreFacts, PostFacts
from services.matching.domain.problem import CandidateIn, PostIn, Problem
from services.matching.models import Campaign, Placement, PoolMember, Post, Run, RunOverride, RunResult, mirror
from services.matching.schemas.campaigns import CampaignPublic
from services.matching.schemas.runs import ConfirmPublic, ConfirmRequest, OverrideCreate
from services.matching.service.campaigns import claim, require_status
from services.matching.service.context import Context
from services.matching.service.queries import campaign_of, evaluate_pool, growth_of, posts_of, run_of, weights_of


@dataclass(frozen=True)
class PairFit:
    fit: str | None = None
    breakdown: dict[str, Any] | None = None
    cadre_rank: int | None = None


async def override(
    ctx: Context, principal: Principal, campaign_id: str, run_id: str, body: OverrideCreate
) -> RunResult:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        require_status(c, ("open", "matched"), "an override")
        run = await run_of(s, c, run_id, lock=True)  # overrides of one run go one at a time
        if run.status != "succeeded":
            raise Conflict(f"the run is {run.status}; only a completed run can be overridden")
        row = await s.get(RunResult, (run_id, body.cadre_id))
        if row is None:
            raise field_error("cadre_id", "not in this run")
        if row.reason == "excluded":
            raise Conflict(f"the cadre is excluded from this campaign ({row.detail})")
        target = body.post_id
        if target == row.post_id:
            raise field_error("post_id", "the cadre is already on this post")
        fit = PairFit()
        if target is not None:
            post = await s.get(Post, target)
            if post is None or post.campaign_id != c.id:
                raise field_error("post_id", "unknown post in this campaign")
            taken = (
                await s.execute(
                    select(func.count()).where(col(RunResult.run_id) == run_id, col(RunResult.post_id) == target)
                )
            ).scalar_one()
            if taken >= post.seats:
                raise Conflict(f"post {post.title} is full ({post.seats} seats); move someone off it first")
            fit = await _pair_fit(s, c, body.cadre_id, target)
        s.add(
            RunOverride(
                run_id=run_id,
                cadre_id=row.cadre_id,
                from_post_id=row.post_id,
                to_post_id=target,
                reason=body.reason,
                actor=principal.sub,
            )
        )
        row.post_id = target
        row.fit, row.breakdown, row.cadre_rank = fit.fit, fit.breakdown, fit.cadre_rank
        row.post_rank = None
        row.reason, row.detail, row.overridden = "overridden", f"by {principal.sub}: {body.reason}", True
        await uow.commit()
        return row


async def _pair_fit(s: AsyncSession, c: Campaign, cadre_id: str, post_id: str) -> PairFit:
    """The fit of one pair, for an override (the cadre alone against every post)."""
    posts = await posts_of(s, c.id)
    cadre = (await get_cadres(s, mirror, [cadre_id]))[cadre_id]
    mb = await s.get(PoolMember, (c.id, cadre_id))
    units = await get_units(s, mirror, [cadre.unit_id, *[p.host_unit_id for p in posts]])
    points = await events.points_of(s, [cadre_id], c.year)
    cand = CandidateIn(
        cadre_id,
        cadre.name,
        CadreFacts(
            cadre.unit_id,
            units[cadre.unit_id].region if cadre.unit_id in units else None,
            cadre.professional_field,
            frozenset(cadre.strengths),
            cadre.retirement_date,
            points.get(cadre_id, Decimal("0")),
            (await growth_of(s, c.id)).get(cadre_id),
        ),
        tuple(mb.ranking) if mb and mb.ranking is not None else None,
        tuple(cadre.post_wishes),
    )
    post_in = [
        PostIn(
            p.id,
            p.title,
            PostFacts(
                p.host_unit_id,
                units[p.host_unit_id].region if p.host_unit_id in units else None,
                p.category,
                p.kind,
                frozenset(p.required_strengths),
                p.professional_field,
            ),
            p.seats,
        )
        for p in posts
    ]
    pr = Problem([cand], post_in, weights_of(c), dt.date(c.year, 1, 1))
    j = pr.post_index[post_id]
    f = pr.explain_fit(0, j)
    return PairFit(str(f.total), f.breakdown, pr.cadre_rank(0, j))


async def list_overrides(ctx: Context, campaign_id: str, run_id: str, scope: Scope) -> list[RunOverride]:
    """An override moves a cadre between posts: in scope when the cadre's unit or the host
    unit of either post is."""
    async with ctx.uow() as uow:
        c = await campaign_of(uow.session, campaign_id)
        await run_of(uow.session, c, run_id)
        cadre, source, target = mirror.cadres, aliased(Post), aliased(Post)
        stmt = (
            select(RunOverride)
            .outerjoin(cadre, cadre.c.cadre_id == RunOverride.cadre_id)
            .outerjoin(source, col(source.id) == RunOverride.from_post_id)
            .outerjoin(target, col(target.id) == RunOverride.to_post_id)
            .where(
                col(RunOverride.run_id) == run_id,
                scope.clause(cadre.c.unit_id, col(source.host_unit_id), col(target.host_unit_id)),
            )
            .order_by(col(RunOverride.id))
        )
        return list((await uow.session.execute(stmt)).scalars())


async def confirm(ctx: Context, principal: Principal, campaign_id: str, body: ConfirmRequest) -> ConfirmPublic:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)
        if c.status == "confirmed":
            raise Conflict(f"the campaign was already confirmed with run {c.confirmed_run_id}")
        require_status(c, ("open", "matched"), "confirming")
        if body.run_id is None:
            stmt = (
                select(Run)
                .where(col(Run.campaign_id) == c.id, col(Run.status) == "succeeded", col(Run.what_if).is_(False))
                .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            )
            run = (await s.execute(stmt.limit(1))).scalar_one_or_none()
            if run is None:
                raise Conflict("there is no completed run to confirm; start one or name a what-if run")
        else:
            run = await run_of(s, c, body.run_id)
            if run.status != "succeeded":
                raise Conflict(f"the run is {run.status}; only a completed run can be confirmed")
        placed = list(
            (
                await s.execute(
                    select(RunResult).where(col(RunResult.run_id) == run.id, col(RunResult.post_id).is_not(None))
                )
            ).scalars()
        )
        # Someone seconded or placed elsewhere since the run, or taken out of the pool, must
        # not be confirmed blindly.
        state = await evaluate_pool(s, c)
        now_out = {mb.cadre_id: f"{why.reason}: {why.detail}" for mb, why in state.excluded}
        eligible = {mb.cadre_id for mb, _ in state.eligible}
        stale = [r for r in placed if r.cadre_id not in eligible]
        if stale:
            raise Conflict(
                "some placed cadres cannot be placed now; override them or start a new run",
                errors=[
                    {
                        "field": "cadre_id",
                        "cadre_id": r.cadre_id,
                        "message": now_out.get(r.cadre_id, "no longer in the campaign's pool"),
                    }
                    for r in stale
                ],
            )
        posts = {p.id: p for p in await posts_of(s, c.id)}
        undated = sorted({posts[r.post_id].title for r in placed if posts[r.post_id].starts_on is None})  # type: ignore[index]
        if undated and c.starts_on is None:
            raise Conflict(
                "the campaign has no start date: set starts_on on the campaign (PATCH) or on the posts,"
                " so that placements take effect on a business date, not on the day of confirmation",
                detail_zh="本次选配未设开始日期：请为选配（PATCH）或岗位设置 starts_on，任职自该日起生效，而非确认之日",
                errors=[
                    {
                        "field": "starts_on",
                        "message": f"needed for {len(undated)} post(s) without their own start: {', '.join(undated[:5])}",
                        "message_zh": f"{len(undated)}个岗位未设开始日期：{'、'.join(undated[:5])}",
                    }
                ],
            )
        await claim(s, c, c.version, status="confirmed", confirmed_run_id=run.id)
        for r in placed:
            post = posts[r.post_id]  # type: ignore[index]
            starts = post.starts_on or c.starts_on
            assert starts is not None  # refused above
            ends = term_end(starts, post.term_months) if post.term_months else None
            placement = Placement(
                campaign_id=c.id,
                cadre_id=r.cadre_id,
                post_id=post.id,
                run_id=run.id,
                year=c.year,
                post_kind=post.kind,
                starts_on=starts,
                ends_on=ends,
                confirmed_by=principal.sub,
            )
            s.add(placement)
            uow.record(events.placement_confirmed(placement, post))
        await uow.commit()
        return ConfirmPublic(campaign=CampaignPublic.model_validate(c), run_id=run.id, placements=len(placed))
