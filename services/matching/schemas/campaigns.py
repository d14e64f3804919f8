"""Campaigns, their posts, pool, preferences and balance table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from cadrekit.schemas import Id, Name, ReadModel, Strict, Tag

# The five post categories of domain.md (五大类别), as the roster's post wishes name them.
Category = Literal["党政群团", "经济管理", "城建交通", "社会管理", "民生事业"]
CampaignKind = Literal["placement", "training", "general"]
PostKind = Literal["standing", "phased", "training"]
LeadershipStatus = Literal["in_post", "second_line", "non_leading"]
Weight = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class WeightsIn(Strict):
    """Fit-score weights; omitted ones keep their defaults (README "fit score")."""

    continuity: Weight = Field(default=Decimal("20"), description="工作连续性 (continuity of work)")
    wish: Weight = Field(default=Decimal("30"), description="个人意愿 (the cadre's own wish)")
    post_fit: Weight = Field(
        default=Decimal("25"), description="人岗相适 (person–post fit: the post's required strengths the cadre has)"
    )
    age_care: Weight = Field(default=Decimal("10"), description="年龄照顾 (care for cadres near retirement)")
    points: Weight = Field(default=Decimal("15"), description="年度积分 (annual points)")
    growth: Weight = Field(default=Decimal("0"), description="成长指数 (growth index from a training campaign)")
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


class PreferenceWarning(ReadModel):
    """Kept, but worth a second look: a preference about a cadre the pool excludes now."""

    cadre_id: str
    reason: str = Field(description="the exclusion: retiring, health_exempt, seconded, on_assignment, …")
    message: str
    message_zh: str


class CadrePreferencePublic(ReadModel):
    cadre_id: str
    posts: list[str]
    warnings: list[PreferenceWarning] = Field(default_factory=list)


class PostPreferencePublic(PostPublic):
    warnings: list[PreferenceWarning] = Field(default_factory=list)


class PostPreference(Strict):
    cadres: list[Id] = Field(max_length=100_000, description="cadre ids, best first")


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
