"""Request bodies and read models of ``api/excellence.py``: appraisals, key posts, unit
ratings, quota grants and excellence proposals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from cadrekit.schemas import Id, ReadModel, Strict
from services.scoring.domain.quotas import Passed
from services.scoring.schemas import Money


class PolicyIn(Strict):
    appraisal_weights: dict[str, Decimal] | None = None
    excellence_ratios: dict[str, Decimal] | None = None
    incentive_pool: int | None = Field(default=None, ge=0, le=100000)
    second_line_reserved: int | None = Field(default=None, ge=0, le=100000)


class Ratings(Strict):
    party_committee: Decimal = Field(max_digits=5, decimal_places=2)
    public: Decimal = Field(max_digits=5, decimal_places=2)
    organization: Decimal = Field(max_digits=5, decimal_places=2)


class AppraisalIn(Strict):
    ratings: Ratings
    visible: dict[str, Decimal] = Field(default_factory=dict, description="visible achievements (显绩), 0–100 each")
    latent: dict[str, Decimal] = Field(default_factory=dict, description="latent achievements (潜绩), 0–100 each")


class KeyPostIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    unit_id: Id


class KeyPostAppraisalIn(Strict):
    cadre_id: Id
    year: int
    special_assessment: str = Field(min_length=1, max_length=200)
    inspection: str = Field(min_length=1, max_length=200)
    audit: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class UnitRatingIn(Strict):
    rating: str = Field(min_length=1, max_length=20)


class GrantIn(Strict):
    unit_id: Id
    count: int = Field(ge=1, le=1000)
    reason: str = Field(min_length=1, max_length=2000)


class ProposeIn(Strict):
    unit_id: str | None = Field(default=None, max_length=36)


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
