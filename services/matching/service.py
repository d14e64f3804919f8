"""Matching use cases: each opens a unit of work, applies the rules, records events, commits.

Runs are jobs: ``start_run`` loads and checks the campaign and answers at once; the solve,
the explanations and the stored result happen in a background task that reports progress
on the run row. A run never changes anything outside itself (what-if) until it is confirmed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import orjson
from sqlalchemy import String, bindparam, delete, func, insert, select, type_coerce, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.dates import add_months, today
from cadrekit.db import utcnow
from cadrekit.jobs import spawn
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.problems import Conflict, InvalidInput, NotFound, PreconditionFailed, field_error
from cadrekit.roster_mirror import MirroredCadre, get_cadres, get_unit, get_units, list_cadres
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import WHOLE_TREE, Scope
from cadrekit.uow import UnitOfWork
from services.matching import events
from services.matching.domain import balance, optimal, stable
from services.matching.domain.fit import CadreFacts, FitWeights, PostFacts
from services.matching.domain.growth import GrowthWeights
from services.matching.domain.pool import Exclusion, SecondmentSpan, exclusion
from services.matching.domain.problem import CandidateIn, PostIn, Problem, explain_assignment
from services.matching.domain.quotas import Quota, QuotasInfeasible, check_alone
from services.matching.models import (
    Campaign,
    GrowthIndex,
    Placement,
    PoolMember,
    Post,
    Run,
    RunOverride,
    RunResult,
    Secondment,
    mirror,
)

log = logging.getLogger("matching.service")
CHUNK = 5000  # ids per IN (…) query: well under SQLite's and asyncpg's parameter limits


@dataclass
class Matching:
    runtime: ServiceRuntime

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()


# campaigns --------------------------------------------------------------------------------
def campaign_public(c: Campaign) -> dict[str, Any]:
    return c.model_dump()


def weights_of(c: Campaign) -> FitWeights:
    w = c.weights
    return FitWeights(
        continuity=Decimal(w["continuity"]),
        wish=Decimal(w["wish"]),
        fit=Decimal(w["fit"]),
        age_care=Decimal(w["age_care"]),
        points=Decimal(w["points"]),
        growth=Decimal(w.get("growth", "0")),
        points_scale=Decimal(w["points_scale"]),
        age_care_years=int(w["age_care_years"]),
    )


def _weights_dict(data: dict[str, Any] | None) -> dict[str, Any]:
    base = FitWeights()
    if data:
        base = FitWeights(**data)
    return base.as_dict()


async def _campaign(s: AsyncSession, campaign_id: str, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(col(Campaign.id) == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    c = (await s.execute(stmt)).scalar_one_or_none()
    if c is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return c


def _require(c: Campaign, allowed: Sequence[str], action: str) -> None:
    if c.status not in allowed:
        raise Conflict(
            f"the campaign is {c.status}: {action} needs it {' or '.join(allowed)}", campaign_status=c.status
        )


async def _claim(s: AsyncSession, c: Campaign, old_version: int, **values: Any) -> None:
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
        raise PreconditionFailed("the campaign was changed concurrently; fetch it again")
    c.version = old_version + 1
    for k, v in values.items():
        setattr(c, k, v)


async def create_campaign(m: Matching, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    async with m.uow() as uow:
        c = Campaign(
            name=data["name"],
            kind=data["kind"],
            year=data["year"],
            ratio=data["ratio"],
            weights=_weights_dict(data.get("weights")),
            tutor_capacity=data["tutor_capacity"],
            growth_weights=GrowthWeights.from_dict(data.get("growth_weights")).as_dict(),
            created_by=who.sub,
        )
        uow.session.add(c)
        await uow.commit()
        return campaign_public(c)


async def get_campaign(m: Matching, campaign_id: str) -> dict[str, Any]:
    async with m.uow() as uow:
        return campaign_public(await _campaign(uow.session, campaign_id))


async def list_campaigns(
    m: Matching, *, year: int | None, status: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    async with m.uow() as uow:
        stmt = select(Campaign).order_by(col(Campaign.id))
        if year is not None:
            stmt = stmt.where(col(Campaign.year) == year)
        if status is not None:
            stmt = stmt.where(col(Campaign.status) == status)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Campaign.id) > after[0])
        rows = list((await uow.session.execute(stmt.limit(limit + 1))).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [campaign_public(c) for c in rows],
            "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None,
        }


async def update_campaign(
    m: Matching, who: Principal, campaign_id: str, if_match: int, data: dict[str, Any]
) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        _require(c, ("draft", "open"), "changing it")
        if c.version != if_match:
            raise PreconditionFailed(
                f"the campaign is at version {c.version}, not {if_match}", current_version=c.version
            )
        values: dict[str, Any] = {}
        if data.get("name") is not None:
            values["name"] = data["name"]
        if data.get("ratio") is not None:
            values["ratio"] = data["ratio"]
        if data.get("weights") is not None:
            values["weights"] = _weights_dict(data["weights"])
        if values:
            await _claim(s, c, c.version, **values)
            await uow.commit()
        return campaign_public(c)


async def open_campaign(m: Matching, who: Principal, campaign_id: str) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        _require(c, ("draft",), "opening it")
        posts = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(Post.seats), 0)).where(col(Post.campaign_id) == c.id)
            )
        ).one()
        if posts[0] == 0:
            raise Conflict("add at least one post before opening the campaign")
        await _claim(s, c, c.version, status="open")
        uow.record(events.campaign_opened(c, int(posts[0]), int(posts[1])))
        await uow.commit()
        return campaign_public(c)


# posts --------------------------------------------------------------------------------------
def post_public(p: Post) -> dict[str, Any]:
    return p.model_dump()


async def add_post(m: Matching, who: Principal, campaign_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        _require(c, ("draft", "open"), "adding posts")
        if await get_unit(s, mirror, data["host_unit_id"]) is None:
            raise field_error("host_unit_id", "unknown unit (not in the roster)")
        p = Post(campaign_id=c.id, **data)
        s.add(p)
        await uow.commit()
        return post_public(p)


async def list_posts(m: Matching, campaign_id: str, scope: Scope) -> list[dict[str, Any]]:
    """Every post (the city's offer); a post's own ranking names cadres, so it keeps those
    in scope."""
    async with m.uow() as uow:
        s = uow.session
        await _campaign(s, campaign_id)
        posts = await _posts(s, campaign_id)
        unit_of = await _units_of_cadres(s, {cid for p in posts for cid in p.ranking})
        return [{**post_public(p), "ranking": scope.keep(p.ranking, unit_of.get)} for p in posts]


async def _posts(s: AsyncSession, campaign_id: str) -> list[Post]:
    return list(
        (await s.execute(select(Post).where(col(Post.campaign_id) == campaign_id).order_by(col(Post.id)))).scalars()
    )


# pool ---------------------------------------------------------------------------------------
async def _cadres(s: AsyncSession, ids: Sequence[str]) -> dict[str, MirroredCadre]:
    out: dict[str, MirroredCadre] = {}
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        out.update(await get_cadres(s, mirror, ids[i : i + CHUNK]))
    return out


async def _units_of_cadres(s: AsyncSession, ids: set[str]) -> dict[str, str]:
    """Each mirrored cadre's unit; a cadre not in the roster has none."""
    t = mirror.cadres
    out: dict[str, str] = {}
    listed = sorted(ids)
    for i in range(0, len(listed), CHUNK):
        stmt = select(t.c.cadre_id, t.c.unit_id).where(t.c.cadre_id.in_(listed[i : i + CHUNK]))
        out.update({cid: unit for cid, unit in (await s.execute(stmt)).all()})
    return out


def _json(value: Any) -> Any:
    """JSON read as text (SQLite, and PostgreSQL's json) or already decoded by the driver."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def _pool_cadres(s: AsyncSession, campaign_id: str) -> dict[str, MirroredCadre]:
    """The mirrored cadres of a campaign's pool in one query. Their JSON state is read as
    text and parsed with orjson: for a 10 000-cadre pool that halves the time of a run's load."""
    t = mirror.cadres
    pm = PoolMember.__table__  # type: ignore[attr-defined]
    cols = [c for c in t.c if c.name != "state"]
    stmt = select(*cols, type_coerce(t.c.state, String).label("state")).where(
        t.c.cadre_id.in_(select(pm.c.cadre_id).where(pm.c.campaign_id == campaign_id))
    )
    out = {}
    for row in (await s.execute(stmt)).all():
        values = dict(row._mapping)
        values["state"] = _json(values["state"])
        out[row.cadre_id] = MirroredCadre(**values)
    return out


@dataclass(frozen=True)
class Member:
    cadre_id: str
    name: str
    ranking: list[str] | None


async def _members(s: AsyncSession, campaign_id: str) -> list[Member]:
    # Plain rows, not ORM objects: a 10 000-cadre pool is read on every run.
    t = PoolMember.__table__  # type: ignore[attr-defined]
    ranking = type_coerce(t.c.ranking, String).label("ranking")
    stmt = select(t.c.cadre_id, t.c.name, ranking).where(t.c.campaign_id == campaign_id).order_by(t.c.cadre_id)
    rows = (await s.execute(stmt)).all()
    return [Member(r.cadre_id, r.name, _json(r.ranking)) for r in rows]


@dataclass
class PoolState:
    eligible: list[tuple[Member, MirroredCadre]]
    excluded: list[tuple[Member, Exclusion]]
    unit_of: dict[str, str]  # cadre id → unit id, for the members in the roster


async def evaluate_pool(s: AsyncSession, c: Campaign) -> PoolState:
    """Each member's exclusion as of now: a secondment or a placement elsewhere that arrived
    after the pool was drawn still counts."""
    members = await _members(s, c.id)
    cadres = await _pool_cadres(s, c.id)
    spans: dict[str, list[SecondmentSpan]] = {}
    for row in (await s.execute(select(Secondment))).scalars():
        spans.setdefault(row.cadre_id, []).append(SecondmentSpan(row.starts_on, row.ends_on, row.ended_on, row.status))
    placed = {
        cid: camp
        for cid, camp in (
            await s.execute(
                select(col(Placement.cadre_id), col(Placement.campaign_id)).where(
                    col(Placement.year) == c.year, col(Placement.campaign_id) != c.id
                )
            )
        ).all()
    }
    state = PoolState([], [], {cid: cd.unit_id for cid, cd in cadres.items()})
    for mb in members:
        cadre = cadres.get(mb.cadre_id)
        if cadre is None:
            state.excluded.append((mb, Exclusion("unknown", "not in the roster")))
            continue
        why = exclusion(
            c.year,
            status=cadre.status,
            retirement_date=cadre.retirement_date,
            health=cadre.health,
            secondments=spans.get(mb.cadre_id, ()),
            placed_in=placed.get(mb.cadre_id),
        )
        if why is None:
            state.eligible.append((mb, cadre))
        else:
            state.excluded.append((mb, why))
    return state


def pool_public(c: Campaign, state: PoolState, scope: Scope) -> dict[str, Any]:
    """The members in scope; one no longer in the roster has no unit, so only a token for
    the whole tree sees it."""
    return {
        "campaign_id": c.id,
        "eligible": [
            {"cadre_id": mb.cadre_id, "name": mb.name, "unit_id": cadre.unit_id, "ranking": mb.ranking}
            for mb, cadre in scope.keep(state.eligible, lambda e: e[1].unit_id)
        ],
        "excluded": [
            {"cadre_id": mb.cadre_id, "name": mb.name, "reason": why.reason, "detail": why.detail}
            for mb, why in scope.keep(state.excluded, lambda e: state.unit_of.get(e[0].cadre_id))
        ],
    }


async def set_pool(m: Matching, who: Principal, campaign_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id, lock=True)
        _require(c, ("draft", "open"), "drawing the pool")
        if data.get("cadre_ids") is not None:
            ids: list[str] = data["cadre_ids"]
            seen: set[str] = set()
            errors = []
            for n, cid in enumerate(ids):
                if cid in seen:
                    errors.append({"field": f"cadre_ids[{n}]", "message": "listed twice"})
                seen.add(cid)
            found = await _cadres(s, ids)
            errors += [
                {"field": f"cadre_ids[{n}]", "message": "unknown cadre (not in the roster)"}
                for n, cid in enumerate(ids)
                if cid not in found
            ]
            if errors:
                raise InvalidInput(f"{len(errors)} cadre ids are invalid", errors=errors)
            chosen = [found[cid] for cid in ids]
        else:
            f = data["filter"]
            if f.get("unit_id") and await get_unit(s, mirror, f["unit_id"]) is None:
                raise field_error("filter.unit_id", "unknown unit (not in the roster)")
            chosen = await list_cadres(
                s, mirror, unit_id=f.get("unit_id"), leadership_status=f.get("leadership_status")
            )
        old = {mb.cadre_id: mb.ranking for mb in await _members(s, c.id)}
        await s.execute(delete(PoolMember).where(col(PoolMember.campaign_id) == c.id))
        rows = [
            {"campaign_id": c.id, "cadre_id": cd.cadre_id, "name": cd.name, "ranking": old.get(cd.cadre_id)}
            for cd in sorted(chosen, key=lambda x: x.cadre_id)
        ]
        for i in range(0, len(rows), 1000):
            await s.execute(insert(PoolMember), rows[i : i + 1000])
        state = await evaluate_pool(s, c)
        if state.excluded:
            t = PoolMember.__table__  # type: ignore[attr-defined]
            await s.execute(
                update(t)
                .where(t.c.campaign_id == c.id, t.c.cadre_id == bindparam("cid"))
                .values(excluded=bindparam("reason"), excluded_detail=bindparam("detail")),
                [{"cid": mb.cadre_id, "reason": why.reason, "detail": why.detail[:300]} for mb, why in state.excluded],
            )
        await _claim(s, c, c.version)
        await uow.commit()
        return pool_public(c, state, WHOLE_TREE)  # drawing the pool needs a token for the whole tree


async def get_pool(m: Matching, campaign_id: str, scope: Scope) -> dict[str, Any]:
    async with m.uow() as uow:
        c = await _campaign(uow.session, campaign_id)
        return pool_public(c, await evaluate_pool(uow.session, c), scope)


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
        raise InvalidInput(f"the ranking has {len(errors)} invalid entries", errors=errors)


async def set_cadre_preference(
    m: Matching, who: Principal, campaign_id: str, cadre_id: str, posts: list[str]
) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id, lock=True)
        _require(c, ("draft", "open"), "entering preferences")
        mb = await s.get(PoolMember, (c.id, cadre_id))
        if mb is None:
            raise NotFound(f"cadre {cadre_id} is not in this campaign's pool")
        _check_list("posts", posts, {p.id for p in await _posts(s, c.id)}, "post")
        mb.ranking = list(posts)
        await _claim(s, c, c.version)
        await uow.commit()
        return {"cadre_id": cadre_id, "posts": mb.ranking}


