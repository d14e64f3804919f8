"""A campaign as an assignment problem: who ranked what, each pair's fit, each post's order.

Built once from the campaign's pool, posts and preferences, then handed to the stable or
the optimal algorithm, to the explanations and to the balance table. Everything is sparse
(one entry per ranked pair) and ordered by ids, so the same input gives the same result.

Preferences (domain.md "two-way selection"):
- a cadre's ranking of posts is the one the office entered; without one, the posts of the
  categories in the cadre's roster wishes, category by category, best fit first; with no
  wishes either, every post, best fit first;
- a post ranks the cadres it was given first, then everyone else by fit (ties by id).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.matching.domain import fit as fitmod
from services.matching.domain.fit import CadreFacts, FitWeights, PostFacts

UNPLACED = -1
_LISTED_LIMIT = 1 << 42  # keys below this come from a post's own ranking


@dataclass(frozen=True)
class CandidateIn:
    cadre_id: str
    name: str
    facts: CadreFacts
    ranking: tuple[str, ...] | None = None  # post ids, from the office
    wishes: tuple[str, ...] = ()  # post categories, from the roster


@dataclass(frozen=True)
class PostIn:
    post_id: str
    title: str
    facts: PostFacts
    seats: int
    ranking: tuple[str, ...] = ()  # cadre ids, from the office


@dataclass
class Problem:
    cadres: Sequence[CandidateIn]
    posts: Sequence[PostIn]
    weights: FitWeights
    on: dt.date
    prefs: list[list[int]] = field(init=False)
    keys: list[list[int]] = field(init=False)
    fits: list[list[int]] = field(init=False)  # hundredths, parallel to prefs
    wish: list[list[tuple[int | None, int]]] = field(init=False)  # (wish rank, list length) per pair

    def __post_init__(self) -> None:
        self.post_index = {p.post_id: j for j, p in enumerate(self.posts)}
        self.cadre_index = {c.cadre_id: i for i, c in enumerate(self.cadres)}
        self.seats = [p.seats for p in self.posts]
        self.terms = [fitmod.cadre_terms(c.facts, self.weights, self.on) for c in self.cadres]
        self._weights_h = self.weights.hundredths()
        self._post_pos = [{cid: r for r, cid in enumerate(p.ranking)} for p in self.posts]
        by_category: dict[str, list[int]] = {}
        for j, p in enumerate(self.posts):
            by_category.setdefault(p.facts.category, []).append(j)
        self.prefs, self.keys, self.fits, self.wish = [], [], [], []
        for i, c in enumerate(self.cadres):
            prefs: list[int] = []
            fits: list[int] = []
            wish: list[tuple[int | None, int]] = []
            if c.ranking is not None:
                n = len(c.ranking)
                for r, pid in enumerate(c.ranking):
                    j = self.post_index.get(pid, -1)
                    if j < 0:
                        continue  # a post no longer in the campaign: the ranks of the rest stand
                    prefs.append(j)
                    wish.append((r + 1, n))
                    fits.append(self.fit_of(i, j, r + 1, n))
            else:
                groups = [by_category.get(w, []) for w in c.wishes] if c.wishes else [list(range(len(self.posts)))]
                n = len(c.wishes)
                for r, posts in enumerate(groups):
                    rank = r + 1 if c.wishes else None
                    scored = sorted((-self.fit_of(i, j, rank, n), self.posts[j].post_id, j) for j in posts)
                    for neg, _pid, j in scored:
                        prefs.append(j)
                        fits.append(-neg)
                        wish.append((rank, n))
            self.prefs.append(prefs)
            self.fits.append(fits)
            self.wish.append(wish)
            self.keys.append([self.post_key(i, j, f) for j, f in zip(prefs, fits, strict=True)])
        self._post_keys: list[list[int]] | None = None
        self._candidates: list[set[int]] | None = None

    # scoring -------------------------------------------------------------------------------
    def fit_of(self, i: int, j: int, wish_rank: int | None, wish_count: int) -> int:
        terms = fitmod.terms_bp(self.terms[i], self.posts[j].facts, wish_rank, wish_count)
        return fitmod.score_hundredths(terms, self._weights_h)

    def post_key(self, i: int, j: int, fit_h: int) -> int:
        pos = self._post_pos[j].get(self.cadres[i].cadre_id)
        if pos is not None:
            return pos
        return _LISTED_LIMIT + ((10**7 - fit_h) << 21) + i

    def wish_of(self, i: int, j: int) -> tuple[int | None, int]:
        """The cadre's wish rank of the post (as the fit score counts it), even off its list."""
        for jj, w in zip(self.prefs[i], self.wish[i], strict=True):
            if jj == j:
                return w
        c = self.cadres[i]
        if c.ranking is None and c.wishes and self.posts[j].facts.category in c.wishes:
            return c.wishes.index(self.posts[j].facts.category) + 1, len(c.wishes)
        return None, len(c.ranking) if c.ranking is not None else len(c.wishes)

    def explain_fit(self, i: int, j: int) -> fitmod.Fit:
        rank, count = self.wish_of(i, j)
        return fitmod.explain(self.terms[i], self.posts[j].facts, self.weights, rank, count)

    # ranks for explanations -------------------------------------------------------------------
    def post_keys_sorted(self) -> list[list[int]]:
        if self._post_keys is None:
            per: list[list[int]] = [[] for _ in self.posts]
            for pc, kc in zip(self.prefs, self.keys, strict=True):
                for j, k in zip(pc, kc, strict=True):
                    per[j].append(k)
            for lst in per:
                lst.sort()
            self._post_keys = per
        return self._post_keys

    def cadre_rank(self, i: int, j: int) -> int | None:
        try:
            return self.prefs[i].index(j) + 1
        except ValueError:
            return None

    def post_rank(self, i: int, j: int) -> int | None:
        """Where the post puts the cadre among the cadres who ranked the post (1 = first)."""
        try:
            k = self.keys[i][self.prefs[i].index(j)]
        except ValueError:
            return None
        return bisect.bisect_left(self.post_keys_sorted()[j], k) + 1

    def pair_arrays(self) -> tuple[list[int], list[int], list[int]]:
        cad: list[int] = []
        post: list[int] = []
        weight: list[int] = []
        for i, (pc, fc) in enumerate(zip(self.prefs, self.fits, strict=True)):
            cad.extend([i] * len(pc))
            post.extend(pc)
            weight.extend(fc)
        return cad, post, weight

    def candidates_of_post(self) -> list[set[int]]:
        """The cadres who ranked each post (computed once)."""
        if self._candidates is None:
            out: list[set[int]] = [set() for _ in self.posts]
            for i, pc in enumerate(self.prefs):
                for j in pc:
                    out[j].add(i)
            self._candidates = out
        return self._candidates


