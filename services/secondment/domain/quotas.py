"""Regional quota rules of a batch (issue 6; seed 004: "two thirds of the city cadres sent
down go to Sanshui and Gaoming" — 7 + 4 of 15).

A rule bounds, for one direction, how many of the batch's secondments land in a set of
regions: a count and/or a share of that direction's total, each with a minimum and/or a
maximum. The region of a secondment is its grassroots side's region (where a city cadre
goes, or where a grassroots cadre comes from). Shares are exact fractions ("2/3"), so
10 of 15 meets two thirds and 9 of 15 does not, with no rounding in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from services.secondment.domain.eligibility import Direction


class QuotaError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems  # (field, message)


@dataclass(frozen=True)
class QuotaRule:
    direction: Direction
    regions: frozenset[str]
    min_count: int | None = None
    max_count: int | None = None
    min_share: Fraction | None = None
    max_share: Fraction | None = None

    def describe(self) -> str:
        bounds = []
        if self.min_count is not None:
            bounds.append(f"at least {self.min_count}")
        if self.max_count is not None:
            bounds.append(f"at most {self.max_count}")
        if self.min_share is not None:
            bounds.append(f"at least {self.min_share} of them")
        if self.max_share is not None:
            bounds.append(f"at most {self.max_share} of them")
        return f"{self.direction.value}: {' and '.join(bounds)} in {'/'.join(sorted(self.regions))}"


def parse_share(text: str | None, field: str) -> Fraction | None:
    """'2/3', '0.5' or '1' → an exact fraction within [0, 1]."""
    if text is None:
        return None
    try:
        value = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise QuotaError([(field, f"{text!r} is not a share such as 2/3 or 0.5")]) from None
    if not 0 <= value <= 1:
        raise QuotaError([(field, f"{text} is not between 0 and 1")])
    return value


def contradictions(rules: Sequence[QuotaRule]) -> list[tuple[str, str]]:
    """Rules that cannot all hold, as (field, message) naming the rule by its index.

    Checked: a rule with no bound, or whose minimum exceeds its maximum; a rule whose regions
    lie inside another's but which asks for more than the other allows (count or share); and
    rules over disjoint regions whose minimum shares add up to more than the whole.
    """
    out: list[tuple[str, str]] = []
    for i, r in enumerate(rules):
        f = f"quota_rules[{i}]"
        if not r.regions:
            out.append((f"{f}.regions", "names no region"))
        if r.min_count is None and r.max_count is None and r.min_share is None and r.max_share is None:
            out.append((f, "sets no bound"))
        if r.min_count is not None and r.max_count is not None and r.min_count > r.max_count:
            out.append((f"{f}.min_count", f"{r.min_count} exceeds max_count {r.max_count}"))
        if r.min_share is not None and r.max_share is not None and r.min_share > r.max_share:
            out.append((f"{f}.min_share", f"{r.min_share} exceeds max_share {r.max_share}"))
    for i, a in enumerate(rules):
        for j, b in enumerate(rules):
            if i == j or a.direction != b.direction:
                continue
            f = f"quota_rules[{i}]"
            if a.regions and a.regions <= b.regions:
                # what lands in a's regions also lands in b's
                if a.min_count is not None and b.max_count is not None and a.min_count > b.max_count:
                    out.append(
                        (f"{f}.min_count", f"asks at least {a.min_count} but quota_rules[{j}] allows {b.max_count}")
                    )
                if a.min_share is not None and b.max_share is not None and a.min_share > b.max_share:
                    out.append(
                        (f"{f}.min_share", f"asks at least {a.min_share} but quota_rules[{j}] allows {b.max_share}")
                    )
            disjoint = i < j and a.regions and b.regions and not (a.regions & b.regions)
            if disjoint and a.min_share is not None and b.min_share is not None and a.min_share + b.min_share > 1:
                out.append(
                    (
                        f"{f}.min_share",
                        f"{a.min_share} here and {b.min_share} in quota_rules[{j}] over other regions exceed the whole",
                    )
                )
    return out


def check_rules(rules: Sequence[QuotaRule]) -> None:
    problems = contradictions(rules)
    if problems:
        raise QuotaError(problems)


@dataclass(frozen=True)
class Shortfall:
    index: int
    rule: str
    direction: str
    regions: list[str]
    count: int
    of: int
    bound: str  # min_count | max_count | min_share | max_share
    required: str

    def message(self) -> str:
        return (
            f"quota_rules[{self.index}] ({self.rule}) not met: {self.count} of {self.of} "
            f"in {'/'.join(self.regions)}, {self.bound.replace('_', ' ')} {self.required}"
        )


def unmet(rules: Sequence[QuotaRule], placements: Iterable[tuple[Direction, str | None]]) -> list[Shortfall]:
    """Which rules the placements (direction, region of the grassroots side) break."""
    placed = list(placements)
    out: list[Shortfall] = []
    for i, r in enumerate(rules):
        of = sum(1 for d, _ in placed if d == r.direction)
        count = sum(1 for d, region in placed if d == r.direction and region in r.regions)
        share = Fraction(count, of) if of else Fraction(0)
        checks: list[tuple[str, bool, str]] = []
        if r.min_count is not None:
            checks.append(("min_count", count >= r.min_count, str(r.min_count)))
        if r.max_count is not None:
            checks.append(("max_count", count <= r.max_count, str(r.max_count)))
        if r.min_share is not None:
            checks.append(("min_share", share >= r.min_share, str(r.min_share)))
        if r.max_share is not None:
            checks.append(("max_share", share <= r.max_share, str(r.max_share)))
        for bound, ok, required in checks:
            if not ok:
                out.append(Shortfall(i, r.describe(), r.direction.value, sorted(r.regions), count, of, bound, required))
    return out
