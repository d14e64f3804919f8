"""Optimal assignment against brute force on small instances, with and without quotas."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain.optimal import UNPLACED, Pairs, cp_sat_solve, min_cost_flow_solve, solve
from services.matching.domain.quotas import Quota, QuotasInfeasible, check_alone, is_partition


@st.composite
def instances(draw: st.DrawFn) -> tuple[int, list[int], Pairs]:
    n_cadres = draw(st.integers(0, 5))
    n_posts = draw(st.integers(1, 4))
    seats = [draw(st.integers(1, 2)) for _ in range(n_posts)]
    rng = random.Random(draw(st.integers(0, 2**32)))
    cad, post, weight = [], [], []
    for c in range(n_cadres):
        for p in rng.sample(range(n_posts), rng.randint(0, n_posts)):
            cad.append(c)
            post.append(p)
            weight.append(rng.randint(-300, 10_000))
    return n_cadres, seats, Pairs(cad, post, weight)


def brute_force(n: int, seats: list[int], pairs: Pairs, quotas: list[Quota]) -> int | None:
    """The best total over every assignment (None when no assignment meets the quotas)."""
    options: list[list[tuple[int, int]]] = [[(UNPLACED, 0)] for _ in range(n)]
    for c, p, w in zip(pairs.cadre, pairs.post, pairs.weight, strict=True):
        options[c].append((p, w))
    best = None
    for choice in itertools.product(*options):
        posts = [p for p, _ in choice]
        if any(posts.count(j) > s for j, s in enumerate(seats)):
            continue
        if any(not _meets(q, posts) for q in quotas):
            continue
        total = sum(w for _, w in choice)
        best = total if best is None else max(best, total)
    return best


def _meets(q: Quota, posts: list[int]) -> bool:
    got = sum(1 for p in posts if p in q.posts)
    return got >= q.minimum and (q.maximum is None or got <= q.maximum)


def _check(n: int, seats: list[int], pairs: Pairs, quotas: list[Quota], result_assigned: list[int]) -> int:
    weights = {(c, p): w for c, p, w in zip(pairs.cadre, pairs.post, pairs.weight, strict=True)}
    total = 0
    for c, p in enumerate(result_assigned):
        if p != UNPLACED:
            total += weights[(c, p)]
    assert all(result_assigned.count(j) <= s for j, s in enumerate(seats))
    assert all(_meets(q, result_assigned) for q in quotas)
    return total


@settings(max_examples=200, deadline=None)
@given(instances())
def test_min_cost_flow_finds_the_brute_force_optimum(inst: tuple) -> None:
    n, seats, pairs = inst
    result = min_cost_flow_solve(n, seats, pairs, [])
    assert _check(n, seats, pairs, [], result.assigned) == result.total == brute_force(n, seats, pairs, [])


@st.composite
def with_quotas(draw: st.DrawFn, partition: bool) -> tuple[int, list[int], Pairs, list[Quota]]:
    n, seats, pairs = draw(instances())
    posts = list(range(len(seats)))
    quotas = []
    if partition:
        rng = random.Random(draw(st.integers(0, 1000)))
        rng.shuffle(posts)
        cut = draw(st.integers(0, len(posts)))
        groups = [posts[:cut], posts[cut:]]
    else:
        groups = [
            draw(st.lists(st.sampled_from(posts), min_size=1, unique=True)),
            draw(st.lists(st.sampled_from(posts), min_size=1, unique=True)),
        ]
    for g, members in enumerate(groups):
        if members:
            low = draw(st.integers(0, 2))
            high = draw(st.one_of(st.none(), st.integers(low, 3)))
            quotas.append(Quota(f"g{g}", frozenset(members), low, high))
    return n, seats, pairs, quotas


@settings(max_examples=150, deadline=None)
@given(with_quotas(partition=True))
def test_partition_quotas_stay_a_flow_and_match_brute_force(inst: tuple) -> None:
    n, seats, pairs, quotas = inst
    assert is_partition(quotas)
    expected = brute_force(n, seats, pairs, quotas)
    if expected is None:
        with pytest.raises(QuotasInfeasible):
            min_cost_flow_solve(n, seats, pairs, quotas)
        return
    result = min_cost_flow_solve(n, seats, pairs, quotas)
    assert _check(n, seats, pairs, quotas, result.assigned) == result.total == expected


@settings(max_examples=100, deadline=None)
@given(with_quotas(partition=False))
def test_overlapping_quotas_by_cp_sat_match_brute_force(inst: tuple) -> None:
    n, seats, pairs, quotas = inst
    expected = brute_force(n, seats, pairs, quotas)
    if expected is None:
        with pytest.raises(QuotasInfeasible):
            cp_sat_solve(n, seats, pairs, quotas)
        return
    result = cp_sat_solve(n, seats, pairs, quotas)
    assert result.proven_optimal
    assert _check(n, seats, pairs, quotas, result.assigned) == result.total == expected


def test_qichun_split_is_expressible_and_met() -> None:
    # 19 cadres, four bodies with 5 one-seat posts each; 3/4/9/3 must hold exactly.
    bodies = {"party_committee": 3, "people_congress": 4, "government": 9, "cppcc": 3}
    posts_of = {b: list(range(k * 10, k * 10 + 10)) for k, b in enumerate(bodies)}
    rng = random.Random(1)
    cad, post, weight = [], [], []
    for c in range(19):
        for p in rng.sample(range(40), 12):
            cad.append(c)
            post.append(p)
            weight.append(rng.randint(1000, 9000))
    quotas = [Quota(f"body={b}", frozenset(posts_of[b]), k, k) for b, k in bodies.items()]
    result = solve(19, [1] * 40, Pairs(cad, post, weight), quotas)
    assert result.solver == "min_cost_flow"
    placed = [p for p in result.assigned if p != UNPLACED]
    assert len(placed) == 19
    for b, k in bodies.items():
        assert sum(1 for p in placed if p in posts_of[b]) == k


def test_an_unreachable_minimum_names_the_quota_and_the_shortfall() -> None:
    # two cadres, both only want post 0; the quota asks 2 placements on posts {1}
    pairs = Pairs([0, 1], [0, 0], [500, 400])
    quotas = [Quota("category=民生事业", frozenset({1}), 2, None)]
    with pytest.raises(QuotasInfeasible) as err:
        solve(2, [1, 3], pairs, quotas)
    assert [(s.quota, s.minimum, s.reachable, s.missing) for s in err.value.shortfalls] == [
        ("category=民生事业", 2, 0, 2)
    ]
    assert [s.quota for s in check_alone(quotas, [1, 3], [{0, 1}, set()])] == ["category=民生事业"]


def test_overlapping_quotas_use_cp_sat_and_are_deterministic() -> None:
    rng = random.Random(3)
    cad, post, weight = [], [], []
    for c in range(30):
        for p in rng.sample(range(10), 4):
            cad.append(c)
            post.append(p)
            weight.append(rng.randint(0, 5000))
    pairs = Pairs(cad, post, weight)
    quotas = [Quota("category=A", frozenset(range(5)), 4, 6), Quota("unit_kind=town", frozenset({3, 4, 5, 6}), 3, 5)]
    first = solve(30, [2] * 10, pairs, quotas)
    assert first.solver == "cp_sat"
    assert solve(30, [2] * 10, pairs, quotas).assigned == first.assigned