def explain_assignment(problem: Problem, assigned: Sequence[int], method: str) -> list[dict[str, object]]:
    """Why each cadre got its post, or none: ranks on both sides and the fit breakdown."""
    filled = [0] * len(problem.posts)
    for j in assigned:
        if j != UNPLACED:
            filled[j] += 1
    out: list[dict[str, object]] = []
    for i, j in enumerate(assigned):
        c = problem.cadres[i]
        if j != UNPLACED:
            f = problem.explain_fit(i, j)
            out.append(
                {
                    "cadre_id": c.cadre_id,
                    "post_id": problem.posts[j].post_id,
                    "fit": str(f.total),
                    "breakdown": f.breakdown,
                    "cadre_rank": problem.cadre_rank(i, j),
                    "post_rank": problem.post_rank(i, j),
                    "reason": "placed",
                    "detail": _placed_detail(problem, i, j),
                }
            )
        else:
            reason, detail = unplaced_reason(problem, i, filled, method)
            out.append({"cadre_id": c.cadre_id, "post_id": None, "reason": reason, "detail": detail})
    return out


def _placed_detail(problem: Problem, i: int, j: int) -> str:
    return (
        f"choice {problem.cadre_rank(i, j)} of {len(problem.prefs[i])} for the cadre; "
        f"the post ranks the cadre {problem.post_rank(i, j)} of {len(problem.post_keys_sorted()[j])} who ranked it"
    )


def unplaced_reason(problem: Problem, i: int, filled: Sequence[int], method: str) -> tuple[str, str]:
    prefs = problem.prefs[i]
    if not prefs:
        return "no_acceptable_post", "the cadre ranked no post of this campaign"
    open_posts = [j for j in prefs if filled[j] < problem.seats[j]]
    if method == "stable":
        # In a stable assignment an unplaced cadre's every ranked post is full with
        # cadres that post ranks higher (otherwise the pair would block).
        return "outranked_everywhere", f"all {len(prefs)} ranked posts are filled by cadres those posts rank higher"
    if not open_posts:
        return (
            "posts_taken_for_higher_total_fit",
            f"all {len(prefs)} ranked posts are filled; placing this cadre would lower the total fit",
        )
    best_open = max(problem.fits[i][prefs.index(j)] for j in open_posts)
    if best_open <= 0:
        return "fit_not_positive", "the posts with free seats would give this cadre no positive fit"
    return "quota_reached", "the posts with free seats are in groups whose quota maximum is reached"
