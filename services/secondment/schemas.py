"""API models: request bodies (unknown fields forbidden: no mass assignment of state,
version…) and the read models the routers answer with (``from_attributes``: built from the
table rows), plus the one command that is not a body (the eligibility check's query)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from cadrekit.schemas import Id, LongText, Name, ReadModel, Reason, Strict, Tag, Text
from services.secondment.domain.terms import MAX_TERM_MONTHS, MIN_TERM_MONTHS

Share = Annotated[Text, Field(min_length=1, max_length=20)]
TermMonths = Annotated[int, Field(ge=MIN_TERM_MONTHS, le=MAX_TERM_MONTHS)]
Direction = Literal["city_to_grassroots", "grassroots_to_city"]
Verdict = Literal["sound", "concerns"]
Business = Annotated[dt.date, Field(ge=dt.date(1950, 1, 1), le=dt.date(2200, 12, 31))]


class QuotaRuleIn(Strict):
    direction: Direction = "city_to_grassroots"
    regions: list[Tag] = Field(min_length=1, max_length=50)
    min_count: Annotated[int, Field(ge=0, le=100_000)] | None = None
    max_count: Annotated[int, Field(ge=0, le=100_000)] | None = None
    min_share: Share | None = Field(default=None, description='a fraction such as "2/3" or "0.5"')
    max_share: Share | None = None


class BatchCreate(Strict):
    name: Name
    year: Annotated[int, Field(ge=1950, le=2200)]
    starts_on: Business
    term_months: Annotated[int, Field(ge=-1000, le=1000)] = Field(
        default=24, description=f"{MIN_TERM_MONTHS}–{MAX_TERM_MONTHS} months"
    )
    allow_unpaired: bool = False
    needed_specialties: list[Tag] = Field(default_factory=list, max_length=100)
    performance_top_share: Share = Field(default="0.3", description="top share of the year's points, e.g. 0.3")
    performance_year: Annotated[int, Field(ge=1950, le=2200)] | None = Field(
        default=None, description="the points year ranked (default: the year before the batch)"
    )
    quota_rules: list[QuotaRuleIn] = Field(default_factory=list, max_length=50)


class PairCreate(Strict):
    city_organ_id: Id
    grassroots_unit_id: Id


class Nomination(Strict):
    cadre_id: Id
    pair_id: Id | None = None
    to_unit_id: Id | None = Field(default=None, description="only for an unpaired placement")
    title_held: Name = Field(description="挂任职务, the post held in the receiving unit")
    term_months: Annotated[int, Field(ge=-1000, le=1000)] | None = None
    performance_judgement: Literal["strong", "not_strong"] | None = Field(
        default=None, description="the office's judgement of a grassroots cadre's performance (decides when given)"
    )


class VettingIn(Strict):
    political_quality: Verdict | None = None
    moral_quality: Verdict | None = None
    results: Verdict | None = None
    diligence: Verdict | None = None
    integrity: Verdict | None = None
    discipline_reference: Name | None = Field(default=None, description="the discipline inspection office's reference")
    discipline_opinion: LongText | None = Field(default=None, description="its opinion (personal data: masked)")
    notes: LongText | None = None


class StartIn(Strict):
    starts_on: Business | None = None


class ExtendIn(Strict):
    months: Annotated[int, Field(ge=-1000, le=1000)]
    reason: Reason


class EndIn(Strict):
    kind: Literal["completed", "early"]
    ended_on: Business | None = None
    reason: Reason | None = None


class WithdrawIn(Strict):
    reason: Reason


class ReviewIn(Strict):
    kind: Literal["routine", "annual", "end_of_term"]
    rating: Literal["excellent", "competent", "basically_competent", "not_competent"]
    reviewed_on: Business
    comments: LongText | None = None


@dataclass(frozen=True)
class Candidacy:
    """Would this cadre be eligible (the eligibility check's query parameters)?"""

    cadre_id: str
    pair_id: str | None = None
    to_unit_id: str | None = None
    performance_judgement: str | None = None
    term_months: int | None = None


# answers ------------------------------------------------------------------------------------
class QuotaRulePublic(ReadModel):
    direction: Direction
    regions: list[str]
    min_count: int | None = None
    max_count: int | None = None
    min_share: str | None = None
    max_share: str | None = None


class BatchPublic(ReadModel):
    id: str
    name: str
    year: int
    starts_on: dt.date
    term_months: int
    planned_ends_on: dt.date
    allow_unpaired: bool
    needed_specialties: list[str]
    performance_top_share: str
    # the points year ranked: Batch.ranked_year (the year named, else the year before)
    performance_year: int = Field(validation_alias=AliasChoices("ranked_year", "performance_year"))
    quota_rules: list[QuotaRulePublic]
    state: Literal["open", "approved"]
    version: int
    created_by: str
    created_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None


class BatchApproved(BatchPublic):
    approved: int = Field(description="how many secondments were approved")

    @classmethod
    def of(cls, batch: object, approved: int) -> BatchApproved:
        """The batch's read model (from its row) with how many secondments it approved."""
        return cls(**dict(BatchPublic.model_validate(batch)), approved=approved)


class BatchPage(ReadModel):
    items: list[BatchPublic]
    next_cursor: str | None


class PairPublic(ReadModel):
    id: str
    batch_id: str
    city_organ_id: str
    city_organ_name: str
    grassroots_unit_id: str
    grassroots_unit_name: str
    grassroots_unit_kind: str
    region: str | None
    created_at: dt.datetime


class RulePublic(ReadModel):
    rule: str
    passed: bool
    detail: str


class EligibilityPublic(ReadModel):
    cadre_id: str
    direction: Direction
    to_unit_id: str
    eligible: bool
    rules: list[RulePublic]


class VettingPublic(ReadModel):
    political_quality: Verdict | None
    moral_quality: Verdict | None
    results: Verdict | None
    diligence: Verdict | None
    integrity: Verdict | None
    discipline_reference: str | None
    discipline_opinion: str | None = Field(description="masked (******) unless revealed with a reason")
    discipline_opinion_masked: bool
    notes: str | None
    complete: bool
    passed: bool
    missing: list[str]
    concerns: list[str]
    vetted_by: str
    updated_at: dt.datetime


class ExtensionPublic(ReadModel):
    """One extension of the term, as kept in the secondment's JSON column."""

    months: int
    reason: str
    previous_ends_on: dt.date
    ends_on: dt.date
    by: str
    at: str = Field(description="when, as recorded (ISO 8601 with its UTC offset)")


class SecondmentPublic(ReadModel):
    id: str
    batch_id: str
    pair_id: str | None
    cadre_id: str
    cadre_name: str
    gender: str | None
    party_member: bool
    direction: Direction
    from_unit_id: str
    from_unit_name: str
    from_unit_kind: str
    to_unit_id: str
    to_unit_name: str
    to_unit_kind: str
    region: str | None
    title_held: str
    state: Literal["nominated", "vetted", "approved", "active", "completed", "ended_early", "withdrawn"]
    eligibility: list[RulePublic]
    performance_judgement: str | None
    term_months: int
    starts_on: dt.date | None
    ends_on: dt.date | None
    ended_on: dt.date | None
    end_kind: str | None
    end_reason: str | None
    days_served: int | None
    extensions: list[ExtensionPublic]
    withdraw_reason: str | None
    version: int
    nominated_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    vetting: VettingPublic | None = None


class SecondmentPage(ReadModel):
    items: list[SecondmentPublic]
    next_cursor: str | None


class ReservePublic(ReadModel):
    id: str
    cadre_id: str
    cadre_name: str
    source: str
    secondment_id: str | None
    added_on: dt.date
    created_at: dt.datetime


class ReservePage(ReadModel):
    items: list[ReservePublic]
    next_cursor: str | None


class ReviewPublic(ReadModel):
    id: str
    secondment_id: str
    cadre_id: str
    kind: str
    rating: str
    reviewed_on: dt.date
    comments: str | None
    recorded_by: str
    created_at: dt.datetime


class ReviewRecorded(ReviewPublic):
    reserve_entry: ReservePublic | None = Field(description="set when an end-of-term 'excellent' added the cadre")

    @classmethod
    def of(cls, review: object, entry: object | None) -> ReviewRecorded:
        """The review's read model (from its row) with the reserve entry it made, if any."""
        reserve_entry = None if entry is None else ReservePublic.model_validate(entry)
        return cls(**dict(ReviewPublic.model_validate(review)), reserve_entry=reserve_entry)


class GroupStats(ReadModel):
    count: int
    average_age: str | None = Field(description="ages in whole years at the batch's start, averaged to one decimal")
    non_party: int
    women: int
    by_region: dict[str, int]
    by_unit_kind: dict[str, int]


class BatchStats(ReadModel):
    batch_id: str
    name: str
    age_on: dt.date
    total: GroupStats
    by_direction: dict[str, GroupStats]