async def set_post_preference(
    m: Matching, who: Principal, campaign_id: str, post_id: str, cadres: list[str]
) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id, lock=True)
        _require(c, ("draft", "open"), "entering preferences")
        p = await s.get(Post, post_id)
        if p is None or p.campaign_id != c.id:
            raise NotFound(f"post {post_id} is not in this campaign")
        _check_list("cadres", cadres, {mb.cadre_id for mb in await _members(s, c.id)}, "cadre (not in the pool)")
        p.ranking = list(cadres)
        await _claim(s, c, c.version)
        await uow.commit()
        return post_public(p)


# the problem --------------------------------------------------------------------------------
@dataclass
class Loaded:
    problem: Problem
    posts: list[Post]
    excluded: list[tuple[Member, Exclusion]]
    unit_of_post: dict[str, Any]


async def load_problem(s: AsyncSession, c: Campaign) -> Loaded:
    posts = await _posts(s, c.id)
    state = await evaluate_pool(s, c)
    unit_ids = {cadre.unit_id for _, cadre in state.eligible} | {p.host_unit_id for p in posts}
    units = await get_units(s, mirror, sorted(unit_ids))
    points = await events.points_of(s, [mb.cadre_id for mb, _ in state.eligible], c.year)
    growth = await growth_of(s, c.id)
    weights = weights_of(c)

    def build() -> Problem:
        candidates = [
            CandidateIn(
                cadre_id=cd.cadre_id,
                name=cd.name,
                facts=CadreFacts(
                    unit_id=cd.unit_id,
                    region=units[cd.unit_id].region if cd.unit_id in units else None,
                    professional_field=cd.professional_field,
                    strengths=frozenset(cd.strengths),
                    retirement_date=cd.retirement_date,
                    points=points.get(cd.cadre_id, Decimal("0")),
                    growth=growth.get(cd.cadre_id),
                ),
                ranking=tuple(mb.ranking) if mb.ranking is not None else None,
                wishes=tuple(cd.post_wishes),
            )
            for mb, cd in state.eligible
        ]
        post_in = [
            PostIn(
                post_id=p.id,
                title=p.title,
                facts=PostFacts(
                    host_unit_id=p.host_unit_id,
                    host_region=units[p.host_unit_id].region if p.host_unit_id in units else None,
                    category=p.category,
                    kind=p.kind,
                    required_strengths=frozenset(p.required_strengths),
                    professional_field=p.professional_field,
                ),
                seats=p.seats,
                ranking=tuple(p.ranking),
            )
            for p in posts
        ]
        return Problem(candidates, post_in, weights, dt.date(c.year, 1, 1))

    problem = await asyncio.to_thread(build)
    return Loaded(problem, posts, state.excluded, {p.id: units.get(p.host_unit_id) for p in posts})


