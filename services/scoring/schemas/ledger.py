"""Request bodies and read models of ``api/ledger.py``: entries, waivers, restatements, and
the ledger's views (a cadre's year, eligibility, rankings, standing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from cadrekit.schemas import Id, ReadModel, Strict
from services.scoring.domain.impact import ImpactPeriod, Verdict
from services.scoring.domain.ledger import LINE_KINDS as K
from services.scoring.domain.ledger import EntryKind
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


KIND = (
    f"What the line is. `award` {K['award']}: under a positive rule. `deduction` {K['deduction']}: under a "
    f"negative rule that names no `sanction_kind` (履职不力, 违反工作纪律). `sanction` {K['sanction']}: under a "
    f"negative rule naming a `sanction_kind` (责令检查, 通报批评, 诫勉 and heavier), a discipline record that opens "
    f"an impact period. `reversal` {K['reversal']}: takes back the points of the entry `reverses_id` names. "
    f"`restatement` {K['restatement']}: the entry `restates_id` names, re-issued under a newer catalogue version. "
    f"A fault-tolerance waiver {K['waiver']} is a line of its own (`kind` and `line`: `waiver`)."
)


class EntryPublic(ReadModel):
    id: str
    cadre_id: str
    unit_id: str
    year: int
    # From a row, its ``line_kind`` (the stored ``kind`` only tells a reversal from the rest).
    kind: EntryKind = Field(
        validation_alias=AliasChoices("line_kind", "kind"),
        description=KIND,
        json_schema_extra={"x-labels-zh": {k: K[k] for k in K if k != "waiver"}},
    )
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
    kind: Literal["waiver"] = Field(
        default="waiver",
        description=f"a fault-tolerance waiver ({K['waiver']}): cancels the effect of the deduction `entry_id` names",
        json_schema_extra={"x-labels-zh": {"waiver": K["waiver"]}},
    )
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
