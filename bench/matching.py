"""Matching benchmark: the project's algorithms against reference solvers, side by side.

Run from the repository root::

    .venv/bin/python bench/matching.py [--sizes 10000,50000] [--skip-library] [--skip-api]

Instances (fixed seed): N cadres × N/10 posts, seats summing to N, 10 wishes per cadre
drawn with skewed (Zipf-like) popularity, each post ranking its applicants by a random
distinct key, each ranked pair a random fit. For each size it prints, measured in one run:

- stable: ``cadre_proposing`` (heap-based deferred acceptance) against the ``matching``
  library's ``HospitalResident`` (resident-optimal; 10k only, the library does not finish
  50k in reasonable time), with its input checks and its solve timed apart; the two
  assignments must be identical;
- optimal: ``min_cost_flow_solve`` (building the graph included), without quotas and with
  quotas over one partition (the five categories), against a bare OR-Tools
  ``SimpleMinCostFlow`` on the same sparse graph of ranked pairs; objective values must
  be equal; plus CP-SAT with overlapping quotas (category × unit kind), reported apart;
- the whole run through the API on PostgreSQL at 10k: ``POST runs`` until the run has
  succeeded (load campaign, solve, explain, store every result row), in process.

Peak memory: each step runs once more under tracemalloc (Python heap; OR-Tools' native
memory is not traced), and the process's max RSS is printed at the end. Timings are the
best of 3 where a step takes under a second. Informational: exit status 0 unless a
result disagrees with its reference.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import random
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
# `python bench/matching.py` puts bench/ first on the path, where this file would shadow the
# `matching` library it measures against: the root goes in its place.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
from ortools.graph.python import min_cost_flow

from bench.results import Figures
from services.matching.domain.optimal import Pairs, cp_sat_solve, min_cost_flow_solve
from services.matching.domain.quotas import Quota
from services.matching.domain.stable import UNPLACED, cadre_proposing

FIGURES = Figures("matching")

T = TypeVar("T")
SEED = 20221105
CATEGORIES = ["党政群团", "经济管理", "城建交通", "社会管理", "民生事业"]


@dataclass
class Instance:
    n: int
    seats: list[int]
    prefs: list[list[int]]
    keys: list[list[int]]
    fits: list[list[int]]
    category: list[int]  # per post
    kind: list[int]  # per post: 0 organ, 1 town

    def pairs(self) -> Pairs:
        cad: list[int] = []
        post: list[int] = []
        weight: list[int] = []
        for c, (pc, fc) in enumerate(zip(self.prefs, self.fits, strict=True)):
            cad.extend([c] * len(pc))
            post.extend(pc)
            weight.extend(fc)
        return Pairs(cad, post, weight)


def generate(n: int, wishes: int = 10, seed: int = SEED) -> Instance:
    rng = random.Random(seed + n)
    n_posts = n // 10
    # seats: 1..19, summing to n
    seats = [1] * n_posts
    for p in rng.choices(range(n_posts), k=n - n_posts):
        seats[p] += 1
    # skewed popularity: weight 1/(rank+1)^0.8 over a shuffled post order
    order = list(range(n_posts))
    rng.shuffle(order)
    weights = [0.0] * n_posts
    for r, p in enumerate(order):
        weights[p] = 1.0 / (r + 1) ** 0.8
    cum = np.cumsum(weights)
    np_rng = np.random.default_rng(seed + n)
    prefs: list[list[int]] = []
    for _ in range(n):
        chosen: list[int] = []
        seen: set[int] = set()
        while len(chosen) < wishes:
            for p in np.searchsorted(cum, np_rng.random(wishes * 2) * cum[-1]).tolist():
                if p not in seen and len(chosen) < wishes:
                    seen.add(p)
                    chosen.append(p)
        prefs.append(chosen)
    # a post's key for a cadre: random, made distinct per post by the cadre index
    keys = [[(rng.getrandbits(30) << 20) | c for _ in pc] for c, pc in enumerate(prefs)]
    fits = [[rng.randint(0, 10_000) for _ in pc] for pc in prefs]
    category = [rng.randrange(5) for _ in range(n_posts)]
    kind = [rng.randrange(2) for _ in range(n_posts)]
    return Instance(n, seats, prefs, keys, fits, category, kind)


def timed(fn: Callable[[], T], repeat: int = 3) -> tuple[T, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
        if best > 1.0:
            break
    return out, best  # type: ignore[return-value]


def peak_mb(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def bare_min_cost_flow(inst: Instance, pairs: Pairs) -> int:
    """The reference: OR-Tools on the plain sparse graph, built from the same pair arrays."""
    n, n_posts = inst.n, len(inst.seats)
    pc = np.asarray(pairs.cadre, np.int32)
    pp = np.asarray(pairs.post, np.int32)
    pw = np.asarray(pairs.weight, np.int64)
    source, sink = 0, 1 + n + n_posts
    tails = np.concatenate([np.zeros(n, np.int32), 1 + pc, 1 + n + np.arange(n_posts, dtype=np.int32), [source]])
    heads = np.concatenate([1 + np.arange(n, dtype=np.int32), 1 + n + pp, np.full(n_posts, sink, np.int32), [sink]])
    caps = np.concatenate([np.ones(n + len(pc), np.int64), np.asarray(inst.seats, np.int64), [n]])
    costs = np.concatenate([np.zeros(n, np.int64), -pw, np.zeros(n_posts + 1, np.int64)])
    m = min_cost_flow.SimpleMinCostFlow()
    m.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32), caps, costs)
    supplies = np.zeros(sink + 1, np.int64)
    supplies[source], supplies[sink] = n, -n
    m.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    assert m.solve() == m.OPTIMAL
    return -int(m.optimal_cost())


def library_stable(inst: Instance) -> tuple[list[int], float, float]:
    """In a thread with a large stack: the library deep-copies its linked player objects
    recursively, far beyond Python's default recursion limit at 10k."""
    import threading

    out: list[tuple[list[int], float, float]] = []
    threading.stack_size(1 << 29)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    worker = threading.Thread(target=lambda: out.append(_library_stable(inst)))
    worker.start()
    worker.join()
    sys.setrecursionlimit(old)
    threading.stack_size(0)
    return out[0]