async def growth_of(s: AsyncSession, campaign_id: str) -> dict[str, Decimal]:
    """Each cadre's latest growth index from other (training) campaigns."""
    rows = (
        await s.execute(
            select(col(GrowthIndex.trainee_id), col(GrowthIndex.value))
            .where(col(GrowthIndex.campaign_id) != campaign_id)
            .order_by(col(GrowthIndex.updated_at))
        )
    ).all()
    return {tid: Decimal(v) for tid, v in rows}


def quotas_of(loaded: Loaded, quotas: list[dict[str, Any]]) -> list[Quota]:
    out = []
    for n, q in enumerate(quotas):
        members = set()
        for j, p in enumerate(loaded.posts):
            unit = loaded.unit_of_post.get(p.id)
            value = {
                "category": p.category,
                "unit_kind": unit.kind if unit else None,
                "body": unit.body if unit else None,
            }[q["dimension"]]
            if value == q["value"]:
                members.add(j)
        if not members:
            raise field_error(f"quotas[{n}].value", f"no post of this campaign has {q['dimension']}={q['value']}")
        out.append(Quota(f"{q['dimension']}={q['value']}", frozenset(members), q["min"], q["max"]))
    return out


def infeasible(shortfalls: Sequence[Any], names: list[str]) -> InvalidInput:
    errors = [
        {
            "field": f"quotas[{names.index(sf.quota)}]",
            "quota": sf.quota,
            "message": f"at least {sf.minimum} placements needed, at most {sf.reachable} reachable "
            f"(short by {sf.missing})",
            "short_by": sf.missing,
        }
        for sf in shortfalls
    ]
    return InvalidInput("the quotas cannot be met", errors=errors)


