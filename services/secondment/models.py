"""Secondment tables (its own metadata: no other service sees them), plus the kit tables and
the service's own copy of the roster (cadrekit.roster_mirror)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cadrekit.db import UTCDateTime, service_registry, utcnow
from cadrekit.revocation import revocation_table_of
from cadrekit.roster_mirror import mirror_tables_of
from cadrekit.runtime import kit_tables_of
from services.secondment.domain.terms import term_end

registry = service_registry()


class SecondmentModel(SQLModel, registry=registry):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Batch(SecondmentModel, table=True):
    __tablename__ = "batches"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    year: int
    starts_on: dt.date
    term_months: int = 24
    allow_unpaired: bool = False
    needed_specialties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    performance_top_share: str = Field(default="0.3", max_length=20)
    performance_year: int | None = None
    # [{direction, regions, min_count, max_count, min_share, max_share}], shares as "2/3"
    quota_rules: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="open", max_length=20)  # open | approved
    version: int = 1
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def ranked_year(self) -> int:
        """Whose points rank grassroots nominees: the year named, else the last full year."""
        return self.performance_year or self.year - 1

    @property
    def planned_ends_on(self) -> dt.date:
        return term_end(self.starts_on, self.term_months)


class Pair(SecondmentModel, table=True):
    """A city organ and a grassroots unit that send each other one cadre (双向互派)."""

    __tablename__ = "pairs"
    __table_args__ = (UniqueConstraint("batch_id", "city_organ_id", "grassroots_unit_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    batch_id: str = Field(foreign_key="batches.id", index=True, max_length=36)
    city_organ_id: str = Field(max_length=36)
    city_organ_name: str = Field(max_length=200)
    grassroots_unit_id: str = Field(max_length=36)
    grassroots_unit_name: str = Field(max_length=200)
    grassroots_unit_kind: str = Field(max_length=30)
    region: str | None = Field(default=None, max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Secondment(SecondmentModel, table=True):
    """One cadre's secondment. What statistics and the archive need about the cadre and the
    units is copied in at nomination, so the record stays as it was when the roster moves on."""

    __tablename__ = "secondments"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    batch_id: str = Field(foreign_key="batches.id", index=True, max_length=36)
    pair_id: str | None = Field(default=None, foreign_key="pairs.id", max_length=36)
    cadre_id: str = Field(index=True, max_length=36)
    # The cadre id while the secondment is open, NULL once it is closed: a unique column, so
    # the database itself refuses a cadre in two open secondments, even under concurrency.
    holds_cadre_id: str | None = Field(default=None, unique=True, max_length=36)
    cadre_name: str = Field(max_length=50)
    gender: str | None = Field(default=None, max_length=6)
    birth_date: dt.date | None = None
    party_member: bool = False
    direction: str = Field(max_length=30)
    from_unit_id: str = Field(max_length=36)
    from_unit_name: str = Field(max_length=200)
    from_unit_kind: str = Field(max_length=30)
    to_unit_id: str = Field(max_length=36)
    to_unit_name: str = Field(max_length=200)
    to_unit_kind: str = Field(max_length=30)
    region: str | None = Field(default=None, max_length=100)  # of the grassroots side
    title_held: str = Field(max_length=200)
    state: str = Field(default="nominated", max_length=20)
    eligibility: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    performance_judgement: str | None = Field(default=None, max_length=20)
    term_months: int
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    ended_on: dt.date | None = None
    end_kind: str | None = Field(default=None, max_length=20)
    end_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    days_served: int | None = None
    extensions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    withdraw_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = 1
    nominated_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Vetting(SecondmentModel, table=True):
    """The vetting record (考察). The discipline office's opinion text is personal data:
    masked in every answer unless read on purpose, and each such read is audited."""

    __tablename__ = "vettings"

    secondment_id: str = Field(foreign_key="secondments.id", primary_key=True, max_length=36)
    political_quality: str | None = Field(default=None, max_length=10)
    moral_quality: str | None = Field(default=None, max_length=10)
    results: str | None = Field(default=None, max_length=10)
    diligence: str | None = Field(default=None, max_length=10)
    integrity: str | None = Field(default=None, max_length=10)
    discipline_reference: str | None = Field(default=None, max_length=200)
    discipline_opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    vetted_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Review(SecondmentModel, table=True):
    __tablename__ = "reviews"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    secondment_id: str = Field(foreign_key="secondments.id", index=True, max_length=36)
    cadre_id: str = Field(max_length=36)
    kind: str = Field(max_length=20)  # routine | annual | end_of_term
    rating: str = Field(max_length=30)
    reviewed_on: dt.date
    comments: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReserveEntry(SecondmentModel, table=True):
    """The reserve pool (后备干部库): cadres marked for future promotion, with where from."""

    __tablename__ = "reserve_entries"
    __table_args__ = (UniqueConstraint("cadre_id", "source"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    cadre_id: str = Field(max_length=36)
    cadre_name: str = Field(max_length=50)
    source: str = Field(max_length=100)  # e.g. secondment/<id>
    secondment_id: str | None = Field(default=None, max_length=36)
    added_on: dt.date
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CadreScore(SecondmentModel, table=True):
    """A cadre's annual points total as scoring last published it (scoring.score.changed)."""

    __tablename__ = "cadre_scores"

    cadre_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    total: str = Field(max_length=20)
    sequence: int | None = None  # the cadre-year's sequence of this total: only a higher one replaces it
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CadreAssignment(SecondmentModel, table=True):
    """A confirmed placement from a selection campaign (matching.placement.confirmed): the
    "not already placed" rule of eligibility reads it."""

    __tablename__ = "cadre_assignments"

    cadre_id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(primary_key=True, max_length=36)
    post_kind: str = Field(max_length=20)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = registry.metadata
kit = kit_tables_of(metadata)
revoked_clients = revocation_table_of(metadata)  # the gateway's disabled clients (cadrekit.revocation)
mirror = mirror_tables_of(metadata)
