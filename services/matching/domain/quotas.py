"""Quotas on how many placements go to a group of posts (a category, a unit kind, a body).

Qichun 2021 (seed 001) placed 19 deputy-county cadres 3 Party committee / 4 People's
Congress / 9 government / 3 CPPCC: four quotas over the ``body`` of the host unit, each
with minimum = maximum. Quotas that all group the posts by one dimension partition them,
which keeps the optimal assignment a min-cost flow; quotas on several dimensions overlap
and need an integer program.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DIMENSIONS = ("category", "unit_kind", "body")


@dataclass(frozen=True)
class Quota:
    name: str  # e.g. "body=government", how errors name it
    posts: frozenset[int]  # post indices
    minimum: int = 0
    maximum: int | None = None


@dataclass(frozen=True)
class Shortfall:
    quota: str
    minimum: int
    reachable: int

    @property
    def missing(self) -> int:
        return self.minimum - self.reachable


class QuotasInfeasible(Exception):
    def __init__(self, shortfalls: list[Shortfall]) -> None:
        self.shortfalls = shortfalls
        super().__init__(
            "; ".join(f"{s.quota}: at least {s.minimum} needed, {s.reachable} reachable" for s in shortfalls)
        )


def in_group(dimension: str, value: str, *, category: str, unit_kind: str | None, body: str | None) -> bool:
    """Whether a post is in a quota's group: its category, or its host unit's kind or body."""
    of_post = {"category": category, "unit_kind": unit_kind, "body": body}
    if dimension not in of_post:
        raise ValueError(f"unknown quota dimension {dimension!r}; one of {DIMENSIONS}")
    return of_post[dimension] == value


def is_partition(quotas: Sequence[Quota]) -> bool:
    seen: set[int] = set()
    for q in quotas:
        if seen & q.posts:
            return False
        seen |= q.posts
    return True


def check_alone(
    quotas: Sequence[Quota], seats: Sequence[int], candidates_of_post: Sequence[set[int]]
) -> list[Shortfall]:
    """Quotas that obviously cannot be met: fewer seats in the group, or fewer distinct
    cadres who ranked one of its posts, than the minimum. A quick necessary condition
    checked before a run starts; the solver finds the exact shortfall of the rest."""
    out = []
    for q in quotas:
        if q.minimum <= 0:
            continue
        cadres: set[int] = set()
        for p in q.posts:
            cadres |= candidates_of_post[p]
        reachable = min(sum(seats[p] for p in q.posts), len(cadres))
        if reachable < q.minimum:
            out.append(Shortfall(q.name, q.minimum, reachable))
    return out