# runs ----------------------------------------------------------------------------------------
def run_public(r: Run) -> dict[str, Any]:
    return r.model_dump()


async def start_run(m: Matching, who: Principal, campaign_id: str, data: dict[str, Any]) -> dict[str, Any]:
    if data["method"] == "stable" and data["quotas"]:
        raise field_error("quotas", "stable runs respect seats and exclusions, not quotas; use method optimal")
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        _require(c, ("open", "matched"), "a run")
        loaded = await load_problem(s, c)
        if not loaded.posts:
            raise Conflict("the campaign has no posts")
        quotas = quotas_of(loaded, data["quotas"])
        names = [q.name for q in quotas]
        if len(set(names)) != len(names):
            raise field_error("quotas", "a group is named twice")
        short = check_alone(quotas, loaded.problem.seats, loaded.problem.candidates_of_post())
        if short:
            raise infeasible(short, names)
        run = Run(
            campaign_id=c.id,
            method=data["method"],
            proposing=data["proposing"] if data["method"] == "stable" else None,
            quotas=data["quotas"],
            what_if=data["what_if"],
            created_by=who.sub,
        )
        s.add(run)
        await uow.commit()
    spawn(m.runtime, execute_run(m, run.id, loaded, quotas), name=f"run-{run.id}")
    return run_public(run)


