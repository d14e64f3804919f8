"""Request bodies and read models (the JSON as the API always answered it) of the scoring API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field, field_validator

from cadrekit.schemas import ReadModel
from services.scoring.domain.money import text
from services.scoring.domain.quotas import Passed

Id = Field(min_length=1, max_length=36)


def _has_nul(value: Any) -> bool:
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return isinstance(value, str) and "\x00" in value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refused here as a 422 naming the field, not a 500 there.
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class CategoryIn(Body):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    direction: Literal["positive", "negative"]
    default: bool = False


class RuleIn(Body):
    code: str = Field(min_length=1, max_length=30)
    category: str = Field(min_length=1, max_length=30)
    direction: Literal["positive", "negative"] | None = None
    points: Decimal = Field(max_digits=6, decimal_places=2)
    cap_per_year: Decimal | None = Field(default=None, max_digits=6, decimal_places=2)
    description: str = Field(default="", max_length=500)
    sanction_kind: str | None = Field(default=None, max_length=30)
    default: bool = False


class CatalogueIn(Body):
    categories: list[CategoryIn] | None = Field(default=None, max_length=50)
    rules: list[RuleIn] | None = Field(default=None, max_length=500)
    impact_months: dict[str, int] | None = None
    note: str | None = Field(default=None, max_length=2000)


class CatalogueEdit(Body):
    categories: list[CategoryIn] = Field(max_length=50)
    rules: list[RuleIn] = Field(max_length=500)
    impact_months: dict[str, int] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2000)
    row_version: int = Field(ge=1, description="the row_version you read; a stale one is refused")


class EntryIn(Body):
    cadre_id: str = Id
    rule_code: str = Field(min_length=1, max_length=30)
    year: int
    occurred_on: dt.date
    evidence: str = Field(default="", max_length=5000)
    reference: str | None = Field(
        default=None, max_length=200, description="document number; the theme of a special reward"
    )


class Decision(Body):
    note: str | None = Field(default=None, max_length=2000)


class ReversalIn(Body):
    reason: str = Field(min_length=1, max_length=2000)


class WaiverIn(Body):
    reference: str = Field(min_length=1, max_length=200, description="the fault-tolerance decision's document number")
    reason: str = Field(min_length=1, max_length=2000)


class RestatementIn(Body):
    year: int
    version: int = Field(ge=1)
    apply: bool = False
    expected_difference: Decimal | None = Field(
        default=None,
        max_digits=8,
        decimal_places=2,
        description="the difference the preview showed; refused if it moved",
    )


class PolicyIn(Body):
    appraisal_weights: dict[str, Decimal] | None = None
    excellence_ratios: dict[str, Decimal] | None = None
    incentive_pool: int | None = Field(default=None, ge=0, le=100000)
    second_line_reserved: int | None = Field(default=None, ge=0, le=100000)


class Ratings(Body):
    party_committee: Decimal = Field(max_digits=5, decimal_places=2)
    public: Decimal = Field(max_digits=5, decimal_places=2)
    organization: Decimal = Field(max_digits=5, decimal_places=2)


class AppraisalIn(Body):
    ratings: Ratings
    visible: dict[str, Decimal] = Field(default_factory=dict, description="visible achievements (显绩), 0–100 each")
    latent: dict[str, Decimal] = Field(default_factory=dict, description="latent achievements (潜绩), 0–100 each")


class KeyPostIn(Body):
    title: str = Field(min_length=1, max_length=200)
    unit_id: str = Id


class KeyPostAppraisalIn(Body):
    cadre_id: str = Id
    year: int
    special_assessment: str = Field(min_length=1, max_length=200)
    inspection: str = Field(min_length=1, max_length=200)
    audit: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class UnitRatingIn(Body):
    rating: str = Field(min_length=1, max_length=20)


class GrantIn(Body):
    unit_id: str = Id
    count: int = Field(ge=1, le=1000)
    reason: str = Field(min_length=1, max_length=2000)


class ProposeIn(Body):
    unit_id: str | None = Field(default=None, max_length=36)


# Points: a Decimal inside, text to two places in the JSON ("-1.50").
Money = Annotated[Decimal, PlainSerializer(text, return_type=str, when_used="json")]
JsonList = list[dict[str, Any]]  # the catalogue's JSON columns, as stored


class CatalogueContent(ReadModel):
    categories: JsonList
    rules: JsonList
    impact_months: dict[str, int]


class CatalogueCounts(ReadModel):
    positive_categories: int
    negative_categories: int
    rules: int
    department_defaults: int


class CataloguePublic(ReadModel):
    id: str
    year: int
    version: int
    status: str
    categories: JsonList
    rules: JsonList
    impact_months: dict[str, int]
    note: str | None
    created_by: str
    created_at: dt.datetime
    published_by: str | None
    published_at: dt.datetime | None
    row_version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> CatalogueCounts:
        return CatalogueCounts(
            positive_categories=sum(1 for c in self.categories if c["direction"] == "positive"),
            negative_categories=sum(1 for c in self.categories if c["direction"] == "negative"),
            rules=len(self.rules),
            department_defaults=sum(1 for r in self.rules if r.get("default")),
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


class PolicyPublic(ReadModel):
    year: int
    appraisal_weights: dict[str, str]
    excellence_ratios: dict[str, str]
    default_unit_rating: str
    incentive_pool: int
    second_line_reserved: int
    defaults: bool
    version: int


class AchievementsPublic(ReadModel):
    indicators: dict[str, str]
    mean: Money | None


class AppraisalPublic(ReadModel):
    cadre_id: str
    year: int
    ratings: dict[str, Money]
    weights: dict[str, str]
    weighted: Money
    visible_achievements: AchievementsPublic
    latent_achievements: AchievementsPublic
    recorded_by: str
    recorded_at: dt.datetime
    version: int


class KeyPostPublic(ReadModel):
    id: str
    title: str
    unit_id: str
    created_by: str
    created_at: dt.datetime


class KeyPostAppraisalPublic(ReadModel):
    id: str
    key_post: KeyPostPublic
    cadre_id: str
    year: int
    special_assessment: str
    inspection: str
    audit: str
    note: str | None
    recorded_by: str
    recorded_at: dt.datetime


class AppraisalView(ReadModel):
    cadre_id: str
    year: int
    appraisal: AppraisalPublic | None
    key_post_appraisals: list[KeyPostAppraisalPublic]


class UnitRatingPublic(ReadModel):
    year: int
    unit_id: str
    rating: str
    ratio: Money


class GrantPublic(ReadModel):
    id: str
    year: int
    unit_id: str
    count: int
    reason: str
    pool: int
    pool_left: int


class UnitQuotaPublic(ReadModel):
    unit_id: str
    rating: str
    ratio: Money
    headcount: int
    granted_from_pool: int
    quota: int


class RatingPublic(ReadModel):
    cadre_id: str
    year: int
    unit_id: str
    grade: str
    source: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None


class ProposalsPublic(ReadModel):
    year: int
    quotas: list[UnitQuotaPublic]
    second_line_reserve_left: int
    proposed: list[RatingPublic]
    not_proposed: list[Passed]
