"""Two completed runs of a campaign side by side, before one is confirmed: the rule is
``domain.comparison.compare``; this loads both runs' result lines and the quotas' groups of
posts, and keeps to the caller's units what names a cadre."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.errors import Conflict, field_error
from cadrekit.roster_mirror import MirroredUnit, get_units
from cadrekit.scope import Scope
from services.matching.domain.comparison import Comparison, Group, Line, Move, compare
from services.matching.domain.quotas import in_group
from services.matching.models import Post, Run, RunResult, mirror
from services.matching.schemas.runs import (
    MovedCadre,
    PostHolders,
    QuotaBounds,
    QuotaComparison,
    RunComparison,
)
from services.matching.service.context import Context
from services.matching.service.queries import campaign_of, posts_of, run_of, units_of_cadres


async def compare_runs(
    ctx: Context, principal: Principal, campaign_id: str, run_id: str, other_run_id: str, scope: Scope
) -> RunComparison:
    """What confirming ``other_run_id`` instead of ``run_id`` would change. A moved cadre is
    shown when the cadre's unit or the host unit of either post is in scope, a post's holder
    when the holder's unit or the post's host unit is (as results and overrides are); the
    posts, the total fit and the quota counts stay whole, as a run's summary does."""
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        a = await run_of(s, c, run_id)
        b = await run_of(s, c, other_run_id)
        if a.id == b.id:
            raise field_error("other_run_id", "the same run as run_id; name another run of the campaign")
        for run in (a, b):
            if run.status != "succeeded":
                raise Conflict(f"run {run.id} is {run.status}; only completed runs can be compared")
        posts = await posts_of(s, c.id)
        units = await get_units(s, mirror, sorted({p.host_unit_id for p in posts}))
        bounds = {run.id: _bounds(run) for run in (a, b)}
        quotas = {**bounds[a.id], **bounds[b.id]}  # a's order first, then those only b set
        groups = [Group(name, _members(posts, units, q["dimension"], q["value"])) for name, q in quotas.items()]
        result = compare(await _lines(s, a.id), await _lines(s, b.id), groups)
        host = {p.id: p.host_unit_id for p in posts}
        named = {m.cadre_id for m in result.moves} | {x for h in result.holders for x in (*h.a, *h.b)}
        unit_of = {} if scope.whole_tree else await units_of_cadres(s, named)
        return RunComparison(
            campaign_id=c.id,
            run_id=a.id,
            other_run_id=b.id,
            total_fit_before=str(result.total_fit_a),
            total_fit_after=str(result.total_fit_b),
            total_fit_difference=str(result.total_fit_difference),
            moved=[_moved(m) for m in _moves_in_scope(result, scope, unit_of, host)],
            posts=_posts_in_scope(result, posts, scope, unit_of),
            quotas=[
                QuotaComparison(
                    quota=g.name,
                    dimension=quotas[g.name]["dimension"],
                    value=quotas[g.name]["value"],
                    placed_before=g.a,
                    placed_after=g.b,
                    difference=g.difference,
                    bounds_before=_bound(bounds[a.id].get(g.name)),
                    bounds_after=_bound(bounds[b.id].get(g.name)),
                )
                for g in result.groups
            ],
        )


async def _lines(s: AsyncSession, run_id: str) -> dict[str, Line]:
    # Plain rows, not ORM objects: a run of a 10 000-cadre pool has 10 000 lines.
    stmt = select(col(RunResult.cadre_id), col(RunResult.post_id), col(RunResult.fit), col(RunResult.reason)).where(
        col(RunResult.run_id) == run_id
    )
    rows = (await s.execute(stmt)).all()
    return {cid: Line(post, Decimal(fit) if fit is not None else None, reason) for cid, post, fit, reason in rows}


def _bounds(run: Run) -> dict[str, dict[str, Any]]:
    """The run's quotas by the name a run gives them (``dimension=value``)."""
    return {f"{q['dimension']}={q['value']}": q for q in run.quotas}


def _members(posts: Sequence[Post], units: dict[str, MirroredUnit], dimension: str, value: str) -> frozenset[str]:
    out = set()
    for p in posts:
        unit = units.get(p.host_unit_id)
        kind, body = (unit.kind, unit.body) if unit else (None, None)
        if in_group(dimension, value, category=p.category, unit_kind=kind, body=body):
            out.add(p.id)
    return frozenset(out)


def _bound(quota: dict[str, Any] | None) -> QuotaBounds | None:
    return None if quota is None else QuotaBounds(min=quota.get("min", 0), max=quota.get("max"))


def _moves_in_scope(result: Comparison, scope: Scope, unit_of: dict[str, str], host: dict[str, str]) -> list[Move]:
    def units(m: Move) -> list[str | None]:
        posts = [ln.post_id for ln in (m.a, m.b) if ln is not None and ln.post_id is not None]
        return [unit_of.get(m.cadre_id), *(host.get(p) for p in posts)]

    return scope.keep(result.moves, units)


def _posts_in_scope(
    result: Comparison, posts: Sequence[Post], scope: Scope, unit_of: dict[str, str]
) -> list[PostHolders]:
    by_id = {p.id: p for p in posts}
    out = []
    for h in result.holders:
        post = by_id[h.post_id]  # a result names a post of its campaign, and posts stay
        before, after = list(h.a), list(h.b)
        if not scope.covers(post.host_unit_id):
            before = [x for x in before if scope.covers(unit_of.get(x))]
            after = [x for x in after if scope.covers(unit_of.get(x))]
            if before == after:
                continue  # only cadres of other units changed on it
        out.append(
            PostHolders(post_id=post.id, title=post.title, seats=post.seats, holders_before=before, holders_after=after)
        )
    return out


def _moved(m: Move) -> MovedCadre:
    return MovedCadre(
        cadre_id=m.cadre_id,
        from_post_id=m.a.post_id if m.a else None,
        to_post_id=m.b.post_id if m.b else None,
        from_fit=str(m.a.fit) if m.a and m.a.fit is not None else None,
        to_fit=str(m.b.fit) if m.b and m.b.fit is not None else None,
        from_reason=m.a.reason if m.a else None,
        to_reason=m.b.reason if m.b else None,
    )