def solve(loaded: Loaded, method: str, proposing: str | None, quotas: list[Quota]) -> tuple[list[int], dict[str, Any]]:
    pr = loaded.problem
    if method == "stable":
        algorithm = stable.post_proposing if proposing == "posts" else stable.cadre_proposing
        return algorithm(pr.prefs, pr.keys, pr.seats), {"solver": f"deferred_acceptance_{proposing}_proposing"}
    cad, post, weight = pr.pair_arrays()
    result = optimal.solve(len(pr.cadres), pr.seats, optimal.Pairs(cad, post, weight), quotas)
    return result.assigned, {"solver": result.solver, "proven_optimal": result.proven_optimal}


async def _progress(m: Matching, run_id: str, **values: Any) -> None:
    async with m.uow() as uow:
        await uow.session.execute(update(Run).where(col(Run.id) == run_id).values(**values))
        await uow.commit()


async def execute_run(m: Matching, run_id: str, loaded: Loaded, quotas: list[Quota]) -> None:
    try:
        async with m.uow() as uow:
            run = await uow.session.get(Run, run_id)
            assert run is not None
            method, proposing, what_if = run.method, run.proposing, run.what_if
        await _progress(m, run_id, status="running", progress=10)
        try:
            assigned, info = await asyncio.to_thread(solve, loaded, method, proposing, quotas)
        except QuotasInfeasible as exc:
            problem = infeasible(exc.shortfalls, [q.name for q in quotas])
            await _progress(
                m,
                run_id,
                status="failed",
                finished_at=utcnow(),
                error={"title": "the quotas cannot be met", "errors": problem.errors},
            )
            return
        await _progress(m, run_id, progress=50)
        rows = await asyncio.to_thread(explain_assignment, loaded.problem, assigned, method)
        await _progress(m, run_id, progress=80)
        await store_result(m, run_id, loaded, rows, info, what_if)
    except Exception:
        log.exception("run failed", extra={"run_id": run_id})
        await _progress(
            m, run_id, status="failed", finished_at=utcnow(), error={"title": "internal error; see the service log"}
        )


