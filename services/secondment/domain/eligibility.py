"""Who may be seconded, explained rule by rule (issue 6, "Batches and pairs"; seed 004).

Foshan's 工作意见 sends down "city cadres in a specialty the receiving place urgently needs
and with less than two years of grassroots experience", and up "grassroots cadres who are
capable and have potential". Both must serve the whole term before retiring and may not be
in another secondment, nor placed by a selection campaign on a post that takes them away
during the term (matching.placement.confirmed). Each rule answers passed or not with the figures behind it, so an
officer sees why a cadre was refused, not only that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from services.secondment.domain.terms import GRASSROOTS_KINDS


class Direction(StrEnum):
    # city organ → grassroots unit (下派) and grassroots unit → city organ (上挂)
    down = "city_to_grassroots"
    up = "grassroots_to_city"


MAX_GRASSROOTS_YEARS = Decimal(2)


@dataclass(frozen=True)
class Criteria:
    """What a batch asks of its candidates."""

    ends_on: dt.date
    starts_on: dt.date | None = None
    needed_specialties: tuple[str, ...] = ()
    performance_top_share: Decimal = Decimal("0.3")
    performance_year: int | None = None


@dataclass(frozen=True)
class Performance:
    """A grassroots cadre's standing in the year's points (from scoring.score.changed), and/or
    an officer's recorded judgement, which decides when given (scoring may not cover everyone)."""

    total: Decimal | None = None
    totals_of_year: tuple[Decimal, ...] = ()
    judgement: str | None = None  # strong | not_strong


@dataclass(frozen=True)
class Assignment:
    """A confirmed placement from a selection campaign (matching)."""

    campaign_id: str
    post_kind: str  # standing | phased | training
    starts_on: dt.date | None
    ends_on: dt.date | None


@dataclass(frozen=True)
class Candidate:
    direction: Direction
    status: str
    home_unit_kind: str
    strengths: tuple[str, ...] = ()
    professional_field: str | None = None
    grassroots_years: Decimal = Decimal(0)
    retirement_date: dt.date | None = None
    retirement_rule: str | None = None  # the rule that gave the date, in words
    open_secondment_id: str | None = None
    assignments: tuple[Assignment, ...] = ()
    performance: Performance = field(default_factory=Performance)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    rules: tuple[RuleResult, ...]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed]


def rank_of(total: Decimal, totals: Iterable[Decimal]) -> int:
    """1 + how many scored strictly higher: ties share a place."""
    return 1 + sum(1 for t in totals if t > total)


def top_cutoff(count: int, share: Decimal) -> int:
    """How many places the top share covers: rounded up, at least one when anyone scored."""
    return 0 if count == 0 else max(1, math.ceil(Decimal(count) * share))


def _on_roster(c: Candidate) -> RuleResult:
    return RuleResult("on_roster", c.status == "active", f"roster status is {c.status}")


def _home_unit(c: Candidate) -> RuleResult:
    if c.direction is Direction.down:
        ok = c.home_unit_kind == "city_organ"
        return RuleResult("home_unit_kind", ok, f"home unit is a {c.home_unit_kind}; sent down from a city_organ")
    ok = c.home_unit_kind in GRASSROOTS_KINDS
    return RuleResult("home_unit_kind", ok, f"home unit is a {c.home_unit_kind}; sent up from a town or village")


def _specialty(c: Candidate, k: Criteria) -> RuleResult:
    if not k.needed_specialties:
        return RuleResult("needed_specialty", True, "the batch names no needed specialty")
    held = set(c.strengths) | ({c.professional_field} if c.professional_field else set())
    match = sorted(held & set(k.needed_specialties))
    if match:
        return RuleResult("needed_specialty", True, f"holds {', '.join(match)}")
    return RuleResult("needed_specialty", False, f"holds none of {', '.join(k.needed_specialties)}")


