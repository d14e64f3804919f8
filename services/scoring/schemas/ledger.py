"""Request bodies and read models of ``api/ledger.py``: entries, waivers, restatements, and
the ledger's views (a cadre's year, eligibility, rankings, standing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from cadrekit.schemas import Id, ReadModel, Strict
from services.scoring.domain.impact import ImpactPeriod, Verdict
from services.scoring.schemas import Money


class EntryIn(Strict):
    cadre_id: Id
    rule_code: str = Field(min_length=1, max_length=30)
    year: int
    occurred_on: dt.date
    evidence: str = Field(default="", max_length=5000)
    reference: str | None = Field(
        default=None, max_length=200, description="document number; the theme of a special reward"
    )


class Decision(Strict):
    note: str | None = Field(default=None, max_length=2000)


class ReversalIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class WaiverIn(Strict):
    reference: str = Field(min_length=1, max_length=200, description="the fault-tolerance decision's document number")
    reason: str = Field(min_length=1, max_length=2000)


class RestatementIn(Strict):
    year: int
    version: int = Field(ge=1)
    apply: bool = False
    expected_difference: Decimal | None = Field(
        default=None,
        max_digits=8,
        decimal_places=2,
        description="the difference the preview showed; refused if it moved",
    )


class EntryPublic(ReadModel):
    id: str
    cadre_id: str
    unit_id: str
    year: int
    kind: str
    rule_code: str
    direction: str
    sanction_kind: str | None
    status: str
    occurred_on: dt.date
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    catalogue_version: int | None
    rule_points: Money | None
    points: Money | None
    capped: bool
    reverses_id: str | None
    reversed_by_id: str | None
    restates_id: str | None
    waived: bool
    masked: bool = False
    evidence: str
    reference: str | None
    decision_note: str | None


class EntryPage(ReadModel):
    items: list[EntryPublic]
    next_offset: int | None


class WaiverPublic(ReadModel):
    id: str
    entry_id: str
    cadre_id: str
    year: int
    reference: str
    reason: str
    granted_by: str
    granted_at: dt.datetime


class RestatedLine(ReadModel):
    entry_id: str
    rule_code: str
    points: Money
    restated_points: Money
    withdrawn: bool


class RestatementPublic(ReadModel):
    cadre_id: str
    year: int
    to_version: int
    total: Money
    restated_total: Money
    difference: Money
    lines: list[RestatedLine]
    applied: bool


class LineHead(ReadModel):
    seq: int
    line: str


class EntryLine(EntryPublic, LineHead):
    line: Literal["entry", "reversal"]
    running_total: Money


class WaiverLine(LineHead):
    line: Literal["waiver"]
    id: str
    entry_id: str
    reference: str
    reason: str
    granted_by: str
    granted_at: dt.datetime
    points: Money
    running_total: Money


class LedgerPublic(ReadModel):
    cadre_id: str
    name: str
    year: int
    total: Money
    lines: list[Annotated[EntryLine | WaiverLine, Field(discriminator="line")]]
    pending: list[EntryPublic]
    rejected: list[EntryPublic]


class EligibilityPublic(ReadModel):
    cadre_id: str
    year: int
    on: dt.date
    excellent: Verdict
    promotion: Verdict
    impact_periods: list[ImpactPeriod]


class RankedCadre(ReadModel):
    rank: int
    cadre_id: str
    name: str
    unit_id: str
    leadership_status: str | None
    total: Money
    positive: Money
    negative: Money


class RankingsPublic(ReadModel):
    year: int
    tie_rule: str
    count: int
    items: list[RankedCadre]


class EntryCounts(ReadModel):
    approved: int
    reversals: int
    waived: int
    pending: int


class StandingPublic(ReadModel):
    cadre_id: str
    year: int
    total: Money
    positive: Money
    negative: Money
    catalogue_version: int | None
    rank: int | None
    ranked: int
    entries: EntryCounts
    excellent_eligible: bool