async def store_result(
    m: Matching, run_id: str, loaded: Loaded, rows: list[dict[str, Any]], info: dict[str, Any], what_if: bool
) -> None:
    placed = [r for r in rows if r["post_id"] is not None]
    total = sum((Decimal(str(r["fit"])) for r in placed), Decimal("0.00"))
    records = [{"run_id": run_id, "overridden": False, **r} for r in rows]
    for r in records:
        r.setdefault("fit", None)
        r.setdefault("breakdown", None)
        r.setdefault("cadre_rank", None)
        r.setdefault("post_rank", None)
    records += [
        {
            "run_id": run_id,
            "cadre_id": mb.cadre_id,
            "post_id": None,
            "fit": None,
            "breakdown": None,
            "cadre_rank": None,
            "post_rank": None,
            "reason": "excluded",
            "detail": f"{why.reason}: {why.detail}",
            "overridden": False,
        }
        for mb, why in loaded.excluded
    ]
    summary = {
        **info,
        "posts": len(loaded.posts),
        "seats": sum(p.seats for p in loaded.posts),
        "placed": len(placed),
        "unplaced": len(rows) - len(placed),
        "excluded": len(loaded.excluded),
        "total_fit": str(total),
    }
    async with m.uow() as uow:
        s = uow.session
        await _write_results(s, records)
        run = await s.get(Run, run_id)
        assert run is not None
        run.status, run.progress, run.summary, run.finished_at = "succeeded", 100, summary, utcnow()
        if not what_if:
            # The first real run closes preferences; the status test makes it safe under concurrency.
            await s.execute(
                update(Campaign)
                .where(col(Campaign.id) == run.campaign_id, col(Campaign.status) == "open")
                .values(status="matched", version=Campaign.version + 1, updated_at=utcnow())
            )
        uow.record(events.run_completed(run))
        await uow.commit()


RESULT_COLUMNS = (
    "run_id",
    "cadre_id",
    "post_id",
    "fit",
    "breakdown",
    "cadre_rank",
    "post_rank",
    "reason",
    "detail",
    "overridden",
)


async def _write_results(s: AsyncSession, records: list[dict[str, Any]]) -> None:
    """A run's result rows: COPY on PostgreSQL (10 000 rows with their breakdowns in a
    fraction of an INSERT's time), batched INSERTs on SQLite."""
    conn = await s.connection()
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        rows = [
            tuple(
                orjson.dumps(r[k]).decode() if k == "breakdown" and r[k] is not None else r[k] for k in RESULT_COLUMNS
            )
            for r in records
        ]
        await raw.copy_records_to_table("run_results", columns=RESULT_COLUMNS, records=rows)
        return
    for i in range(0, len(records), 2000):
        await s.execute(insert(RunResult), records[i : i + 2000])