def _library_stable(inst: Instance) -> tuple[list[int], float, float]:
    from matching.games import HospitalResident

    t0 = time.perf_counter()
    resident_prefs = {f"c{c}": [f"p{p}" for p in pc] for c, pc in enumerate(inst.prefs)}
    by_post: list[list[tuple[int, int]]] = [[] for _ in inst.seats]
    for c, (pc, kc) in enumerate(zip(inst.prefs, inst.keys, strict=True)):
        for p, k in zip(pc, kc, strict=True):
            by_post[p].append((k, c))
    hospital_prefs = {f"p{p}": [f"c{c}" for _, c in sorted(v)] for p, v in enumerate(by_post) if v}
    capacities = {name: inst.seats[int(name[1:])] for name in hospital_prefs}
    game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities, clean=True)
    t1 = time.perf_counter()
    solution = game.solve(optimal="resident")
    t2 = time.perf_counter()
    assigned = [UNPLACED] * inst.n
    for hospital, residents in solution.items():
        for r in residents:
            assigned[int(r.name[1:])] = int(hospital.name[1:])
    return assigned, t2 - t0, t2 - t1


def partition_quotas(inst: Instance) -> list[Quota]:
    out = []
    for g, name in enumerate(CATEGORIES):
        posts = frozenset(p for p, c in enumerate(inst.category) if c == g)
        seats = sum(inst.seats[p] for p in posts)
        out.append(Quota(f"category={name}", posts, seats // 4, seats - seats // 10))
    return out


def overlapping_quotas(inst: Instance) -> list[Quota]:
    quotas = partition_quotas(inst)
    for k, name in enumerate(("city_organ", "town")):
        posts = frozenset(p for p, v in enumerate(inst.kind) if v == k)
        seats = sum(inst.seats[p] for p in posts)
        quotas.append(Quota(f"unit_kind={name}", posts, seats // 3, None))
    return quotas


def line(label: str, seconds: float, mb: float | None = None, ref: float | None = None, extra: str = "") -> None:
    ratio = f"  {seconds / ref:5.2f}× the reference" if ref else ""
    mem = f"  peak {mb:7.1f} MB" if mb is not None else ""
    print(f"  {label:<52} {seconds:8.3f} s{mem}{ratio}{('  ' + extra) if extra else ''}", flush=True)


def bench_size(n: int, *, library: bool, cp_sat: bool) -> bool:
    ok = True
    t = time.perf_counter()
    inst = generate(n)
    pairs = inst.pairs()
    print(
        f"\n{n:,} cadres × {len(inst.seats):,} posts, {len(pairs.cadre):,} ranked pairs "
        f"(generated in {time.perf_counter() - t:.1f} s)",
        flush=True,
    )

    mine, t_stable = timed(lambda: cadre_proposing(inst.prefs, inst.keys, inst.seats))
    placed = sum(1 for p in mine if p != UNPLACED)
    line(
        "stable: cadre_proposing",
        t_stable,
        peak_mb(lambda: cadre_proposing(inst.prefs, inst.keys, inst.seats)),
        extra=f"placed {placed:,}",
    )
    if library:
        theirs, t_all, t_solve = library_stable(inst)
        line("stable: matching.HospitalResident (with input checks)", t_all, ref=None)
        line("stable: matching.HospitalResident (solve alone)", t_solve)
        same = theirs == mine
        ok &= same
        FIGURES.add(
            f"stable assignment, {n:,} cadres (cadre_proposing)",
            t_stable,
            "s",
            reference="`matching` HospitalResident, same instance",
            reference_value=t_all,
            note=f"identical: {same}; library solve alone {t_solve:.3f} s",
        )
        print(
            f"  {'ratio library/ours':<52} {t_all / t_stable:8.1f}× (solve alone {t_solve / t_stable:.1f}×); "
            f"identical assignments: {same}",
            flush=True,
        )

    bare, t_bare = timed(lambda: bare_min_cost_flow(inst, pairs))
    line(
        "optimal: bare OR-Tools SimpleMinCostFlow (reference)",
        t_bare,
        peak_mb(lambda: bare_min_cost_flow(inst, pairs)),
        extra=f"objective {bare:,}",
    )
    res, t_opt = timed(lambda: min_cost_flow_solve(n, inst.seats, pairs, []))
    line(
        "optimal: min_cost_flow_solve, no quotas",
        t_opt,
        peak_mb(lambda: min_cost_flow_solve(n, inst.seats, pairs, [])),
        ref=t_bare,
        extra=f"objective {res.total:,} (equal: {res.total == bare})",
    )
    ok &= res.total == bare
    FIGURES.add(
        f"optimal assignment, {n:,} cadres (min_cost_flow_solve)",
        t_opt,
        "s",
        reference="bare OR-Tools SimpleMinCostFlow",
        reference_value=t_bare,
        note=f"equal objective: {res.total == bare}",
    )
    quotas = partition_quotas(inst)
    res_q, t_q = timed(lambda: min_cost_flow_solve(n, inst.seats, pairs, quotas))
    line(
        "optimal: min_cost_flow_solve, 5 category quotas",
        t_q,
        peak_mb(lambda: min_cost_flow_solve(n, inst.seats, pairs, quotas)),
        ref=t_bare,
        extra=f"objective {res_q.total:,}",
    )
    FIGURES.add(
        f"optimal with 5 category quotas, {n:,} cadres",
        t_q,
        "s",
        reference="bare OR-Tools SimpleMinCostFlow (no quotas)",
        reference_value=t_bare,
    )
    if cp_sat:
        over = overlapping_quotas(inst)
        res_c, t_c = timed(lambda: cp_sat_solve(n, inst.seats, pairs, over, time_limit_s=120), repeat=1)
        line(
            "optimal: CP-SAT, category × unit-kind quotas (1 worker)",
            t_c,
            ref=t_bare,
            extra=f"objective {res_c.total:,}, proven optimal: {res_c.proven_optimal}",
        )
        FIGURES.add(
            f"CP-SAT, category × unit-kind quotas, {n:,} cadres",
            t_c,
            "s",
            reference="bare OR-Tools SimpleMinCostFlow (no quotas)",
            reference_value=t_bare,
            note=f"proven optimal: {res_c.proven_optimal}",
        )
    return ok


# the API run ---------------------------------------------------------------------------------
async def api_run(n: int) -> None:
    import asyncpg
    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import insert

    from cadrekit.db import create_engine
    from cadrekit.migrate import upgrade
    from cadrekit.testing.plugin import Signer
    from services.matching.app import MIGRATIONS, create_app
    from services.matching.models import Campaign, PoolMember, Post, mirror
    from services.matching.settings import MatchingSettings

    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    name = f"bench_matching_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        inst = generate(n)
        engine = create_engine(url)
        units = [str(uuid.uuid4()) for _ in range(50)]
        cadre_ids = [str(uuid.uuid4()) for _ in range(n)]
        post_ids = [str(uuid.uuid4()) for _ in inst.seats]
        rng = random.Random(SEED)
        async with engine.begin() as c:
            await c.execute(
                insert(mirror.units),
                [
                    {
                        "unit_id": u,
                        "name": f"单位{i}",
                        "kind": "town" if i % 2 else "city_organ",
                        "region": f"区{i % 5}",
                        "body": None,
                        "parent_id": None,
                        "path": f"/{u}/",
                        "version": 1,
                    }
                    for i, u in enumerate(units)
                ],
            )
            rows = []
            for i, cid in enumerate(cadre_ids):
                state = {
                    "cadre_id": cid,
                    "version": 1,
                    "name": f"干部{i}",
                    "unit_id": units[i % 50],
                    "strengths": rng.sample(["招商引资", "项目管理", "文字材料", "信访", "规划"], 2),
                    "post_wishes": [],
                    "professional_field": rng.choice(["经济", "城建", "社会"]),
                    "leadership_status": "second_line",
                    "status": "active",
                }
                rows.append(
                    {
                        "cadre_id": cid,
                        "version": 1,
                        "name": state["name"],
                        "unit_id": state["unit_id"],
                        "leadership_status": "second_line",
                        "status": "active",
                        "gender": "male",
                        "birth_date": dt.date(1970, 1, 1),
                        "party_member": True,
                        "health": "healthy",
                        "retirement_date": dt.date(2030, 1 + i % 12, 1),
                        "state": state,
                    }
                )
            await c.execute(insert(mirror.cadres), rows)
            campaign_id = str(uuid.uuid4())
            await c.execute(
                insert(Campaign),
                [
                    {
                        "id": campaign_id,
                        "name": "bench",
                        "kind": "placement",
                        "year": 2026,
                        "status": "open",
                        "weights": {
                            "continuity": "20",
                            "wish": "30",
                            "post_fit": "25",
                            "age_care": "10",
                            "points": "15",
                            "points_scale": "3.00",
                            "age_care_years": 5,
                        },
                        "ratio": 2,
                        "version": 1,
                        "created_by": "bench",
                        "created_at": dt.datetime.now(dt.UTC),
                        "updated_at": dt.datetime.now(dt.UTC),
                    }
                ],
            )
            await c.execute(
                insert(Post),
                [
                    {
                        "id": pid,
                        "campaign_id": campaign_id,
                        "title": f"岗位{j}",
                        "host_unit_id": units[j % 50],
                        "category": CATEGORIES[inst.category[j]],
                        "kind": "standing",
                        "seats": inst.seats[j],
                        "required_strengths": ["招商引资"] if j % 2 else [],
                        "professional_field": "经济",
                        "ranking": [],
                        "created_at": dt.datetime.now(dt.UTC),
                    }
                    for j, pid in enumerate(post_ids)
                ],
            )
            await c.execute(
                insert(PoolMember),
                [
                    {
                        "campaign_id": campaign_id,
                        "cadre_id": cid,
                        "name": f"干部{i}",
                        "ranking": [post_ids[p] for p in inst.prefs[i]],
                    }
                    for i, cid in enumerate(cadre_ids)
                ],
            )
        await engine.dispose()

        signer = Signer(Ed25519PrivateKey.generate(), "bench")
        settings = MatchingSettings(database_url=url, kafka_enabled=False, mode="test", log_json=False)
        app = create_app(settings, key_source=signer.key_source, configure_logs=False)
        headers = signer.headers("officer")
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://matching", timeout=120) as client:
                for method, what_if in (("stable", True), ("optimal", True), ("stable", False)):
                    t = time.perf_counter()
                    resp = await client.post(
                        f"/api/v1/matching/campaigns/{campaign_id}/runs",
                        headers=headers,
                        json={"method": method, "what_if": what_if},
                    )
                    assert resp.status_code == 202, resp.text
                    accepted = time.perf_counter() - t
                    loc = resp.headers["location"]
                    while True:
                        run = (await client.get(loc, headers=headers)).json()
                        if run["status"] in ("succeeded", "failed"):
                            break
                        await asyncio.sleep(0.01)
                    total = time.perf_counter() - t
                    assert run["status"] == "succeeded", run
                    FIGURES.add(
                        f"API {method} run{' (what-if)' if what_if else ''}, {n:,} cadres, PostgreSQL",
                        total,
                        "s",
                        note="POST runs → succeeded, every result row stored",
                    )
                    line(
                        f"API {method} run at {n:,} on PostgreSQL (POST → succeeded)",
                        total,
                        extra=f"202 after {accepted:.3f} s; placed {run['summary']['placed']:,}, "
                        f"{n:,} result rows stored",
                    )
                # once more under tracemalloc, for the Python heap peak of a whole run
                tracemalloc.start()
                resp = await client.post(
                    f"/api/v1/matching/campaigns/{campaign_id}/runs",
                    headers=headers,
                    json={"method": "stable", "what_if": True},
                )
                while True:
                    status = (await client.get(resp.headers["location"], headers=headers)).json()["status"]
                    if status not in ("queued", "running"):
                        break
                    await asyncio.sleep(0.01)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(f"  {'API stable run, traced':<52} peak {peak / 1e6:7.1f} MB (Python heap, whole request + job)")
    finally:
        conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--skip-library", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-cp-sat", action="store_true")
    parser.add_argument("--quick", action="store_true", help="2,000 cadres only, API run at 2,000")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.sizes = "2000"
    ok = True
    for n in (int(s) for s in args.sizes.split(",")):
        ok &= bench_size(n, library=n <= 10_000 and not args.skip_library, cp_sat=n <= 10_000 and not args.skip_cp_sat)
    if not args.skip_api:
        print()
        asyncio.run(api_run(2_000 if args.quick else 10_000))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess max RSS {rss:.0f} MB; results agree with their references: {ok}")
    FIGURES.add("max RSS, whole process", rss, "MB")
    FIGURES.extra["ok"] = ok
    FIGURES.write(args.json)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