def _grassroots(c: Candidate) -> RuleResult:
    ok = c.grassroots_years < MAX_GRASSROOTS_YEARS
    return RuleResult("grassroots_experience_under_2_years", ok, f"{c.grassroots_years} years of grassroots experience")


def _performance(c: Candidate, k: Criteria) -> RuleResult:
    p = c.performance
    share = f"top {(k.performance_top_share * 100).normalize():f}%"
    standing = ""
    in_top = False
    if p.total is not None and p.totals_of_year:
        rank, cutoff = rank_of(p.total, p.totals_of_year), top_cutoff(len(p.totals_of_year), k.performance_top_share)
        in_top = rank <= cutoff
        year = f" in {k.performance_year}" if k.performance_year else ""
        standing = f"{p.total} points{year} rank {rank} of {len(p.totals_of_year)} ({share} = {cutoff} places)"
    if p.judgement is not None:
        ok = p.judgement == "strong"
        what = "strong performer" if ok else "not a strong performer"
        return RuleResult(
            "strong_performer", ok, f"judged {what} by the office" + (f"; {standing}" if standing else "")
        )
    if not standing:
        return RuleResult("strong_performer", False, f"no points on record and no judgement recorded ({share} needed)")
    return RuleResult("strong_performer", in_top, standing)


def _retirement(c: Candidate, k: Criteria) -> RuleResult:
    if c.retirement_date is None:
        return RuleResult("not_retiring_within_term", True, "no retirement date on record")
    ok = c.retirement_date > k.ends_on
    rule = f" ({c.retirement_rule})" if c.retirement_rule else ""
    return RuleResult(
        "not_retiring_within_term",
        ok,
        f"retires on {c.retirement_date.isoformat()}{rule}, term ends {k.ends_on.isoformat()}",
    )


def _free(c: Candidate) -> RuleResult:
    if c.open_secondment_id is None:
        return RuleResult("not_already_seconded", True, "in no other secondment")
    return RuleResult("not_already_seconded", False, f"already in secondment {c.open_secondment_id}")


def _clashes(a: Assignment, k: Criteria) -> bool:
    """A phased or training post running into the term keeps the cadre away from it; a standing
    post taken up during the term moves the cadre to a new post. A standing post taken up
    before the term is simply the cadre's post now."""
    start = k.starts_on or dt.date.min
    if a.post_kind == "standing":
        return a.starts_on is not None and start <= a.starts_on <= k.ends_on
    # Both ends are days of the term (and of the placement): touching on one day is a clash.
    begins_before_end = a.starts_on is None or a.starts_on <= k.ends_on
    ends_after_start = a.ends_on is None or a.ends_on >= start
    return begins_before_end and ends_after_start


def _unplaced(c: Candidate, k: Criteria) -> RuleResult:
    clashing = [a for a in c.assignments if _clashes(a, k)]
    if not clashing:
        return RuleResult("not_already_placed", True, "no placement during the term")
    a = clashing[0]
    span = f"{a.starts_on.isoformat() if a.starts_on else '?'}–{a.ends_on.isoformat() if a.ends_on else ''}"
    return RuleResult(
        "not_already_placed", False, f"placed on a {a.post_kind} post by campaign {a.campaign_id} ({span})"
    )


def assess(candidate: Candidate, criteria: Criteria) -> Verdict:
    rules: Sequence[RuleResult]
    if candidate.direction is Direction.down:
        rules = (
            _on_roster(candidate),
            _home_unit(candidate),
            _specialty(candidate, criteria),
            _grassroots(candidate),
            _retirement(candidate, criteria),
            _free(candidate),
            _unplaced(candidate, criteria),
        )
    else:
        rules = (
            _on_roster(candidate),
            _home_unit(candidate),
            _performance(candidate, criteria),
            _retirement(candidate, criteria),
            _free(candidate),
            _unplaced(candidate, criteria),
        )
    return Verdict(all(r.passed for r in rules), tuple(rules))