async def _run(s: AsyncSession, c: Campaign, run_id: str, *, lock: bool = False) -> Run:
    stmt = select(Run).where(col(Run.id) == run_id)
    if lock:
        stmt = stmt.with_for_update()
    run = (await s.execute(stmt)).scalar_one_or_none()
    if run is None or run.campaign_id != c.id:
        raise NotFound(f"run {run_id} does not exist in this campaign")
    return run


async def get_run(m: Matching, campaign_id: str, run_id: str) -> dict[str, Any]:
    async with m.uow() as uow:
        c = await _campaign(uow.session, campaign_id)
        return run_public(await _run(uow.session, c, run_id))


async def list_runs(m: Matching, campaign_id: str) -> list[dict[str, Any]]:
    async with m.uow() as uow:
        await _campaign(uow.session, campaign_id)
        stmt = select(Run).where(col(Run.campaign_id) == campaign_id).order_by(col(Run.created_at), col(Run.id))
        return [run_public(r) for r in (await uow.session.execute(stmt.limit(500))).scalars()]


async def run_results(
    m: Matching, campaign_id: str, run_id: str, scope: Scope, *, reason: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A result is a (proposed) placement: in scope when its cadre's unit or its post's host
    unit is, filtered in the query so pages and cursors count only those."""
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        await _run(s, c, run_id)
        cadre = mirror.cadres
        stmt = (
            select(RunResult)
            .outerjoin(cadre, cadre.c.cadre_id == RunResult.cadre_id)
            .outerjoin(Post, col(Post.id) == RunResult.post_id)
            .where(col(RunResult.run_id) == run_id, scope.clause(cadre.c.unit_id, col(Post.host_unit_id)))
            .order_by(col(RunResult.cadre_id))
        )
        if reason is not None:
            stmt = stmt.where(col(RunResult.reason) == reason)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(RunResult.cadre_id) > after[0])
        rows = list((await s.execute(stmt.limit(limit + 1))).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [r.model_dump() for r in rows],
            "next_cursor": encode_cursor([rows[-1].cadre_id]) if more and rows else None,
        }


# overrides and confirmation -----------------------------------------------------------------
async def override(m: Matching, who: Principal, campaign_id: str, run_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id)
        _require(c, ("open", "matched"), "an override")
        run = await _run(s, c, run_id, lock=True)  # overrides of one run go one at a time
        if run.status != "succeeded":
            raise Conflict(f"the run is {run.status}; only a completed run can be overridden")
        row = await s.get(RunResult, (run_id, data["cadre_id"]))
        if row is None:
            raise field_error("cadre_id", "not in this run")
        if row.reason == "excluded":
            raise Conflict(f"the cadre is excluded from this campaign ({row.detail})")
        target = data["post_id"]
        if target == row.post_id:
            raise field_error("post_id", "the cadre is already on this post")
        fit: dict[str, Any] = {"fit": None, "breakdown": None, "cadre_rank": None}
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
            fit = await _pair_fit(s, c, data["cadre_id"], target)
        s.add(
            RunOverride(
                run_id=run_id,
                cadre_id=row.cadre_id,
                from_post_id=row.post_id,
                to_post_id=target,
                reason=data["reason"],
                actor=who.sub,
            )
        )
        row.post_id = target
        row.fit, row.breakdown, row.cadre_rank = fit["fit"], fit["breakdown"], fit["cadre_rank"]
        row.post_rank = None
        row.reason, row.detail, row.overridden = "overridden", f"by {who.sub}: {data['reason']}", True
        await uow.commit()
        return row.model_dump()


async def _pair_fit(s: AsyncSession, c: Campaign, cadre_id: str, post_id: str) -> dict[str, Any]:
    """The fit of one pair, for an override (the cadre alone against every post)."""
    posts = await _posts(s, c.id)
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
    return {"fit": str(f.total), "breakdown": f.breakdown, "cadre_rank": pr.cadre_rank(0, j)}


async def list_overrides(m: Matching, campaign_id: str, run_id: str, scope: Scope) -> list[dict[str, Any]]:
    """An override moves a cadre between posts: in scope when the cadre's unit or the host
    unit of either post is."""
    async with m.uow() as uow:
        c = await _campaign(uow.session, campaign_id)
        await _run(uow.session, c, run_id)
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
        return [o.model_dump() for o in (await uow.session.execute(stmt)).scalars()]


async def confirm(m: Matching, who: Principal, campaign_id: str, run_id: str | None) -> dict[str, Any]:
    async with m.uow() as uow:
        s = uow.session
        c = await _campaign(s, campaign_id, lock=True)
        if c.status == "confirmed":
            raise Conflict(f"the campaign was already confirmed with run {c.confirmed_run_id}")
        _require(c, ("open", "matched"), "confirming")
        if run_id is None:
            stmt = (
                select(Run)
                .where(col(Run.campaign_id) == c.id, col(Run.status) == "succeeded", col(Run.what_if).is_(False))
                .order_by(col(Run.created_at).desc(), col(Run.id).desc())
            )
            run = (await s.execute(stmt.limit(1))).scalar_one_or_none()
            if run is None:
                raise Conflict("there is no completed run to confirm; start one or name a what-if run")
        else:
            run = await _run(s, c, run_id)
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
        await _claim(s, c, c.version, status="confirmed", confirmed_run_id=run.id)
        posts = {p.id: p for p in await _posts(s, c.id)}
        start_default = today()
        for r in placed:
            post = posts[r.post_id]  # type: ignore[index]
            starts = post.starts_on or start_default
            ends = add_months(starts, post.term_months) - dt.timedelta(days=1) if post.term_months else None
            placement = Placement(
                campaign_id=c.id,
                cadre_id=r.cadre_id,
                post_id=post.id,
                run_id=run.id,
                year=c.year,
                post_kind=post.kind,
                starts_on=starts,
                ends_on=ends,
                confirmed_by=who.sub,
            )
            s.add(placement)
            uow.record(events.placement_confirmed(placement, post))
        await uow.commit()
        return {"campaign": campaign_public(c), "run_id": run.id, "placements": len(placed)}


# balance table ----------------------------------------------------------------------------------
async def balance_table(m: Matching, campaign_id: str, scope: Scope) -> dict[str, Any]:
    """Every post with its seats, applicants and flags, computed over the whole pool; the
    shortlists keep the cadres in scope, with the ranks they hold in the whole pool."""
    async with m.uow() as uow:
        c = await _campaign(uow.session, campaign_id)
        loaded = await load_problem(uow.session, c)
    unit_of = {cd.cadre_id: cd.facts.unit_id for cd in loaded.problem.cadres}

    def build() -> list[dict[str, Any]]:
        out = []
        candidates = loaded.problem.candidates_of_post()
        for j, p in enumerate(loaded.posts):
            rows, flags = balance.shortlist(loaded.problem, j, c.ratio)
            rows = scope.keep(rows, lambda r: unit_of.get(str(r["cadre_id"])))
            out.append(
                {
                    "post_id": p.id,
                    "title": p.title,
                    "category": p.category,
                    "kind": p.kind,
                    "seats": p.seats,
                    "applicants": len(candidates[j]),
                    "shortlist": rows,
                    "flags": [{"code": f.code, "message": f.message} for f in flags],
                }
            )
        return out

    return {"campaign_id": c.id, "ratio": c.ratio, "posts": await asyncio.to_thread(build)}


# a cadre's placements --------------------------------------------------------------------------
async def cadre_placements(m: Matching, cadre_id: str) -> dict[str, Any]:
    """Every confirmed placement of a cadre, newest year first (the gateway's cadre profile)."""
    async with m.uow() as uow:
        stmt = (
            select(Placement, col(Campaign.name), col(Post.title), col(Post.host_unit_id))
            .join(Campaign, col(Campaign.id) == Placement.campaign_id)
            .join(Post, col(Post.id) == Placement.post_id)
            .where(col(Placement.cadre_id) == cadre_id)
            .order_by(col(Placement.year).desc(), col(Placement.confirmed_at).desc())
        )
        items = [
            {
                "campaign_id": p.campaign_id,
                "campaign_name": name,
                "year": p.year,
                "post_id": p.post_id,
                "post_title": title,
                "host_unit_id": host,
                "post_kind": p.post_kind,
                "starts_on": p.starts_on,
                "ends_on": p.ends_on,
                "confirmed_at": p.confirmed_at,
            }
            for p, name, title, host in (await uow.session.execute(stmt.limit(500))).all()
        ]
        return {"cadre_id": cadre_id, "items": items}
