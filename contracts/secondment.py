"""What secondment publishes on ``secondment.events``, keyed by the cadre id. Ids, units,
dates and ratings; never the vetting record and never the discipline inspection office's
opinion. Short type names (``secondment.started``), as architecture.md allows for a
service's namesake aggregate.

Data version 2 of the placement events (issue 17): ``ends_on`` is the term's last day (24
months from 2017-04-01 end on 2019-03-31); version 1 carried the return day, one day later.
A consumer reads version 1 through :func:`placement_v1`. Version 1 stays published beside
version 2 until :data:`VERSION_1_SUNSET` (``contracts.base``: each placement event gets a
version-1 companion), for outside consumers that cannot move at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import Field

from contracts import topics
from contracts.base import DataMap, EventData, Id, Order
from contracts.roster import UnitKind

Direction = Literal["city_to_grassroots", "grassroots_to_city"]
ReviewKind = Literal["routine", "annual", "end_of_term"]
Rating = Literal["excellent", "competent", "basically_competent", "not_competent"]

_DAY = dt.timedelta(days=1)
# About six months after version 2 (issue 17): the last version-1 companion is written the
# day before. Announced in docs/events.md ("Versions").
VERSION_1_SUNSET = dt.date(2027, 6, 5)
_END_DAYS = ("ends_on", "ended_on")
_V1_DIFFERS = "`ends_on` and `ended_on` are the return day, the day after the term's last."


def placement_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 as version 2: ``ends_on`` and a completion's ``ended_on`` were the return
    day, one day after the last. ``days_served`` of version 1 counted the days before the
    return day, which is version 2's count up to and including the last day, so it stays."""
    return _shift_end_days(data, -_DAY)


def placement_v2_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 as version 1 (the companion an outside consumer of version 1 reads): the
    end days one day later, the return day; everything else as it is."""
    return _shift_end_days(data, _DAY)


def _shift_end_days(data: dict[str, Any], by: dt.timedelta) -> dict[str, Any]:
    out = dict(data)
    for key in _END_DAYS:
        if out.get(key):
            out[key] = (dt.date.fromisoformat(str(out[key])[:10]) + by).isoformat()
    return out


class _OfCadre(EventData):
    TOPIC: ClassVar[str] = topics.SECONDMENT
    KEY: ClassVar[str] = "cadre_id"

    cadre_id: Id


class Placement(_OfCadre):
    """Who is seconded where, for how long: what every placement event carries."""

    DATAVERSION: ClassVar[str] = "2"
    SUBJECT: ClassVar[tuple[str, str]] = ("secondment", "secondment_id")
    UPCASTS: ClassVar[dict[str, DataMap]] = {"1": placement_v1}
    ORDER: ClassVar[Order | None] = Order(("secondment_id",), "version")

    secondment_id: Id
    batch_id: Id
    pair_id: Id | None = None
    direction: Direction
    from_unit_id: Id
    to_unit_id: Id
    to_unit_kind: UnitKind
    to_unit_name: str | None = None
    title_held: str | None = Field(default=None, description="挂任职务, the post held in the receiving unit")
    term_months: int | None = Field(default=None, ge=1, le=60)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = Field(default=None, description="the term's last day")
    # Added in place (data version 2 still): absent in events from before 2026-12.
    version: int | None = Field(
        default=None, ge=1, description="the secondment's version: grows with every step of its life cycle"
    )


class Nominated(Placement):
    """A cadre was nominated; starts_on/ends_on are the batch's planned term."""

    TYPE: ClassVar[str] = "secondment.nominated"


class Approved(Placement):
    """The batch was approved (quotas met, vetting complete) with this secondment; starts_on/ends_on as planned."""

    TYPE: ClassVar[str] = "secondment.approved"


class Started(Placement):
    """The cadre is now seconded until ends_on (roster: availability 'seconded')."""

    TYPE: ClassVar[str] = "secondment.started"

    starts_on: dt.date
    ends_on: dt.date


class Extended(Placement):
    """The term was extended; ends_on is the new planned end."""

    TYPE: ClassVar[str] = "secondment.extended"

    starts_on: dt.date
    ends_on: dt.date
    months: int
    reason: str


class Ended(Placement):
    """The secondment ended, completed or early (roster: availability back, grassroots experience accrued)."""

    TYPE: ClassVar[str] = "secondment.ended"

    end_kind: Literal["completed", "early"]
    ended_on: dt.date
    days_served: int = Field(ge=0)
    grassroots_days: int = Field(
        ge=0, description="days that count as grassroots experience (to a town or village), else 0"
    )
    reason: str | None = None


class Withdrawn(Placement):
    """A nomination was withdrawn before the start (after vetting or approval, too)."""

    TYPE: ClassVar[str] = "secondment.withdrawn"

    reason: str | None = None


class ReviewRecorded(_OfCadre):
    """A review was recorded in the secondment archive (comments stay in the service)."""

    TYPE: ClassVar[str] = "secondment.review.recorded"
    ORDER: ClassVar[Order | None] = None  # a review is recorded once
    SUBJECT: ClassVar[tuple[str, str]] = ("secondment", "secondment_id")

    review_id: Id
    secondment_id: Id
    kind: ReviewKind
    rating: Rating
    reviewed_on: dt.date


class ReserveAdded(_OfCadre):
    """The cadre entered the reserve pool (后备干部库), e.g. rated excellent at the end of the term."""

    TYPE: ClassVar[str] = "secondment.reserve.added"
    ORDER: ClassVar[Order | None] = None  # an entry to the pool, made once
    SUBJECT: ClassVar[tuple[str, str]] = ("reserve", "reserve_id")

    reserve_id: Id
    source: str
    secondment_id: Id | None = None
    added_on: dt.date


def _version_1(model: type[Placement]) -> type[Placement]:
    """The placement event as version 1 published it: the same fields, the end days being
    the return day. Published beside version 2 until the sunset; never built by a producer
    (the outbox writes it from version 2, ``contracts.base.companions``)."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": f"{model.__name__}V1",
        "__doc__": f"{model.__doc__} (Data version 1: {_V1_DIFFERS})",
        "DIFFERS": _V1_DIFFERS,
        "TYPE": model.TYPE,
        "DATAVERSION": "1",
        "UPCASTS": {},
        "SUNSET": VERSION_1_SUNSET,
        "DOWNCAST": staticmethod(placement_v2_to_v1),
        "__annotations__": annotations,
    }
    for name in _END_DAYS:
        field = model.model_fields.get(name)
        if field is None:
            continue
        annotations[name] = field.annotation
        default = ... if field.is_required() else field.default
        namespace[name] = Field(default=default, description="the return day: one day after the term's last day")
    return type(f"{model.__name__}V1", (model,), namespace)


NominatedV1 = _version_1(Nominated)
ApprovedV1 = _version_1(Approved)
StartedV1 = _version_1(Started)
ExtendedV1 = _version_1(Extended)
EndedV1 = _version_1(Ended)
WithdrawnV1 = _version_1(Withdrawn)
