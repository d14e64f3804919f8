"""API models. Requests forbid unknown fields; strings refuse NUL; numbers are bounded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from cadrekit.schemas import NO_NUL, Id, Name, ReadModel, Reason, Strict, Tag

# The five post categories of domain.md (五大类别), as the roster's post wishes name them.
Category = Literal["党政群团", "经济管理", "城建交通", "社会管理", "民生事业"]
CampaignKind = Literal["placement", "training", "general"]
PostKind = Literal["standing", "phased", "training"]
LeadershipStatus = Literal["in_post", "second_line", "non_leading"]
Weight = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class WeightsIn(Strict):
    """Fit-score weights; omitted ones keep their defaults (README "fit score")."""

    continuity: Weight = Decimal("20")
    wish: Weight = Decimal("30")
    fit: Weight = Decimal("25")
    age_care: Weight = Decimal("10")
    points: Weight = Decimal("15")
    growth: Weight = Decimal("0")
    points_scale: Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)] = Decimal("3.00")
    age_care_years: int = Field(default=5, ge=0, le=20)


Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=4, decimal_places=3)]


class RoleWeightsIn(Strict):
    tutor: Share = Decimal("0.4")
    host_unit: Share = Decimal("0.4")
    public: Share = Decimal("0.2")


class GrowthWeightsIn(Strict):
    """Growth-index weights (README "growth index"); omitted ones keep their defaults."""

    performance: Share = Decimal("0.6")
    adaptation: Share = Decimal("0.4")
    roles: RoleWeightsIn = Field(default_factory=RoleWeightsIn)


STARTS_ON = (
    "the day placements take effect on posts without their own starts_on (a standing post's move,"
    " a phased or training term's first day); confirmation requires it when such a post is filled"
)


class CampaignCreate(Strict):
    name: Name
    kind: CampaignKind = "general"
    year: int = Field(ge=2000, le=2100)
    weights: WeightsIn | None = None
    ratio: int = Field(default=2, ge=1, le=10, description="balance table: candidates per seat (1:2 by default)")
    tutor_capacity: int = Field(default=1, ge=1, le=10, description="training: trainees per tutor")
    growth_weights: GrowthWeightsIn | None = None
    starts_on: dt.date | None = Field(default=None, description=STARTS_ON)


class CampaignUpdate(Strict):
    name: Name | None = None
    weights: WeightsIn | None = None
    ratio: int | None = Field(default=None, ge=1, le=10)
    starts_on: dt.date | None = Field(
        default=None, description=f"{STARTS_ON} May be set until the campaign is confirmed."
    )


class CampaignPublic(ReadModel):
    id: str
    name: str
    kind: str
    year: int
    status: str
    weights: dict[str, Any]
    ratio: int
    tutor_capacity: int
    growth_weights: dict[str, Any]
    version: int
    confirmed_run_id: str | None
    starts_on: dt.date | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignPage(ReadModel):
    items: list[CampaignPublic]
    next_cursor: str | None


class PostCreate(Strict):
    title: Name
    host_unit_id: Id
    category: Category
    kind: PostKind = "standing"
    seats: int = Field(ge=1, le=10_000)
    term_months: int | None = Field(default=None, ge=1, le=120)
    starts_on: dt.date | None = None
    required_strengths: list[Tag] = Field(default_factory=list, max_length=50)
    professional_field: Name | None = None

    @model_validator(mode="after")
    def _term_for_limited_posts(self) -> PostCreate:
        if self.kind != "standing" and self.term_months is None:
            raise ValueError("term_months is required for phased and training posts")
        return self


class PostPublic(ReadModel):
    id: str
    campaign_id: str
    title: str
    host_unit_id: str
    category: str
    kind: str
    seats: int
    term_months: int | None
    starts_on: dt.date | None
    required_strengths: list[str]
    professional_field: str | None
    ranking: list[str]


class PoolFilter(Strict):
    leadership_status: LeadershipStatus | None = None
    unit_id: Id | None = Field(default=None, description="a unit id: its whole subtree")


class PoolRequest(Strict):
    """Exactly one of: a filter over the roster mirror, or a list of cadre ids."""

    filter: PoolFilter | None = None
    cadre_ids: list[Id] | None = Field(default=None, max_length=100_000)

    @model_validator(mode="after")
    def _one_way(self) -> PoolRequest:
        if (self.filter is None) == (self.cadre_ids is None):
            raise ValueError("give either filter or cadre_ids")
        return self


class PoolMemberPublic(ReadModel):
    cadre_id: str
    name: str
    unit_id: str | None = None
    ranking: list[str] | None = None


class ExcludedPublic(ReadModel):
    cadre_id: str
    name: str
    reason: str
    detail: str


class PoolPublic(ReadModel):
    campaign_id: str
    eligible: list[PoolMemberPublic]
    excluded: list[ExcludedPublic]


class CadrePreference(Strict):
    posts: list[Id] = Field(max_length=500, description="post ids, best first")


class CadrePreferencePublic(ReadModel):
    cadre_id: str
    posts: list[str]


class PostPreference(Strict):
    cadres: list[Id] = Field(max_length=100_000, description="cadre ids, best first")


class QuotaIn(Strict):
    dimension: Literal["category", "unit_kind", "body"]
    value: Tag
    min: int = Field(default=0, ge=0, le=1_000_000)
    max: int | None = Field(default=None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> QuotaIn:
        if self.max is not None and self.max < self.min:
            raise ValueError("max is below min")
        return self


class RunCreate(Strict):
    method: Literal["stable", "optimal"]
    proposing: Literal["cadres", "posts"] = "cadres"
    quotas: list[QuotaIn] = Field(default_factory=list, max_length=100)
    what_if: bool = Field(default=False, description="a what-if run leaves the campaign as it is")


class RunPublic(ReadModel):
    id: str
    campaign_id: str
    method: str
    proposing: str | None
    quotas: list[dict[str, Any]]
    what_if: bool
    status: str
    progress: int
    summary: dict[str, Any] | None
    error: dict[str, Any] | None
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class RunResultPublic(ReadModel):
    cadre_id: str
    post_id: str | None
    fit: str | None
    breakdown: dict[str, Any] | None
    cadre_rank: int | None
    post_rank: int | None
    reason: str
    detail: str | None
    overridden: bool


class RunResultPage(ReadModel):
    items: list[RunResultPublic]
    next_cursor: str | None


class OverrideCreate(Strict):
    cadre_id: Id
    post_id: Id | None = Field(description="the new post, or null to leave the cadre unplaced")
    reason: Reason


class OverridePublic(ReadModel):
    run_id: str
    cadre_id: str
    from_post_id: str | None
    to_post_id: str | None
    reason: str
    actor: str
    at: dt.datetime


class ConfirmRequest(Strict):
    run_id: Id | None = Field(default=None, description="default: the latest completed run that is not a what-if")


class ConfirmPublic(ReadModel):
    campaign: CampaignPublic
    run_id: str
    placements: int


class ShortlistRow(ReadModel):
    rank: int
    cadre_id: str
    name: str
    ranked_post: bool
    cadre_rank: int | None
    fit: str
    breakdown: dict[str, Any]


class FlagPublic(ReadModel):
    code: str
    message: str


class BalanceRow(ReadModel):
    post_id: str
    title: str
    category: str
    kind: str
    seats: int
    applicants: int
    shortlist: list[ShortlistRow]
    flags: list[FlagPublic]


class BalanceTable(ReadModel):
    campaign_id: str
    ratio: int
    posts: list[BalanceRow]


# training campaigns ------------------------------------------------------------------------------
class TutorAssign(Strict):
    tutor_id: Id
    reason: Reason | None = None


class TutorPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    tutor_id: str
    reason: str | None
    assigned_by: str
    assigned_at: dt.datetime


class TutorSuggestion(ReadModel):
    cadre_id: str
    name: str
    field_match: bool
    years_of_service: int
    proximity: int


class PlanIn(Strict):
    duties: list[Name] = Field(min_length=1, max_length=50)
    goals: list[Name] = Field(min_length=1, max_length=50)
    starts_on: dt.date
    ends_on: dt.date

    @model_validator(mode="after")
    def _period(self) -> PlanIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class PlanPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    tutor_id: str
    duties: list[str]
    goals: list[str]
    starts_on: dt.date
    ends_on: dt.date
    version: int
    agreed_by: str
    updated_at: dt.datetime


Mark = Annotated[int, Field(ge=0, le=100)]


class RatingIn(Strict):
    role: Literal["tutor", "host_unit", "public"]
    rater: Name
    performance: Mark
    adaptation: Mark


class InspectionIn(Strict):
    inspected_on: dt.date
    ratings: list[RatingIn] = Field(min_length=1, max_length=100)
    notes: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] | None = None


class InspectionPublic(ReadModel):
    id: str
    campaign_id: str
    trainee_id: str
    inspected_on: dt.date
    ratings: list[dict[str, Any]]
    notes: str | None
    score: str
    recorded_by: str
    recorded_at: dt.datetime


class GrowthPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    value: str | None
    inspections: int
    weights: dict[str, Any]
    method: str


class PlacementPublic(ReadModel):
    campaign_id: str
    campaign_name: str
    year: int
    post_id: str
    post_title: str
    host_unit_id: str
    post_kind: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    confirmed_at: dt.datetime


class CadrePlacements(ReadModel):
    cadre_id: str
    items: list[PlacementPublic]
