"""What roster publishes on ``roster.events``: cadres keyed by cadre id, units by unit id.

Events carry what subscribers need to act (ids, unit, birth date and gender for age rules,
the five dimensions) and never the ID number. A cadre's registration (and a snapshot's
re-publication) carries its whole published state; the mirrors (``cadrekit.roster_mirror``)
keep the columns of :data:`CADRE_STATE_FIELDS`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import topics
from contracts.base import EventData, Id, Order

UnitKind = Literal["city", "district", "city_organ", "district_organ", "town", "village", "enterprise", "institution"]
Body = Literal["party_committee", "people_congress", "government", "cppcc"]
Gender = Literal["male", "female"]
LeadershipStatus = Literal["in_post", "second_line", "non_leading"]
Health = Literal["healthy", "limited", "exempt"]
ExitKind = Literal["retired", "transferred_out", "deceased"]
CadreStatus = Literal["active", "left"]

VERSION_DOC = "the subject's version: grows with every change; apply only newer versions"


class _Cadre(EventData):
    TOPIC: ClassVar[str] = topics.ROSTER
    KEY: ClassVar[str] = "cadre_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("cadre", "cadre_id")
    ORDER: ClassVar[Order | None] = Order(("cadre_id",), "version")

    cadre_id: Id
    version: int = Field(description=VERSION_DOC)


class CadreFields(BaseModel):
    """A cadre's published fields: its state beside its id and version. A registration and
    a snapshot carry them flat; every later change carries them whole as ``state``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    gender: Gender
    birth_date: dt.date
    unit_id: Id
    post_title: str | None = None
    rank: str | None = None
    party_member: bool = False
    education: str | None = None
    years_of_service: int | None = None
    grassroots_periods: list[dict[str, Any]] = Field(
        default_factory=list, description="grassroots experience: {start, end, unit_name}, ISO dates"
    )
    grassroots_years: str = Field(default="0", description="years of grassroots experience, to the business day")
    strengths: list[str] = Field(default_factory=list)
    post_wishes: list[str] = Field(default_factory=list)
    professional_field: str | None = None
    willingness: dict[str, bool] = Field(default_factory=dict)
    leadership_status: LeadershipStatus = "non_leading"
    health: Health = "healthy"
    retirement_date: dt.date
    retirement_rule: str = Field(default="", description="the rule that gave retirement_date, in words")
    retirement_rule_zh: str = Field(default="", description="the same in Chinese")
    status: CadreStatus = "active"


# Fields after the id and version, in CadreFields' order (roster's events rely on it).
class CadreState(CadreFields, _Cadre):
    """A cadre's published state, as a registration and a snapshot carry it."""


class CadreRegistered(CadreState):
    """A cadre was registered (or re-published by a snapshot: then an upsert)."""

    TYPE: ClassVar[str] = "roster.cadre.registered"
    EXAMPLE: ClassVar[dict[str, Any] | None] = {
        "cadre_id": "0b8a4f7e-5c1d-4c39-9a55-2f1f7f0f7a10",
        "version": 1,
        "name": "张某",
        "gender": "female",
        "birth_date": "1972-05-01",
        "unit_id": "6a1c2f3e-8b9d-4e5f-a1b2-c3d4e5f60718",
        "rank": "正科",
        "retirement_date": "2029-05-01",
        "status": "active",
    }

    snapshot: bool = Field(default=False, description="true when re-published by a snapshot: an upsert")


# The state's fields other than the subject's id and version: what a mirror keeps.
CADRE_STATE_FIELDS: tuple[str, ...] = tuple(CadreFields.model_fields)
assert tuple(CadreState.model_fields) == ("cadre_id", "version", *CADRE_STATE_FIELDS)


class _CadreChange(_Cadre):
    # Added in place (data version 1 still): events from before 2026-12 lack it, and a
    # mirror then merges what the event names, as it did.
    state: CadreFields | None = Field(
        default=None,
        description="the cadre's whole published state after the change (the fields of roster.cadre.registered): "
        "a mirror keeps it whole, so an update it missed leaves no hole",
    )


class CadreUpdated(_CadreChange):
    """Fields of a cadre changed; ``changed`` holds the new values (never the ID number)."""

    TYPE: ClassVar[str] = "roster.cadre.updated"

    unit_id: Id
    changed: dict[str, Any] = Field(description="the changed published fields and their new values")
    id_number_changed: bool = False


class CadreMoved(_CadreChange):
    """A cadre moved to another unit or post."""

    TYPE: ClassVar[str] = "roster.cadre.moved"

    from_unit_id: Id
    to_unit_id: Id
    post_title: str | None = None
    effective_on: dt.date | None = None
    reason: str = ""


class CadreLeft(_CadreChange):
    """A cadre left the roster (retired, transferred out, deceased)."""

    TYPE: ClassVar[str] = "roster.cadre.left"

    unit_id: Id | None = None
    kind: ExitKind
    date: dt.date


class _UnitState(EventData):
    TOPIC: ClassVar[str] = topics.ROSTER
    KEY: ClassVar[str] = "unit_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("unit", "unit_id")
    ORDER: ClassVar[Order | None] = Order(("unit_id",), "version")

    unit_id: Id
    name: str
    kind: UnitKind
    region: str | None = None
    body: Body | None = None
    parent_id: Id | None = None
    path: list[Id] = Field(description="unit ids from the root down to the unit")
    version: int = Field(description=VERSION_DOC)


class UnitCreated(_UnitState):
    """A unit was created (or re-published by a snapshot)."""

    TYPE: ClassVar[str] = "roster.unit.created"

    snapshot: bool = False


class UnitUpdated(_UnitState):
    """A unit changed or moved; its whole state, and what changed."""

    TYPE: ClassVar[str] = "roster.unit.updated"

    changed: dict[str, Any] = Field(default_factory=dict)
