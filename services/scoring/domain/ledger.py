"""Ledger arithmetic (domain.md "Scoring"), with no I/O.

- A rule's yearly cap limits the points it adds in a year, counted over approved,
  unreversed entries in approval order; an entry that would pass the cap is approved with
  the points that still fit (recorded as such); a reversal frees what the entry used.
- A waiver cancels a deduction's effect without removing the entry.
- The total is the sum in Decimal, to two places.
- Every line says what it is (``line_kind``): an award, a deduction, a sanction (the
  discipline records: 责令检查, 通报批评, 诫勉 and heavier), a reversal, a restatement, a
  waiver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from services.scoring.domain.catalogue import Catalogue, Rule
from services.scoring.domain.money import ZERO, two_places

# What an entry stores as its ``kind``: an entry under a rule, of either direction ("award"
# is the column's value for both), or the reversal of one. What a line is to the reader
# follows from that and the rule: ``line_kind``.
AWARD = "award"
REVERSAL = "reversal"

# The kinds of a ledger's lines, with the department's words for them.
LINE_KINDS: dict[str, str] = {
    "award": "加分",
    "deduction": "扣分",
    "sanction": "问责扣分",
    "reversal": "冲销",
    "restatement": "重新计分",
    "waiver": "容错纠错",
}
EntryKind = Literal["award", "deduction", "sanction", "reversal", "restatement"]  # all but the waiver's


def line_kind(kind: str, direction: str, sanction_kind: str | None, restates: str | None) -> EntryKind:
    """What an entry is: its reversal takes back an entry's points (冲销); a restatement is an
    entry re-issued under a newer catalogue version (重新计分); otherwise the rule says it, an
    addition (加分), a deduction (扣分), or a sanction (问责扣分) when the negative rule names a
    sanction kind, the discipline records of domain.md that open an impact period."""
    if kind == REVERSAL:
        return "reversal"
    if restates is not None:
        return "restatement"
    if direction == "positive":
        return "award"
    return "deduction" if sanction_kind is None else "sanction"


@dataclass(frozen=True)
class Line:
    """An approved line of one cadre's year, in approval order (``seq``)."""

    entry_id: str
    kind: str
    rule_code: str
    points: Decimal  # signed, as applied; a reversal carries the negated points of its entry
    seq: int
    reverses: str | None = None
    waived: bool = False


@dataclass(frozen=True)
class Admission:
    points: Decimal  # signed
    capped: bool
    room_before: Decimal | None  # what the cap still allowed; None when the rule has no cap


def reversed_ids(lines: Iterable[Line]) -> set[str]:
    return {ln.reverses for ln in lines if ln.kind == REVERSAL and ln.reverses}


def used_capacity(lines: Sequence[Line], rule_code: str) -> Decimal:
    """Points a rule has already added this year over approved, unreversed entries."""
    gone = reversed_ids(lines)
    return sum(
        (abs(ln.points) for ln in lines if ln.kind == AWARD and ln.rule_code == rule_code and ln.entry_id not in gone),
        ZERO,
    )


def admit(rule: Rule, used: Decimal) -> Admission:
    if rule.cap_per_year is None:
        return Admission(rule.signed_points, False, None)
    room = max(rule.cap_per_year - used, ZERO)
    magnitude = min(rule.points, room)
    signed = magnitude if rule.direction == "positive" else -magnitude
    return Admission(two_places(signed), magnitude < rule.points, room)


@dataclass(frozen=True)
class Sums:
    """A cadre's year: the total and the effective sums of each direction (the ranking's ties)."""

    total: Decimal
    positive: Decimal
    negative: Decimal


def moved(sums: Sums, delta: Decimal, direction: str) -> Sums:
    """The year after a line of ``direction`` adds ``delta`` (signed): the total moves, and so
    does the sum of that direction (a reversal of an addition lowers ``positive``)."""
    return Sums(
        two_places(sums.total + delta),
        sums.positive + (delta if direction == "positive" else ZERO),
        sums.negative + (delta if direction == "negative" else ZERO),
    )


def effect(line: Line) -> Decimal:
    """What a line adds to the total: nothing when it is a waived deduction."""
    return ZERO if line.waived else line.points


def total(lines: Iterable[Line]) -> Decimal:
    return two_places(sum((effect(ln) for ln in lines), ZERO))


def running_totals(lines: Sequence[Line]) -> list[Decimal]:
    out: list[Decimal] = []
    acc = ZERO
    for ln in sorted(lines, key=lambda x: x.seq):
        acc += effect(ln)
        out.append(two_places(acc))
    return out


@dataclass(frozen=True)
class Restatement:
    entry_id: str
    rule_code: str
    old_points: Decimal
    new_points: Decimal
    withdrawn: bool  # the rule no longer exists in the newer version

    @property
    def changed(self) -> bool:
        return self.withdrawn or self.old_points != self.new_points


def restate(lines: Sequence[Line], newer: Catalogue) -> list[Restatement]:
    """Score a year's standing entries again under a newer catalogue, caps replayed in
    approval order. Reversed entries and their reversals are gone already; waived entries
    keep their points (a waiver was decided on them) but still use their rule's capacity."""
    gone = reversed_ids(lines)
    used: dict[str, Decimal] = {}
    out: list[Restatement] = []
    for ln in sorted(lines, key=lambda x: x.seq):
        if ln.kind != AWARD or ln.entry_id in gone:
            continue
        if ln.waived:
            used[ln.rule_code] = used.get(ln.rule_code, ZERO) + abs(ln.points)
            continue
        rule = newer.rule(ln.rule_code)
        if rule is None:
            out.append(Restatement(ln.entry_id, ln.rule_code, ln.points, ZERO, True))
            continue
        a = admit(rule, used.get(ln.rule_code, ZERO))
        used[ln.rule_code] = used.get(ln.rule_code, ZERO) + abs(a.points)
        out.append(Restatement(ln.entry_id, ln.rule_code, ln.points, a.points, False))
    return out


def restated_total(lines: Sequence[Line], restatements: Sequence[Restatement]) -> Decimal:
    new = {r.entry_id: r.new_points for r in restatements}
    return total(
        Line(ln.entry_id, ln.kind, ln.rule_code, new.get(ln.entry_id, ln.points), ln.seq, ln.reverses, ln.waived)
        for ln in lines
    )
