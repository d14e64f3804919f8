"""Deferred acceptance with post capacities: stable, capacity-respecting, deterministic,
cadre-optimal (the matching library's resident-optimal answer) — on random small instances."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from matching.games import HospitalResident

from services.matching.domain.stable import UNPLACED, blocking_pairs, cadre_proposing, post_proposing


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[list[int]], list[list[int]], list[int]]:
    n_cadres = draw(st.integers(0, 8))
    n_posts = draw(st.integers(1, 5))
    seats = [draw(st.integers(1, 3)) for _ in range(n_posts)]
    rng = random.Random(draw(st.integers(0, 2**32)))
    prefs = [rng.sample(range(n_posts), rng.randint(0, n_posts)) for _ in range(n_cadres)]
    # each post orders every cadre by a distinct key
    post_orders = [rng.sample(range(1000), n_cadres) for _ in range(n_posts)]
    keys = [[post_orders[p][c] for p in prefs[c]] for c in range(n_cadres)]
    return prefs, keys, seats


def _respects(prefs: list[list[int]], seats: list[int], assigned: list[int]) -> None:
    for c, p in enumerate(assigned):
        assert p == UNPLACED or p in prefs[c]
    for p, cap in enumerate(seats):
        assert assigned.count(p) <= cap


@settings(max_examples=300, deadline=None)
@given(instances())
def test_both_directions_are_stable_and_respect_seats(inst: tuple) -> None:
    prefs, keys, seats = inst
    for algorithm in (cadre_proposing, post_proposing):
        assigned = algorithm(prefs, keys, seats)
        _respects(prefs, seats, assigned)
        assert blocking_pairs(prefs, keys, seats, assigned) == []


@settings(max_examples=200, deadline=None)
@given(instances())
def test_cadre_proposing_is_best_for_every_cadre_and_post_proposing_worst(inst: tuple) -> None:
    prefs, keys, seats = inst
    mine = cadre_proposing(prefs, keys, seats)
    theirs = post_proposing(prefs, keys, seats)

    def rank(c: int, p: int) -> int:
        return len(prefs[c]) if p == UNPLACED else prefs[c].index(p)

    assert all(rank(c, mine[c]) <= rank(c, theirs[c]) for c in range(len(prefs)))
    # the rural hospitals theorem: the same cadres are placed in every stable assignment
    assert {c for c, p in enumerate(mine) if p != UNPLACED} == {c for c, p in enumerate(theirs) if p != UNPLACED}


@settings(max_examples=100, deadline=None)
@given(instances())
def test_cadre_proposing_equals_the_matching_library(inst: tuple) -> None:
    prefs, keys, seats = inst
    resident_prefs = {f"c{c}": [f"p{p}" for p in pc] for c, pc in enumerate(prefs) if pc}
    by_post: dict[int, list[tuple[int, int]]] = {p: [] for p in range(len(seats))}
    for c, (pc, kc) in enumerate(zip(prefs, keys, strict=True)):
        for p, k in zip(pc, kc, strict=True):
            by_post[p].append((k, c))
    hospital_prefs = {f"p{p}": [f"c{c}" for _, c in sorted(v)] for p, v in by_post.items() if v}
    capacities = {name: seats[int(name[1:])] for name in hospital_prefs}
    expected = [UNPLACED] * len(prefs)
    if resident_prefs:
        game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities, clean=True)
        for hospital, residents in game.solve(optimal="resident").items():
            for r in residents:
                expected[int(r.name[1:])] = int(hospital.name[1:])
    assert cadre_proposing(prefs, keys, seats) == expected


def test_a_worse_cadre_is_bumped_when_a_better_one_proposes() -> None:
    # one post, one seat; cadre 0 proposes first but the post prefers cadre 1
    prefs = [[0], [0]]
    keys = [[5], [1]]
    assert cadre_proposing(prefs, keys, [1]) == [UNPLACED, 0]
    assert post_proposing(prefs, keys, [1]) == [UNPLACED, 0]


def test_blocking_pairs_finds_an_unstable_assignment() -> None:
    prefs = [[0, 1], [0]]
    keys = [[1, 1], [2]]
    # cadre 0 prefers post 0, which prefers cadre 0 to its holder: a blocking pair
    assert blocking_pairs(prefs, keys, [1, 1], [1, 0]) == [(0, 0)]


def test_same_input_same_result() -> None:
    rng = random.Random(7)
    prefs = [rng.sample(range(50), 5) for _ in range(400)]
    orders = [rng.sample(range(10_000), 400) for _ in range(50)]
    keys = [[orders[p][c] for p in pc] for c, pc in enumerate(prefs)]
    seats = [rng.randint(1, 8) for _ in range(50)]
    first = cadre_proposing(prefs, keys, seats)
    assert all(cadre_proposing(prefs, keys, seats) == first for _ in range(3))
