"""What matching publishes on ``matching.events``: a campaign's events keyed by the campaign
id, a cadre's (a placement, a tutor, a growth index) by the cadre id."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from contracts import topics
from contracts.base import EventData, Id, Order, Points

CampaignKind = Literal["placement", "training", "general"]
PostKind = Literal["standing", "phased", "training"]


class _OfCampaign(EventData):
    TOPIC: ClassVar[str] = topics.MATCHING
    KEY: ClassVar[str] = "campaign_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("campaign", "campaign_id")

    campaign_id: Id


class CampaignOpened(_OfCampaign):
    """A campaign opened for preferences."""

    TYPE: ClassVar[str] = "matching.campaign.opened"
    ORDER: ClassVar[Order | None] = Order(("campaign_id",), "version")

    name: str
    kind: CampaignKind
    year: int
    posts: int
    seats: int
    # Added in place (data version 1 still): absent in events from before 2026-12.
    version: int | None = Field(default=None, ge=1, description="the campaign's version: grows with every change")


class RunCompleted(_OfCampaign):
    """An assignment run finished and stored its result."""

    TYPE: ClassVar[str] = "matching.run.completed"
    ORDER: ClassVar[Order | None] = None  # a run completes once

    run_id: Id
    method: Literal["stable", "optimal"]
    what_if: bool
    solver: str | None = None
    proven_optimal: bool | None = None
    posts: int | None = None
    seats: int | None = None
    placed: int
    unplaced: int
    excluded: int = 0
    total_fit: Points


class PlacementConfirmed(_OfCampaign):
    """A cadre's placement was confirmed. Roster moves the cadre (standing) or marks it on
    assignment until ends_on (phased, training)."""

    TYPE: ClassVar[str] = "matching.placement.confirmed"
    ORDER: ClassVar[Order | None] = None  # a placement is confirmed once
    KEY: ClassVar[str] = "cadre_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("cadre", "cadre_id")

    cadre_id: Id
    post_id: Id
    host_unit_id: Id
    term_months: int | None = None
    post_kind: PostKind
    post_title: str | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    run_id: Id | None = None
    year: int | None = None


class TutorAssigned(_OfCampaign):
    """A trainee of a training campaign got a tutor (one per trainee)."""

    TYPE: ClassVar[str] = "matching.tutor.assigned"
    ORDER: ClassVar[Order | None] = None  # one tutor per trainee, assigned once
    KEY: ClassVar[str] = "trainee_id"
    KEY_NAME: ClassVar[str | None] = "cadre id"  # the trainee's
    SUBJECT: ClassVar[tuple[str, str]] = ("cadre", "trainee_id")

    trainee_id: Id
    tutor_id: Id


class GrowthIndexUpdated(_OfCampaign):
    """A trainee's growth index changed after an inspection (0–100)."""

    TYPE: ClassVar[str] = "matching.growth_index.updated"
    # Every inspection moves the index: the one with more inspections is the newer.
    ORDER: ClassVar[Order | None] = Order(("cadre_id", "campaign_id"), "inspections")
    KEY: ClassVar[str] = "cadre_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("cadre", "cadre_id")

    cadre_id: Id
    value: Points
    inspections: int
