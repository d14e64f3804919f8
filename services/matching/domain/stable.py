"""Stable assignment: deferred acceptance with post capacities (Gale–Shapley, hospitals/residents).

Input is sparse, one entry per acceptable (cadre, post) pair: ``prefs[c]`` lists the posts
cadre c ranked, best first, and ``keys[c][i]`` is how post ``prefs[c][i]`` ranks cadre c
(smaller is better; each post's keys are distinct, so its order is total). A pair is
acceptable to both sides exactly when the cadre listed the post: posts accept every cadre
of the pool, in their own order (domain.md: a post without a ranking ranks by fit).

Cadre-proposing gives the cadre-optimal stable assignment, post-proposing the post-optimal
one. Each proposal costs O(log seats) (a heap of the held cadres per post), so a run is
O(E log S) for E ranked pairs: no step looks at all cadres × all posts.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence

UNPLACED = -1


def cadre_proposing(prefs: Sequence[Sequence[int]], keys: Sequence[Sequence[int]], seats: Sequence[int]) -> list[int]:
    """The post of each cadre (or UNPLACED) in the cadre-optimal stable assignment."""
    assigned = [UNPLACED] * len(prefs)
    nxt = [0] * len(prefs)
    # Per post, the held cadres as a max-heap on the post's key: the root is the worst held.
    held: list[list[tuple[int, int]]] = [[] for _ in seats]
    free = list(range(len(prefs) - 1, -1, -1))
    push, replace = heapq.heappush, heapq.heapreplace
    while free:
        c = free.pop()
        pc, kc = prefs[c], keys[c]
        i, end = nxt[c], len(pc)
        while i < end:
            p, k = pc[i], kc[i]
            i += 1
            h = held[p]
            if len(h) < seats[p]:
                push(h, (-k, c))
                assigned[c] = p
                break
            if h and -h[0][0] > k:
                _, out = replace(h, (-k, c))
                assigned[c] = p
                assigned[out] = UNPLACED
                free.append(out)
                break
        nxt[c] = i
    return assigned


def post_proposing(prefs: Sequence[Sequence[int]], keys: Sequence[Sequence[int]], seats: Sequence[int]) -> list[int]:
    """The post-optimal stable assignment: posts offer seats down their own order."""
    n_posts = len(seats)
    by_post: list[list[tuple[int, int]]] = [[] for _ in range(n_posts)]
    rank_of: list[dict[int, int]] = []
    for c, (pc, kc) in enumerate(zip(prefs, keys, strict=True)):
        rank_of.append({p: r for r, p in enumerate(pc)})
        for p, k in zip(pc, kc, strict=True):
            by_post[p].append((k, c))
    order = [[c for _, c in sorted(lst)] for lst in by_post]
    assigned = [UNPLACED] * len(prefs)
    filled = [0] * n_posts
    nxt = [0] * n_posts
    queue = deque(range(n_posts))
    while queue:
        p = queue.popleft()
        lst = order[p]
        while filled[p] < seats[p] and nxt[p] < len(lst):
            c = lst[nxt[p]]
            nxt[p] += 1
            cur = assigned[c]
            if cur == UNPLACED:
                assigned[c] = p
                filled[p] += 1
            elif rank_of[c][p] < rank_of[c][cur]:
                assigned[c] = p
                filled[p] += 1
                filled[cur] -= 1
                queue.append(cur)
    return assigned


def blocking_pairs(
    prefs: Sequence[Sequence[int]], keys: Sequence[Sequence[int]], seats: Sequence[int], assigned: Sequence[int]
) -> list[tuple[int, int]]:
    """Every acceptable pair that would rather be together: empty for a stable assignment."""
    worst: dict[int, int] = {}
    count = [0] * len(seats)
    key_of = {}
    for c, (pc, kc) in enumerate(zip(prefs, keys, strict=True)):
        for p, k in zip(pc, kc, strict=True):
            key_of[(c, p)] = k
    for c, p in enumerate(assigned):
        if p != UNPLACED:
            count[p] += 1
            k = key_of[(c, p)]
            worst[p] = max(worst.get(p, k), k)
    out = []
    for c, pc in enumerate(prefs):
        mine = assigned[c]
        for p in pc:
            if p == mine:
                break  # every later post is worse for c than its own
            k = key_of[(c, p)]
            if count[p] < seats[p] or worst[p] > k:
                out.append((c, p))
    return out
