"""Assignment runs. A run is a job: ``start_run`` loads and checks the campaign and answers at
once; the solve, the explanations and the stored result happen in a background task that
reports progress on the run row. A run never changes anything outside itself (what-if) until
it is confirmed (confirmation.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, Invalid, field_error
from cadrekit.jobs import spawn
from cadrekit.pagination import decode_cursor, window
from cadrekit.scope import Scope
from services.matching import events
from services.matching.domain import optimal, stable
from services.matching.domain.problem import explain_assignment
from services.matching.domain.quotas import Quota, QuotasInfeasible, Shortfall, check_alone, in_group
from services.matching.models import Campaign, Post, Run, RunResult, mirror
from services.matching.schemas.runs import QuotaIn, RunCreate, RunResultPage, RunResultPublic
from services.matching.service.campaigns import require_status
from services.matching.service.context import Context
from services.matching.service.queries import Loaded, campaign_of, load_problem, run_of

log = logging.getLogger("matching.service")


def quotas_of(loaded: Loaded, quotas: Sequence[QuotaIn]) -> list[Quota]:
    out = []
    for n, q in enumerate(quotas):
        members = set()
        for j, p in enumerate(loaded.posts):
            unit = loaded.unit_of_post.get(p.id)
            kind, body = (unit.kind, unit.body) if unit else (None, None)
            if in_group(q.dimension, q.value, category=p.category, unit_kind=kind, body=body):
                members.add(j)
        if not members:
            raise field_error(f"quotas[{n}].value", f"no post of this campaign has {q.dimension}={q.value}")
        out.append(Quota(f"{q.dimension}={q.value}", frozenset(members), q.min, q.max))
    return out


def infeasible(shortfalls: Sequence[Shortfall], names: list[str]) -> Invalid:
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
    return Invalid("the quotas cannot be met", errors=errors)


async def start_run(ctx: Context, principal: Principal, campaign_id: str, body: RunCreate) -> Run:
    if body.method == "stable" and body.quotas:
        raise field_error("quotas", "stable runs respect seats and exclusions, not quotas; use method optimal")
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        require_status(c, ("open", "matched"), "a run")
        loaded = await load_problem(s, c)
        if not loaded.posts:
            raise Conflict("the campaign has no posts")
        quotas = quotas_of(loaded, body.quotas)
        names = [q.name for q in quotas]
        if len(set(names)) != len(names):
            raise field_error("quotas", "a group is named twice")
        short = check_alone(quotas, loaded.problem.seats, loaded.problem.candidates_of_post())
        if short:
            raise infeasible(short, names)
        run = Run(
            campaign_id=c.id,
            method=body.method,
            proposing=body.proposing if body.method == "stable" else None,
            quotas=[q.model_dump() for q in body.quotas],
            what_if=body.what_if,
            created_by=principal.sub,
        )
        s.add(run)
        await uow.commit()
    spawn(ctx.runtime, execute_run(ctx, run.id, loaded, quotas), name=f"run-{run.id}")
    return run


def solve(loaded: Loaded, method: str, proposing: str | None, quotas: list[Quota]) -> tuple[list[int], dict[str, Any]]:
    pr = loaded.problem
    if method == "stable":
        algorithm = stable.post_proposing if proposing == "posts" else stable.cadre_proposing
        return algorithm(pr.prefs, pr.keys, pr.seats), {"solver": f"deferred_acceptance_{proposing}_proposing"}
    cad, post, weight = pr.pair_arrays()
    result = optimal.solve(len(pr.cadres), pr.seats, optimal.Pairs(cad, post, weight), quotas)
    return result.assigned, {"solver": result.solver, "proven_optimal": result.proven_optimal}


async def _progress(ctx: Context, run_id: str, **values: Any) -> None:
    async with ctx.uow() as uow:
        await uow.session.execute(update(Run).where(col(Run.id) == run_id).values(**values))
        await uow.commit()


async def execute_run(ctx: Context, run_id: str, loaded: Loaded, quotas: list[Quota]) -> None:
    try:
        async with ctx.uow() as uow:
            run = await uow.session.get(Run, run_id)
            assert run is not None
            method, proposing, what_if = run.method, run.proposing, run.what_if
        await _progress(ctx, run_id, status="running", progress=10)
        try:
            assigned, info = await asyncio.to_thread(solve, loaded, method, proposing, quotas)
        except QuotasInfeasible as exc:
            problem = infeasible(exc.shortfalls, [q.name for q in quotas])
            await _progress(
                ctx,
                run_id,
                status="failed",
                finished_at=utcnow(),
                error={"title": "the quotas cannot be met", "errors": problem.errors},
            )
            return
        await _progress(ctx, run_id, progress=50)
        rows = await asyncio.to_thread(explain_assignment, loaded.problem, assigned, method)
        await _progress(ctx, run_id, progress=80)
        await store_result(ctx, run_id, loaded, rows, info, what_if)
    except Exception:
        log.exception("run failed", extra={"run_id": run_id})
        await _progress(
            ctx, run_id, status="failed", finished_at=utcnow(), error={"title": "internal error; see the service log"}
        )


async def store_result(
    ctx: Context, run_id: str, loaded: Loaded, rows: list[dict[str, Any]], info: dict[str, Any], what_if: bool
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
    async with ctx.uow() as uow:
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


async def get_run(ctx: Context, campaign_id: str, run_id: str) -> Run:
    async with ctx.uow() as uow:
        c = await campaign_of(uow.session, campaign_id)
        return await run_of(uow.session, c, run_id)


async def list_runs(ctx: Context, campaign_id: str) -> list[Run]:
    async with ctx.uow() as uow:
        await campaign_of(uow.session, campaign_id)
        stmt = select(Run).where(col(Run.campaign_id) == campaign_id).order_by(col(Run.created_at), col(Run.id))
        return list((await uow.session.execute(stmt.limit(500))).scalars())


async def run_results(
    ctx: Context, campaign_id: str, run_id: str, scope: Scope, *, reason: str | None, limit: int, cursor: str | None
) -> RunResultPage:
    """A result is a (proposed) placement: in scope when its cadre's unit or its post's host
    unit is, filtered in the query so pages and cursors count only those."""
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        await run_of(s, c, run_id)
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
        read = list((await s.execute(stmt.limit(limit + 1))).scalars())
        rows, next_cursor = window(read, limit, lambda r: [r.cadre_id])
        return RunResultPage(items=[RunResultPublic.model_validate(r) for r in rows], next_cursor=next_cursor)
