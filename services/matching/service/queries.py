"""Reads shared by several resources: a campaign and its posts, the pool as it stands, the
mirrored cadres, a run, and the assignment problem loaded from all of them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.errors import NotFound
from cadrekit.roster_mirror import MirroredCadre, MirroredUnit, get_cadres, get_units
from services.matching import events
from services.matching.domain.fit import CadreFacts, FitWeights, PostFacts
from services.matching.domain.pool import Exclusion, SecondmentSpan, exclusion
from services.matching.domain.problem import CandidateIn, PostIn, Problem
from services.matching.models import Campaign, GrowthIndex, Placement, PoolMember, Post, Run, Secondment, mirror

CHUNK = 5000  # ids per IN (…) query: well under SQLite's and asyncpg's parameter limits


async def campaign_of(s: AsyncSession, campaign_id: str, *, lock: bool = False) -> Campaign:
    stmt = select(Campaign).where(col(Campaign.id) == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    c = (await s.execute(stmt)).scalar_one_or_none()
    if c is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return c


async def run_of(s: AsyncSession, c: Campaign, run_id: str, *, lock: bool = False) -> Run:
    stmt = select(Run).where(col(Run.id) == run_id)
    if lock:
        stmt = stmt.with_for_update()
    run = (await s.execute(stmt)).scalar_one_or_none()
    if run is None or run.campaign_id != c.id:
        raise NotFound(f"run {run_id} does not exist in this campaign")
    return run


async def posts_of(s: AsyncSession, campaign_id: str) -> list[Post]:
    return list(
        (await s.execute(select(Post).where(col(Post.campaign_id) == campaign_id).order_by(col(Post.id)))).scalars()
    )


def weights_of(c: Campaign) -> FitWeights:
    w = c.weights
    return FitWeights(
        continuity=Decimal(w["continuity"]),
        wish=Decimal(w["wish"]),
        post_fit=Decimal(w["post_fit"]),
        age_care=Decimal(w["age_care"]),
        points=Decimal(w["points"]),
        growth=Decimal(w.get("growth", "0")),
        points_scale=Decimal(w["points_scale"]),
        age_care_years=int(w["age_care_years"]),
    )


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


# the mirrored cadres and the pool --------------------------------------------------------------
async def cadres_by_id(s: AsyncSession, ids: Sequence[str]) -> dict[str, MirroredCadre]:
    out: dict[str, MirroredCadre] = {}
    listed = list(ids)
    for i in range(0, len(listed), CHUNK):
        out.update(await get_cadres(s, mirror, listed[i : i + CHUNK]))
    return out


async def units_of_cadres(s: AsyncSession, ids: set[str]) -> dict[str, str]:
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


async def members_of(s: AsyncSession, campaign_id: str) -> list[Member]:
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
    members = await members_of(s, c.id)
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
            retirement_rule=cadre.retirement_rule,
            health=cadre.health,
            secondments=spans.get(mb.cadre_id, ()),
            placed_in=placed.get(mb.cadre_id),
        )
        if why is None:
            state.eligible.append((mb, cadre))
        else:
            state.excluded.append((mb, why))
    return state


# the problem --------------------------------------------------------------------------------
@dataclass
class Loaded:
    problem: Problem
    posts: list[Post]
    excluded: list[tuple[Member, Exclusion]]
    unit_of_post: dict[str, MirroredUnit | None]


async def load_problem(s: AsyncSession, c: Campaign) -> Loaded:
    posts = await posts_of(s, c.id)
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
