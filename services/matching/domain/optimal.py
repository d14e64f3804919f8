"""Optimal assignment: maximise the total fit over the ranked pairs, within seats and quotas.

Unplaced is allowed (a pair with a negative fit is never forced), so this is a maximum-
weight b-matching. With no quotas, or quotas that partition the posts, it is a min-cost
flow (OR-Tools' network simplex on the sparse graph: source → cadre → post → group → sink,
plus a bypass arc for cadres left out). Overlapping quotas need CP-SAT.

Minimums are soft with a penalty larger than any total fit, so the solver meets every
minimum it can and the result says exactly which quota falls short, and by how much,
instead of a bare "infeasible".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from services.matching.domain.quotas import Quota, QuotasInfeasible, Shortfall, is_partition

UNPLACED = -1


@dataclass(frozen=True)
class Pairs:
    """The ranked pairs as parallel arrays: cadre index, post index, fit (integer weight)."""

    cadre: Sequence[int]
    post: Sequence[int]
    weight: Sequence[int]


@dataclass(frozen=True)
class OptimalResult:
    assigned: list[int]
    total: int
    solver: str  # "min_cost_flow" | "cp_sat"
    proven_optimal: bool = True


def solve(
    n_cadres: int,
    seats: Sequence[int],
    pairs: Pairs,
    quotas: Sequence[Quota] = (),
    *,
    time_limit_s: float = 60.0,
) -> OptimalResult:
    if is_partition(quotas):
        return min_cost_flow_solve(n_cadres, seats, pairs, quotas)
    return cp_sat_solve(n_cadres, seats, pairs, quotas, time_limit_s=time_limit_s)


def _penalty(pairs: Pairs, n_cadres: int) -> int:
    top = max((abs(w) for w in pairs.weight), default=0)
    return (top + 1) * (n_cadres + 1)


def min_cost_flow_solve(n_cadres: int, seats: Sequence[int], pairs: Pairs, quotas: Sequence[Quota]) -> OptimalResult:
    """Minimums as lower bounds on the group → sink arcs (node supplies), which keeps the
    network simplex as fast as without quotas; only when that is infeasible is the graph
    solved again with soft minimums, to say which quota falls short and by how much."""
    result = _flow(n_cadres, seats, pairs, quotas, soft_minimums=False)
    if result is None:
        result = _flow(n_cadres, seats, pairs, quotas, soft_minimums=True)
        assert result is not None
    _raise_shortfalls(quotas, result.assigned)
    return result


def _flow(
    n_cadres: int, seats: Sequence[int], pairs: Pairs, quotas: Sequence[Quota], *, soft_minimums: bool
) -> OptimalResult | None:
    n_posts = len(seats)
    source, first_post = 0, 1 + n_cadres
    first_group = first_post + n_posts
    sink = first_group + len(quotas)
    group_of = np.full(n_posts, -1, dtype=np.int64)
    for g, q in enumerate(quotas):
        group_of[list(q.posts)] = g
    pc = np.asarray(pairs.cadre, dtype=np.int64)
    pp = np.asarray(pairs.post, dtype=np.int64)
    pw = np.asarray(pairs.weight, dtype=np.int64)
    n_pairs = len(pc)
    post_head = np.where(group_of >= 0, first_group + group_of, sink)
    Arr = np.ndarray[Any, np.dtype[np.int64]]
    i64 = np.int64
    tails: list[Arr] = [np.zeros(n_cadres, i64), 1 + pc, first_post + np.arange(n_posts, dtype=i64)]
    heads: list[Arr] = [1 + np.arange(n_cadres, dtype=i64), first_post + pp, post_head.astype(i64)]
    caps: list[Arr] = [np.ones(n_cadres, i64), np.ones(n_pairs, i64), np.asarray(seats, i64)]
    costs: list[Arr] = [np.zeros(n_cadres, i64), -pw, np.zeros(n_posts, i64)]
    # the bypass: a cadre may stay unplaced at no cost
    tails.append(np.asarray([source], i64))
    heads.append(np.asarray([sink], i64))
    caps.append(np.asarray([n_cadres], i64))
    costs.append(np.asarray([0], i64))
    supplies = np.zeros(sink + 1, np.int64)
    supplies[source], supplies[sink] = n_cadres, -n_cadres
    big = _penalty(pairs, n_cadres)
    for g, q in enumerate(quotas):
        group_seats = int(sum(seats[p] for p in q.posts))
        upper = group_seats if q.maximum is None else min(q.maximum, group_seats)
        low = min(q.minimum, upper)
        node = first_group + g
        if soft_minimums:
            # The first `low` units into the sink earn the penalty: met before any fit counts.
            tails.append(np.asarray([node, node], i64))
            heads.append(np.asarray([sink, sink], i64))
            caps.append(np.asarray([low, upper - low], i64))
            costs.append(np.asarray([-big, 0], i64))
        else:
            # A lower bound l on node → sink: the node must absorb l, the sink gets l less.
            tails.append(np.asarray([node], i64))
            heads.append(np.asarray([sink], i64))
            caps.append(np.asarray([upper - low], i64))
            costs.append(np.asarray([0], i64))
            supplies[node] -= low
            supplies[sink] += low
    m = min_cost_flow.SimpleMinCostFlow()
    m.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(caps).astype(np.int64),
        np.concatenate(costs).astype(np.int64),
    )
    m.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = m.solve()
    if status == m.INFEASIBLE and not soft_minimums:
        return None
    if status != m.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    pair_arcs = np.arange(n_cadres, n_cadres + n_pairs, dtype=np.int32)
    used = m.flows(pair_arcs) > 0
    assigned = [UNPLACED] * n_cadres
    for c, p in zip(pc[used].tolist(), pp[used].tolist(), strict=True):
        assigned[c] = p
    return OptimalResult(assigned, int(pw[used].sum()), "min_cost_flow")


def _raise_shortfalls(quotas: Sequence[Quota], assigned: Sequence[int]) -> None:
    if not quotas:
        return
    per_post: dict[int, int] = {}
    for p in assigned:
        if p != UNPLACED:
            per_post[p] = per_post.get(p, 0) + 1
    short = []
    for q in quotas:
        got = sum(per_post.get(p, 0) for p in q.posts)
        if got < q.minimum:
            short.append(Shortfall(q.name, q.minimum, got))
    if short:
        raise QuotasInfeasible(short)


def cp_sat_solve(
    n_cadres: int, seats: Sequence[int], pairs: Pairs, quotas: Sequence[Quota], *, time_limit_s: float = 60.0
) -> OptimalResult:
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(pairs.cadre))]
    by_cadre: list[list[int]] = [[] for _ in range(n_cadres)]
    by_post: list[list[int]] = [[] for _ in seats]
    for i, (c, p) in enumerate(zip(pairs.cadre, pairs.post, strict=True)):
        by_cadre[c].append(i)
        by_post[p].append(i)
    for idx in by_cadre:
        if len(idx) > 1:
            model.add_at_most_one(x[i] for i in idx)
    for p, idx in enumerate(by_post):
        if len(idx) > seats[p]:
            model.add(sum(x[i] for i in idx) <= seats[p])
    big = _penalty(pairs, n_cadres)
    slacks = []
    for q in quotas:
        members = [i for p in sorted(q.posts) for i in by_post[p]]
        placed = cp_model.LinearExpr.sum([x[i] for i in members])
        if q.maximum is not None:
            model.add(placed <= q.maximum)
        if q.minimum > 0:
            s = model.new_int_var(0, q.minimum, f"short_{q.name}")
            model.add(placed + s >= q.minimum)
            slacks.append(s)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, list(pairs.weight)) - big * cp_model.LinearExpr.sum(slacks))
    solver = cp_model.CpSolver()
    # One worker: the same input always gives the same answer.
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = time_limit_s
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"CP-SAT found no assignment (status {solver.status_name(status)})")
    assigned = [UNPLACED] * n_cadres
    total = 0
    for i, var in enumerate(x):
        if solver.boolean_value(var):
            assigned[pairs.cadre[i]] = pairs.post[i]
            total += pairs.weight[i]
    _raise_shortfalls(quotas, assigned)
    return OptimalResult(assigned, total, "cp_sat", proven_optimal=status == cp_model.OPTIMAL)
