"""The balance table (选配平衡表): per post, a ranked shortlist of at least 2 candidates per seat.

Seed 002 (Pinghu "百岗大练兵"): "按照不少于1:2的比例…形成选配平衡表", in number and in quality.
The shortlist takes the cadres who ranked the post, in the post's order; where they are
fewer than ratio × seats it is filled from the rest of the pool by fit, and the post is
flagged with why. A post whose pool cannot reach the ratio at all is flagged too.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from services.matching.domain.problem import Problem


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


def shortlist(problem: Problem, j: int, ratio: int = 2) -> tuple[list[dict[str, object]], list[Flag]]:
    post = problem.posts[j]
    need = ratio * post.seats
    applicants: list[tuple[int, int]] = []  # (post key, cadre index)
    for i in sorted(problem.candidates_of_post()[j]):
        applicants.append((problem.keys[i][problem.prefs[i].index(j)], i))
    applicants.sort()
    rows: list[dict[str, object]] = []
    for _k, i in applicants[:need]:
        rows.append(_row(problem, i, j, listed=True))
    flags: list[Flag] = []
    if len(applicants) < need:
        taken = {i for _, i in applicants}
        # One pass over the pool keeping the best few: O(pool · log need) per short post.
        others = heapq.nsmallest(
            need - len(applicants),
            (
                (-problem.fit_of(i, j, *problem.wish_of(i, j)), problem.cadres[i].cadre_id, i)
                for i in range(len(problem.cadres))
                if i not in taken
            ),
        )
        for _neg, _cid, i in others:
            rows.append(_row(problem, i, j, listed=False))
        flags.append(
            Flag(
                "few_applicants",
                f"only {len(applicants)} cadres ranked this post for {post.seats} seats (1:{ratio} needs {need}); "
                "filled from the pool by fit",
            )
        )
    if len(rows) < need:
        flags.append(
            Flag("pool_too_small", f"the pool holds only {len(rows)} candidates for {post.seats} seats (1:{ratio})")
        )
    for n, row in enumerate(rows, start=1):
        row["rank"] = n
    return rows, flags


def _row(problem: Problem, i: int, j: int, *, listed: bool) -> dict[str, object]:
    f = problem.explain_fit(i, j)
    c = problem.cadres[i]
    return {
        "cadre_id": c.cadre_id,
        "name": c.name,
        "ranked_post": listed,
        "cadre_rank": problem.cadre_rank(i, j),
        "fit": str(f.total),
        "breakdown": f.breakdown,
    }
