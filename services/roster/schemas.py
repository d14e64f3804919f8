"""API models. Requests forbid unknown fields (no mass assignment of status, version…)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, field_validator

from cadrekit.dates import today
from cadrekit.schemas import NO_NUL, ReadModel, Reason, Strict, Tag, Text
from services.roster.domain import id_numbers
from services.roster.domain.units import path_ids

# Unit ids are looked up as given: a NUL would reach PostgreSQL, which cannot hold it, and an
# empty id is refused here (a move to parent "" would otherwise store it and fail the foreign key).
# Roster's names (of people and units) are at most 50 characters, as the ledger's columns.
Name = Annotated[Text, Field(min_length=1, max_length=50)]
Text200 = Annotated[Text, Field(max_length=200)]
# The words roster publishes are its contract's (contracts/roster.py): one list, not two.
from contracts.roster import Body, CadreStatus, ExitKind, Gender, Health, LeadershipStatus, UnitKind  # noqa: E402

# What the retirement law keys on (services/roster/domain/retirement.py Category).
RetirementCategory = Literal["men", "women_cadres", "women_workers", "senior_women"]
RetirementBasis = Literal["set", "early", "later", "statutory"]


# units ------------------------------------------------------------------------------------
class UnitCreate(Strict):
    name: Name
    kind: UnitKind
    region: Text200 | None = None
    body: Body | None = None
    parent_id: str | None = Field(default=None, min_length=1, max_length=36, pattern=NO_NUL)


class UnitUpdate(Strict):
    name: Name | None = None
    region: Text200 | None = None
    body: Body | None = None
    kind: UnitKind | None = None


class UnitMove(Strict):
    parent_id: str | None = Field(min_length=1, max_length=36, pattern=NO_NUL)  # null: top level
    reason: Reason | None = None


# Timestamps as ``datetime.isoformat`` writes them ("+00:00"), where the JSON always had that.
IsoDateTime = Annotated[dt.datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json")]


class UnitPublic(ReadModel):
    id: str
    name: str
    kind: UnitKind
    region: str | None
    body: Body | None
    parent_id: str | None
    path: list[str]  # the unit ids from the root down to the unit itself
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_validator("path", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return path_ids(value) if isinstance(value, str) else value  # a row holds "/root/…/self/"


class UnitChangePublic(ReadModel):
    at: dt.datetime
    actor: str
    acting_client: str | None
    kind: str
    changes: dict[str, Any]


# cadres -----------------------------------------------------------------------------------
class GrassrootsPeriod(Strict):
    start: dt.date
    end: dt.date | None = None
    unit_name: Text200 | None = None

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.date | None, info: Any) -> dt.date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise ValueError("end is before start")
        return end


class RetirementDecisionIn(Strict):
    """A recorded decision to retire earlier (at most three years before the statutory date,
    never before the original age) or later (by agreement, at most three years after)."""

    kind: Literal["early", "later"]
    retires_on: dt.date
    decided_on: dt.date | None = None


class Willingness(Strict):
    town: bool = False
    heavy_task: bool = False
    mentor: bool = False


class CadreFields(Strict):
    name: Name
    gender: Gender
    birth_date: dt.date
    id_number: str = Field(min_length=15, max_length=20)
    unit_id: str = Field(min_length=1, max_length=36, pattern=NO_NUL)
    post_title: Text200 | None = None
    rank: Text200 | None = None
    party_member: bool = False
    education: Text200 | None = None
    years_of_service: int | None = Field(default=None, ge=0, le=70)
    grassroots_periods: list[GrassrootsPeriod] = Field(default_factory=list, max_length=50)
    strengths: list[Tag] = Field(default_factory=list, max_length=30)
    post_wishes: list[Text200] = Field(default_factory=list, max_length=20)
    professional_field: Text200 | None = None
    willingness: Willingness = Field(default_factory=Willingness)
    leadership_status: LeadershipStatus = "non_leading"
    health: Health = "healthy"
    retirement_category: RetirementCategory | None = None  # None: from gender and rank
    retirement_decision: RetirementDecisionIn | None = None
    retirement_date: dt.date | None = None

    @field_validator("id_number")
    @classmethod
    def _checksum(cls, value: str) -> str:
        try:
            return id_numbers.validate(value)
        except id_numbers.InvalidIdNumber as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("birth_date")
    @classmethod
    def _plausible(cls, value: dt.date) -> dt.date:
        if not dt.date(1900, 1, 1) <= value <= today():
            raise ValueError("not a plausible birth date")
        return value


class CadreCreate(CadreFields):
    pass


class CadreUpdate(Strict):
    """Every field optional; the unit changes only through a move, and status only by an exit."""

    name: Name | None = None
    gender: Gender | None = None
    birth_date: dt.date | None = None
    id_number: str | None = Field(default=None, min_length=15, max_length=20)
    post_title: Text200 | None = None
    rank: Text200 | None = None
    party_member: bool | None = None
    education: Text200 | None = None
    years_of_service: int | None = Field(default=None, ge=0, le=70)
    grassroots_periods: list[GrassrootsPeriod] | None = Field(default=None, max_length=50)
    strengths: list[Tag] | None = Field(default=None, max_length=30)
    post_wishes: list[Text200] | None = Field(default=None, max_length=20)
    professional_field: Text200 | None = None
    willingness: Willingness | None = None
    leadership_status: LeadershipStatus | None = None
    health: Health | None = None
    # Sent as null: cleared (the category goes back to the one gender and rank give).
    retirement_category: RetirementCategory | None = None
    retirement_decision: RetirementDecisionIn | None = None
    retirement_date: dt.date | None = None

    @field_validator("id_number")
    @classmethod
    def _checksum(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return id_numbers.validate(value)
        except id_numbers.InvalidIdNumber as exc:
            raise ValueError(str(exc)) from exc


class CadreMove(Strict):
    unit_id: str = Field(min_length=1, max_length=36, pattern=NO_NUL)
    post_title: Text200 | None = None
    effective_on: dt.date
    reason: Reason


class CadreExit(Strict):
    kind: ExitKind
    date: dt.date
    reason: Reason


class ExitPublic(ReadModel):
    kind: ExitKind | None
    date: dt.date | None
    reason: str | None


class AvailabilityPublic(ReadModel):
    year: int
    status: str
    reason: str | None


class RetirementDecisionPublic(ReadModel):
    kind: Literal["early", "later"]
    retires_on: dt.date
    decided_on: dt.date | None


class RetirementPublic(ReadModel):
    """The retirement date with the rule that produced it."""

    date: dt.date
    basis: RetirementBasis  # set (typed in) > early/later (a decision) > statutory
    rule: str
    rule_zh: str
    category: RetirementCategory
    category_zh: str
    category_is_set: bool  # recorded for this person, not derived from gender and rank
    decision: RetirementDecisionPublic | None


class CadrePublic(ReadModel):
    id: str
    name: str
    gender: Gender
    birth_date: str  # masked unless revealed: "1975-**-**"
    age: int
    id_number: str  # masked: 330482********1234
    unit_id: str
    unit_name: str | None
    post_title: str | None
    rank: str | None
    party_member: bool
    education: str | None
    years_of_service: int | None
    grassroots_periods: list[dict[str, Any]]
    grassroots_years: str
    strengths: list[str]
    post_wishes: list[str]
    professional_field: str | None
    willingness: dict[str, bool]
    leadership_status: LeadershipStatus
    health: Health
    retirement_date: dt.date
    retirement_date_is_set: bool
    retirement: RetirementPublic
    status: CadreStatus
    exit: ExitPublic | None
    availability: AvailabilityPublic | None = None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CadreChangePublic(ReadModel):
    at: dt.datetime
    actor: str
    acting_client: str | None
    kind: str
    changes: dict[str, Any]
    reason: str | None


class ExcludedCadre(ReadModel):
    cadre_id: str
    name: str
    status: str
    reason: str | None


class CadrePage(ReadModel):
    items: list[CadrePublic]
    next_cursor: str | None
    excluded: list[ExcludedCadre] | None = None


class UnitPage(ReadModel):
    items: list[UnitPublic]
    next_cursor: str | None


class IdNumberReveal(ReadModel):
    cadre_id: str
    id_number: str
    birth_date: dt.date


class ImportJobPublic(ReadModel):
    id: str
    filename: str
    mode: str
    dry_run: bool
    create_units: bool
    status: str
    rows_total: int
    rows_done: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    errors: list[dict[str, Any]]
    message: str | None
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class AuditEntry(ReadModel):
    at: dt.datetime
    actor: str
    acting_client: str | None
    role: str
    action: str
    subject_type: str
    subject_id: str
    fields: str
    reason: str
    request_id: str | None


# statistics -------------------------------------------------------------------------------
class StructureStats(ReadModel):
    year: int
    unit_id: str | None
    total: int
    by: dict[str, dict[str, int]]  # dimension → value → count


# operations -------------------------------------------------------------------------------
class EventsRepublished(ReadModel):
    republishing: int


class SnapshotSubjects(Strict):
    """Only these units and cadres: how a mirror's open gap (its ``/health``) is healed."""

    unit_ids: list[Annotated[str, Field(max_length=36)]] = Field(default_factory=list, max_length=1000)
    cadre_ids: list[Annotated[str, Field(max_length=36)]] = Field(default_factory=list, max_length=1000)


class EventsSnapshot(ReadModel):
    events: int
    not_found: list[str] = Field(default_factory=list, description="ids asked for that roster does not hold")


class SealingStatus(ReadModel):
    active_kid: str
    pending: int


class Resealed(ReadModel):
    resealed: int
    active_kid: str
    pending: int


class TwinCadre(ReadModel):
    id: str
    name: str
    unit_id: str
    unit_name: str
    status: str
    created_at: IsoDateTime
    holds_number: bool  # the one lookups by the number find; the others are its twins


class TwinGroup(ReadModel):
    id_number: str  # masked
    cadres: list[TwinCadre]


class IdNumberTwins(ReadModel):
    pending: int
    twins: list[TwinGroup]


class Rederived(ReadModel):
    law: str  # the key of the rule set in force
    looked_at: int  # rows derived under another rule set
    changed: int  # whose date or rule changed (each with a history line and an event)
    pending: int


class Renormalised(ReadModel):
    checked: int
    renormalised: int
    twins: int
    failed: int
    released: int
    pending: int
