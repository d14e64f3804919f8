"""Two runs of one campaign side by side, before one of them is confirmed (issue 17, item 8).

"A human confirms" (domain.md, Matching "Result"), and a run changes nothing until then
(README "Runs never change anything outside themselves"): the office tries other weights or
quotas and needs to see what the other answer would change. Compared line by line, each
cadre's post in the first run (``a``) against the second (``b``): who moves, which posts
change hands, how the total fit moves, and how many placements fall to each quota's group
of posts. The total fit is the sum of the placed lines' fits, the same sum a run's summary
states (services/matching/service/runs.py), but counted from the lines, so an override made
since the run counts too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Line:
    """One cadre's line of a run's result: the post (None: unplaced), its fit, and why."""

    post_id: str | None
    fit: Decimal | None
    reason: str


@dataclass(frozen=True)
class Group:
    """A quota's group of posts (services/matching/domain/quotas.py), by post id."""

    name: str
    posts: frozenset[str]


@dataclass(frozen=True)
class Move:
    """A cadre whose post differs between the runs; a side is None where the cadre has no
    line in that run (the pool changed between them)."""

    cadre_id: str
    a: Line | None
    b: Line | None


@dataclass(frozen=True)
class Holders:
    """A post whose holders differ between the runs, each side sorted by cadre id."""

    post_id: str
    a: tuple[str, ...]
    b: tuple[str, ...]


@dataclass(frozen=True)
class GroupCount:
    name: str
    a: int
    b: int

    @property
    def difference(self) -> int:
        return self.b - self.a


@dataclass(frozen=True)
class Comparison:
    moves: list[Move]  # by cadre id
    holders: list[Holders]  # by post id
    total_fit_a: Decimal
    total_fit_b: Decimal
    groups: list[GroupCount]  # in the order given

    @property
    def total_fit_difference(self) -> Decimal:
        return self.total_fit_b - self.total_fit_a


def total_fit(lines: Iterable[Line]) -> Decimal:
    return sum((ln.fit for ln in lines if ln.post_id is not None and ln.fit is not None), Decimal("0.00"))


def holders_of(lines: Mapping[str, Line]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for cadre_id, ln in lines.items():
        if ln.post_id is not None:
            out.setdefault(ln.post_id, []).append(cadre_id)
    return {post_id: tuple(sorted(cadres)) for post_id, cadres in out.items()}


def compare(a: Mapping[str, Line], b: Mapping[str, Line], groups: Sequence[Group] = ()) -> Comparison:
    """What changes from run ``a`` to run ``b`` (cadre id → line in each)."""
    moves = []
    for cadre_id in sorted(a.keys() | b.keys()):
        before, after = a.get(cadre_id), b.get(cadre_id)
        if (before.post_id if before else None) != (after.post_id if after else None):
            moves.append(Move(cadre_id, before, after))
    held_a, held_b = holders_of(a), holders_of(b)
    holders = [
        Holders(post_id, held_a.get(post_id, ()), held_b.get(post_id, ()))
        for post_id in sorted(held_a.keys() | held_b.keys())
        if held_a.get(post_id, ()) != held_b.get(post_id, ())
    ]
    counts = [
        GroupCount(
            g.name,
            sum(len(held_a.get(p, ())) for p in g.posts),
            sum(len(held_b.get(p, ())) for p in g.posts),
        )
        for g in groups
    ]
    return Comparison(moves, holders, total_fit(a.values()), total_fit(b.values()), counts)
