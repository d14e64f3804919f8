"""Runs, their results and overrides, the comparison of two runs, and confirmation."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator

from cadrekit.schemas import Id, ReadModel, Reason, Strict, Tag
from services.matching.schemas.campaigns import CampaignPublic


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


class MovedCadre(ReadModel):
    """A cadre whose post differs: ``from_*`` in the run, ``to_*`` in the other run."""

    cadre_id: str
    from_post_id: str | None = Field(description="null: unplaced in the run")
    to_post_id: str | None = Field(description="null: unplaced in the other run")
    from_fit: str | None
    to_fit: str | None
    from_reason: str | None = Field(description="the run's reason for the line; null: the cadre has no line in it")
    to_reason: str | None


class PostHolders(ReadModel):
    post_id: str
    title: str
    seats: int
    holders_before: list[str] = Field(description="cadre ids on the post in the run")
    holders_after: list[str] = Field(description="cadre ids on the post in the other run")


class QuotaBounds(ReadModel):
    min: int
    max: int | None


class QuotaComparison(ReadModel):
    """Placements on a quota's group of posts in each run, for every quota either run set."""

    quota: str = Field(description="e.g. body=government")
    dimension: str
    value: str
    placed_before: int
    placed_after: int
    difference: int = Field(description="placed_after - placed_before")
    bounds_before: QuotaBounds | None = Field(description="the run's bounds; null: the run set no such quota")
    bounds_after: QuotaBounds | None


class RunComparison(ReadModel):
    """What the other run would change against the run: before is ``run_id``'s result,
    after is ``other_run_id``'s."""

    campaign_id: str
    run_id: str
    other_run_id: str
    total_fit_before: str
    total_fit_after: str
    total_fit_difference: str = Field(description="total_fit_after - total_fit_before")
    moved: list[MovedCadre]
    posts: list[PostHolders]
    quotas: list[QuotaComparison]


class ConfirmRequest(Strict):
    run_id: Id | None = Field(default=None, description="default: the latest completed run that is not a what-if")


class ConfirmPublic(ReadModel):
    campaign: CampaignPublic
    run_id: str
    placements: int
