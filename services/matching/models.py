"""Matching tables (its own metadata), plus the roster mirror and the read models it keeps
from scoring and secondment events."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from cadrekit.db import UTCDateTime, service_registry, utcnow
from cadrekit.revocation import revocation_table_of
from cadrekit.roster_mirror import mirror_tables_of
from cadrekit.runtime import kit_tables_of

registry = service_registry()


class MatchingModel(SQLModel, registry=registry):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Campaign(MatchingModel, table=True):
    __tablename__ = "campaigns"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # placement | training | general
    year: int
    status: str = Field(default="draft", max_length=20)  # draft | open | matched | confirmed
    weights: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ratio: int = 2  # balance table: candidates per seat
    # Training campaigns: trainees per tutor (one unless the campaign allows more) and the
    # growth-index weights (services/matching/domain/growth.py).
    tutor_capacity: int = 1
    growth_weights: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_run_id: str | None = Field(default=None, max_length=36)
    # When placements on posts without their own start take effect; confirmation requires
    # it then (a business date is never the server's date of confirmation).
    starts_on: dt.date | None = None


class Post(MatchingModel, table=True):
    __tablename__ = "posts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaigns.id", index=True, max_length=36)
    title: str = Field(max_length=200)
    host_unit_id: str = Field(max_length=36)
    category: str = Field(max_length=20)
    kind: str = Field(max_length=20)  # standing | phased | training
    seats: int
    term_months: int | None = None
    starts_on: dt.date | None = None
    required_strengths: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    professional_field: str | None = Field(default=None, max_length=200)
    # The post's own ranking of cadres (因岗择人), best first; the rest rank by fit.
    ranking: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PoolMember(MatchingModel, table=True):
    __tablename__ = "pool_members"

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    cadre_id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=50)
    excluded: str | None = Field(default=None, max_length=30)  # retiring | health_exempt | seconded | …
    excluded_detail: str | None = Field(default=None, max_length=300)
    # The cadre's ranking of posts entered by the office (干部选岗); None: from roster wishes.
    ranking: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Run(MatchingModel, table=True):
    __tablename__ = "runs"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaigns.id", index=True, max_length=36)
    method: str = Field(max_length=10)  # stable | optimal
    proposing: str | None = Field(default=None, max_length=10)  # cadres | posts
    quotas: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    what_if: bool = False
    status: str = Field(default="queued", max_length=20)  # queued | running | succeeded | failed
    progress: int = 0
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RunResult(MatchingModel, table=True):
    """One line per cadre of the pool: the post and why, or why none."""

    __tablename__ = "run_results"

    run_id: str = Field(foreign_key="runs.id", primary_key=True, max_length=36)
    cadre_id: str = Field(primary_key=True, max_length=36)
    post_id: str | None = Field(default=None, max_length=36)
    fit: str | None = Field(default=None, max_length=12)
    breakdown: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    cadre_rank: int | None = None
    post_rank: int | None = None
    reason: str = Field(max_length=40)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    overridden: bool = False


class RunOverride(MatchingModel, table=True):
    """An officer's change to one placement of a run, with the reason (the run's history)."""

    __tablename__ = "run_overrides"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=36)
    cadre_id: str = Field(max_length=36)
    from_post_id: str | None = Field(default=None, max_length=36)
    to_post_id: str | None = Field(default=None, max_length=36)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Placement(MatchingModel, table=True):
    """A confirmed result for one cadre (domain.md "placement")."""

    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_cadre_year", "cadre_id", "year"),)

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    cadre_id: str = Field(primary_key=True, max_length=36)
    post_id: str = Field(max_length=36)
    run_id: str = Field(max_length=36)
    year: int
    post_kind: str = Field(max_length=20)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    confirmed_by: str = Field(max_length=200)
    confirmed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CadrePoints(MatchingModel, table=True):
    """Annual points totals, from ``scoring.score.changed``."""

    __tablename__ = "cadre_points"

    cadre_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    total: str = Field(max_length=20)  # Decimal as text, two places
    catalogue_version: int | None = None
    sequence: int | None = None  # the cadre-year's sequence of this total: only a higher one replaces it
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Secondment(MatchingModel, table=True):
    """Secondments known from ``secondment.events`` (for the 'already seconded' exclusion)."""

    __tablename__ = "secondments"

    id: str = Field(primary_key=True, max_length=36)
    cadre_id: str = Field(index=True, max_length=36)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    ended_on: dt.date | None = None
    status: str = Field(max_length=20)  # active | ended
    version: int | None = None  # the secondment's version of this state: only a higher one replaces it


class TutorAssignment(MatchingModel, table=True):
    """One tutor per trainee (练兵导师), kept per campaign."""

    __tablename__ = "tutor_assignments"

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    trainee_id: str = Field(primary_key=True, max_length=36)
    tutor_id: str = Field(index=True, max_length=36)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    assigned_by: str = Field(max_length=200)
    assigned_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TrainingPlan(MatchingModel, table=True):
    """The plan agreed one-to-one between trainee and tutor: duties, goals, period."""

    __tablename__ = "training_plans"

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    trainee_id: str = Field(primary_key=True, max_length=36)
    tutor_id: str = Field(max_length=36)
    duties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    goals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_on: dt.date
    ends_on: dt.date
    version: int = 1
    agreed_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InspectionRecord(MatchingModel, table=True):
    """An on-site inspection of a trainee by an inspection group."""

    __tablename__ = "inspections"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    campaign_id: str = Field(foreign_key="campaigns.id", index=True, max_length=36)
    trainee_id: str = Field(index=True, max_length=36)
    inspected_on: dt.date
    ratings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    score: str = Field(max_length=10)
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GrowthIndex(MatchingModel, table=True):
    """The latest growth index per trainee and campaign: a reference for later selections."""

    __tablename__ = "growth_indexes"

    campaign_id: str = Field(foreign_key="campaigns.id", primary_key=True, max_length=36)
    trainee_id: str = Field(primary_key=True, index=True, max_length=36)
    value: str = Field(max_length=10)
    inspections: int
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = registry.metadata
kit = kit_tables_of(metadata)
revoked_clients = revocation_table_of(metadata)  # the gateway's disabled clients (cadrekit.revocation)
mirror = mirror_tables_of(metadata)
