"""Scoring tables (its own metadata: no other service sees them).

Points are stored as whole hundredths (``Points``): exact on both backends, summable and
sortable in SQL, and never a float on the way in or out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from cadrekit.db import UTCDateTime, service_registry, utcnow
from cadrekit.revocation import revocation_table_of
from cadrekit.roster_mirror import mirror_tables_of
from cadrekit.runtime import kit_tables_of
from services.scoring.domain.ledger import line_kind
from services.scoring.domain.money import CENT

registry = service_registry()


class ScoringModel(SQLModel, registry=registry):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Points(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) / CENT
        if cents != cents.to_integral_value():
            raise ValueError(f"points with more than two decimal places: {value}")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) * CENT).quantize(CENT)


def _stamp() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


class Catalogue(ScoringModel, table=True):
    __tablename__ = "catalogues"
    __table_args__ = (UniqueConstraint("year", "version", name="uq_catalogues_year_version"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    year: int
    version: int
    status: str = Field(default="draft", max_length=10)  # draft | published
    categories: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    impact_months: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = _stamp()
    published_by: str | None = Field(default=None, max_length=200)
    published_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    row_version: int = 1


class Entry(ScoringModel, table=True):
    """A ledger line. Once approved it never changes but for the flags that point at what
    came later (reversed_by_id, waived), which never alter its own points."""

    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_cadre_year", "cadre_id", "year", "status"),
        Index("ix_entries_status_proposed", "status", "proposed_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    cadre_id: str = Field(max_length=36)
    unit_id: str = Field(max_length=36)
    year: int
    kind: str = Field(default="award", max_length=10)  # award (under a rule, either direction) | reversal
    rule_code: str = Field(max_length=30)
    direction: str = Field(max_length=10)
    sanction_kind: str | None = Field(default=None, max_length=30)
    status: str = Field(default="pending", max_length=10)  # pending | approved | rejected
    occurred_on: dt.date
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    reference: str | None = Field(default=None, max_length=200)
    proposed_by: str = Field(max_length=200)
    proposed_at: dt.datetime = _stamp()
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    catalogue_version: int | None = None
    rule_points: Decimal | None = Field(default=None, sa_type=Points)
    points: Decimal | None = Field(default=None, sa_type=Points)  # signed, as applied
    capped: bool = False
    seq: int | None = None  # approval order within the cadre's year
    reverses_id: str | None = Field(default=None, max_length=36, unique=True)
    reversed_by_id: str | None = Field(default=None, max_length=36)
    restates_id: str | None = Field(default=None, max_length=36)
    waived: bool = False
    version: int = 1

    @property
    def line_kind(self) -> str:
        """What the line is to a reader: award, deduction, sanction, reversal, restatement."""
        return line_kind(self.kind, self.direction, self.sanction_kind, self.restates_id)


class Waiver(ScoringModel, table=True):
    """Fault tolerance (容错纠错): cancels a deduction's effect; the entry stays."""

    __tablename__ = "waivers"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    entry_id: str = Field(foreign_key="entries.id", max_length=36, unique=True)
    cadre_id: str = Field(max_length=36, index=True)
    year: int
    reference: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    granted_by: str = Field(max_length=200)
    granted_at: dt.datetime = _stamp()
    seq: int  # its place in the cadre's year, beside the entries


class Total(ScoringModel, table=True):
    """A cadre's year: the total, and the counter that orders approvals (caps depend on it).
    Its row is the lock every change to the cadre's year takes first."""

    __tablename__ = "totals"
    __table_args__ = (Index("ix_totals_year_total", "year", "total"),)

    cadre_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    total: Decimal = Field(default=Decimal("0.00"), sa_type=Points)
    positive: Decimal = Field(default=Decimal("0.00"), sa_type=Points)
    negative: Decimal = Field(default=Decimal("0.00"), sa_type=Points)
    seq: int = 0
    catalogue_version: int | None = None
    updated_at: dt.datetime = _stamp()


class ImpactPeriodRow(ScoringModel, table=True):
    __tablename__ = "impact_periods"

    entry_id: str = Field(primary_key=True, max_length=36)
    cadre_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=30)
    starts_on: dt.date
    ends_on: dt.date
    lifted: bool = False
    lifted_reason: str | None = Field(default=None, max_length=200)


class YearPolicy(ScoringModel, table=True):
    """Per year: appraisal weights, excellence ratios by unit rating, the city incentive
    pool and the second-line reserve. Absent years use the documented defaults."""

    __tablename__ = "year_policies"

    year: int = Field(primary_key=True)
    appraisal_weights: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    excellence_ratios: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    incentive_pool: int = 0
    second_line_reserved: int = 0
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = _stamp()
    version: int = 1


class UnitRating(ScoringModel, table=True):
    __tablename__ = "unit_ratings"

    year: int = Field(primary_key=True)
    unit_id: str = Field(primary_key=True, max_length=36)
    rating: str = Field(max_length=20)
    set_by: str = Field(max_length=200)
    set_at: dt.datetime = _stamp()


class QuotaGrant(ScoringModel, table=True):
    """Extra excellence quota granted to a unit from the city incentive pool."""

    __tablename__ = "quota_grants"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    year: int = Field(index=True)
    unit_id: str = Field(max_length=36)
    count: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    granted_by: str = Field(max_length=200)
    granted_at: dt.datetime = _stamp()


class AppraisalRow(ScoringModel, table=True):
    __tablename__ = "appraisals"

    cadre_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    party_committee: Decimal = Field(sa_type=Points)
    public: Decimal = Field(sa_type=Points)
    organization: Decimal = Field(sa_type=Points)
    weighted: Decimal = Field(sa_type=Points)
    weights: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    visible: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    latent: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = _stamp()
    version: int = 1


class KeyPost(ScoringModel, table=True):
    """A key middle-level post under special appraisal (seed 003: 81 posts in 20 organs)."""

    __tablename__ = "key_posts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: str = Field(max_length=200)
    unit_id: str = Field(max_length=36, index=True)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = _stamp()


class KeyPostAppraisal(ScoringModel, table=True):
    __tablename__ = "key_post_appraisals"
    __table_args__ = (UniqueConstraint("key_post_id", "cadre_id", "year", name="uq_key_post_appraisals_post"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    key_post_id: str = Field(foreign_key="key_posts.id", max_length=36)
    cadre_id: str = Field(max_length=36, index=True)
    year: int
    special_assessment: str = Field(max_length=200)
    inspection: str = Field(max_length=200)
    audit: str = Field(max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = _stamp()


class Rating(ScoringModel, table=True):
    """A cadre's excellence rating for a year: proposed within quotas, then confirmed."""

    __tablename__ = "ratings"

    cadre_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    unit_id: str = Field(max_length=36)
    grade: str = Field(default="excellent", max_length=20)
    source: str = Field(max_length=30)  # unit_quota | second_line_reserve
    status: str = Field(default="proposed", max_length=10)  # proposed | confirmed
    proposed_by: str = Field(max_length=200)
    proposed_at: dt.datetime = _stamp()
    confirmed_by: str | None = Field(default=None, max_length=200)
    confirmed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


metadata = registry.metadata
kit = kit_tables_of(metadata)
revoked_clients = revocation_table_of(metadata)  # the gateway's disabled clients (cadrekit.revocation)
mirror = mirror_tables_of(metadata)
