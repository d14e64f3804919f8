"""Roster tables (its own metadata: no other service sees them)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, SmallInteger, Text, func
from sqlmodel import Field, SQLModel

from cadrekit.db import UTCDateTime, service_registry, utcnow
from cadrekit.revocation import revocation_table_of
from cadrekit.runtime import kit_tables_of

registry = service_registry()


class RosterModel(SQLModel, registry=registry):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class OrderedIds:
    """Time-ordered UUID strings (version 7, RFC 9562) for rows written in bulk.

    Random (version 4) keys land all over a B-tree: a 100k-row import then touches every
    leaf page of each index on them again and again. These ids grow, so inserts append at
    the right edge of the primary key and of the indexes and foreign keys that refer to it.
    Layout: 48-bit Unix milliseconds, version 7, 12 random bits, then the variant and a
    62-bit counter that starts at a random value below 2**61 and counts up, so ids from one
    generator grow strictly and two generators almost surely never meet.
    """

    def __init__(self) -> None:
        millis = time.time_ns() // 1_000_000
        head = f"{(millis << 16) | (0x7 << 12) | secrets.randbits(12):016x}"
        self._prefix = f"{head[:8]}-{head[8:12]}-{head[12:16]}-"
        self._next = secrets.randbits(61)

    def take(self, count: int) -> list[str]:
        start, prefix = self._next, self._prefix
        self._next += count
        # the variant bits 10, then the counter: its top 14 bits, a dash, its low 48 bits
        return [f"{prefix}{0x8000 | n >> 48:04x}-{n & 0xFFFFFFFFFFFF:012x}" for n in range(start, start + count)]


class Unit(RosterModel, table=True):
    __tablename__ = "units"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=20)
    region: str | None = Field(default=None, max_length=50)
    body: str | None = Field(default=None, max_length=20)
    parent_id: str | None = Field(default=None, foreign_key="units.id", max_length=36)
    path: str = Field(max_length=2000, index=True)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UnitChange(RosterModel, table=True):
    __tablename__ = "unit_changes"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    unit_id: str = Field(foreign_key="units.id", index=True, max_length=36)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    acting_client: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=20)  # created | renamed | moved | updated
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# Bulk imports leave these to the database (COPY omits the columns): the transaction's
# start time, so every row of an import carries the same stamp, and 100k-row imports do
# not encode three timestamps per cadre in Python. Everything else writes them itself.
_STAMPED_BY_DB: dict[str, Any] = {"server_default": func.now()}

# Cadre.id_number_form: whether the stored ID number is known to be in the normal form
# (id_numbers.normalize: ASCII digits and X only) with the blind index of that form.
# Numbers stored before issue 15 start UNCHECKED (migration 0004); the service checks
# them once (services/roster/renormalising.py). A TWIN holds the normal form of a number
# another cadre already holds: its blind index is a placeholder, it is listed for an admin.
ID_FORM_UNCHECKED, ID_FORM_NORMAL, ID_FORM_TWIN = 0, 1, 2


class Cadre(RosterModel, table=True):
    __tablename__ = "cadres"
    __table_args__ = (
        Index("ix_cadres_unit_status", "unit_id", "status"),
        Index("ix_cadres_name_id", "name", "id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=50)
    gender: str = Field(max_length=6)
    birth_date: dt.date
    # The ID number is sealed (encrypted) with the key named by id_number_kid and found
    # through a keyed hash (blind index); the masked form is kept for display.
    id_number_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    id_number_kid: str = Field(max_length=50)
    id_number_index: str = Field(max_length=64, unique=True)
    id_number_masked: str = Field(max_length=18)
    # New rows are normal; COPY leaves the column out, so the database says so too.
    id_number_form: int = Field(
        default=ID_FORM_NORMAL, sa_type=SmallInteger, sa_column_kwargs={"server_default": str(ID_FORM_NORMAL)}
    )
    unit_id: str = Field(foreign_key="units.id", max_length=36)
    post_title: str | None = Field(default=None, max_length=200)
    rank: str | None = Field(default=None, max_length=50)
    party_member: bool = False
    education: str | None = Field(default=None, max_length=200)
    years_of_service: int | None = None
    grassroots_periods: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grassroots_years: str = Field(default="0.0", max_length=10)
    strengths: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    post_wishes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    professional_field: str | None = Field(default=None, max_length=200)
    willingness: dict[str, bool] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    leadership_status: str = Field(default="non_leading", max_length=20)
    health: str = Field(default="healthy", max_length=20)
    # Recorded per person (None: derived from gender and rank); see domain/retirement.py.
    retirement_category: str | None = Field(default=None, max_length=20)
    retirement_decision: str | None = Field(default=None, max_length=10)  # early | later
    retirement_decision_on: dt.date | None = None  # the retirement date the decision sets
    retirement_decided_on: dt.date | None = None  # the day it was decided
    retirement_date_override: dt.date | None = None
    retirement_date: dt.date
    # Derived with the date: the rule that produced it, and the rule set's key (a row derived
    # under another key is derived again at startup, services/roster/rederiving.py).
    retirement_rule: str = Field(default="", max_length=300)
    retirement_rule_zh: str = Field(default="", max_length=300)
    retirement_law: str = Field(default="", max_length=40)
    retirement_category_in_force: str = Field(default="", max_length=20)  # recorded, else derived
    status: str = Field(default="active", max_length=10)  # active | left
    # Set from secondment and matching events (services/roster/reactions/).
    seconded_until: dt.date | None = None
    on_assignment_until: dt.date | None = None
    exit_kind: str | None = Field(default=None, max_length=20)
    exit_date: dt.date | None = None
    exit_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_STAMPED_BY_DB)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_STAMPED_BY_DB)


class CadreChange(RosterModel, table=True):
    __tablename__ = "cadre_changes"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    cadre_id: str = Field(foreign_key="cadres.id", index=True, max_length=36)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_STAMPED_BY_DB)
    actor: str = Field(max_length=200)
    acting_client: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=20)  # registered | updated | moved | left | imported
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SecondmentSeen(RosterModel, table=True):
    """The newest version of each secondment whose events roster applied: an older one (a
    dead letter replayed after the end) changes nothing (``services/roster/reactions``)."""

    __tablename__ = "secondment_versions"

    secondment_id: str = Field(primary_key=True, max_length=36)
    version: int | None = None


class ImportJob(RosterModel, table=True):
    __tablename__ = "import_jobs"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    filename: str = Field(max_length=300)
    mode: str = Field(max_length=10)  # insert | upsert
    dry_run: bool = False
    create_units: bool = False
    status: str = Field(default="queued", max_length=20)  # queued | running | succeeded | failed
    rows_total: int = 0
    rows_done: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=200)
    # The unit scope of the token that started the job (None: the whole tree). The job is
    # theirs: its report is for tokens that cover one of these units (cadrekit.scope).
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


metadata = registry.metadata
kit = kit_tables_of(metadata)
revoked_clients = revocation_table_of(metadata)  # the gateway's disabled clients (cadrekit.revocation)
