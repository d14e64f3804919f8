"""One pydantic model per event type and data version: the contract both sides read.

A producer builds its event from the model (``Model(...).event()``); a consumer reads an
envelope's ``data`` through it (``Model.of(envelope)``), older versions upcast first and
fields it does not know ignored. The catalogue a service serves at ``/events/catalog`` and
the gateway's AsyncAPI document are generated from the same models (``contracts.catalogue``).

A breaking change gets a new data version, and the old version stays published beside it
for a deprecation period: the old model names the day it stops (``SUNSET``) and how the new
version's data reads in it (``DOWNCAST``). Every outbox row of the new version then gets a
companion in the old one (:func:`companions`), which names the new event in the CloudEvents
extension ``supersededby``. A consumer that knows the newer version skips the companion
(:func:`superseded`); one that knows only the old version skips the new event, whose version
it does not know, and reads the companion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema

from contracts.envelope import Event

# Every model, by (event type, data version); filled as the modules are imported.
REGISTRY: dict[tuple[str, str], type[EventData]] = {}
# The older versions published beside a newer one for a deprecation period, by event type.
BESIDE: dict[str, list[type[EventData]]] = {}

DataMap = Callable[[dict[str, Any]], dict[str, Any]]


def two_places(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


# Points and other decimals travel as text with two places ("12.50"), never as a float.
Points = Annotated[
    Decimal,
    PlainSerializer(two_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "decimal, two places"}),
]
Id = Annotated[str, WithJsonSchema({"type": "string", "description": "an id (a UUID for the platform's own rows)"})]


class UnknownEvent(LookupError):
    pass


@dataclass(frozen=True)
class Order:
    """What orders an event type's states: ``by`` grows with every change of the subject
    that ``of`` names, so a consumer keeps the state with the highest ``by`` and an older
    one (a replay, a dead letter sent back) changes nothing (``cadrekit.latest``)."""

    of: tuple[str, ...]
    by: str

    def describe(self) -> str:
        return f"highest {self.by} per {', '.join(self.of)}"


class EventData(BaseModel):
    """The ``data`` of one event type. Subclasses set the class variables; the docstring's
    first paragraph is the event's summary in the catalogue and the AsyncAPI document."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    DATAVERSION: ClassVar[str] = "1"
    # The Kafka key and the CloudEvents subject, named by the fields that hold them.
    KEY: ClassVar[str]  # e.g. "cadre_id": one cadre's events arrive in order
    SUBJECT: ClassVar[tuple[str, str]]  # e.g. ("cadre", "cadre_id") → subject "cadre/<id>"
    KEY_NAME: ClassVar[str | None] = None  # what the key is, when the field's name does not say
    # Every type declares it (tests/contracts): an Order, or None for a record made once and
    # never changed, which has nothing to order.
    ORDER: ClassVar[Order | None]
    # Older data versions this model reads: version → a function giving this version's data.
    UPCASTS: ClassVar[dict[str, DataMap]] = {}
    # An older version still published beside the newer one: the first day it is no longer
    # (the end of its deprecation period), and how the newer version's data reads in it.
    SUNSET: ClassVar[dt.date | None] = None
    DOWNCAST: ClassVar[DataMap | None] = None
    DIFFERS: ClassVar[str] = ""  # how it reads unlike the newer version (docs/events.md)
    EXAMPLE: ClassVar[dict[str, Any] | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            key = (cls.TYPE, cls.DATAVERSION)
            if key in REGISTRY:
                raise TypeError(f"two models for {cls.TYPE} version {cls.DATAVERSION}")
            REGISTRY[key] = cls
            if cls.__dict__.get("SUNSET") is not None:
                if cls.__dict__.get("DOWNCAST") is None:
                    raise TypeError(f"{cls.TYPE} version {cls.DATAVERSION} has a sunset and no DOWNCAST")
                BESIDE.setdefault(cls.TYPE, []).append(cls)

    @classmethod
    def summary(cls) -> str:
        return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())

    @classmethod
    def key_name(cls) -> str:
        if cls.KEY_NAME:
            return cls.KEY_NAME
        return cls.KEY.removesuffix("_id").replace("_", " ") + " id"

    # producing ---------------------------------------------------------------------------
    def event(self) -> Event:
        values = self.__dict__
        kind, field = self.SUBJECT
        return Event(self.TYPE, f"{kind}/{values[field]}", values[self.KEY], self.model_dump(), self.DATAVERSION)

    @classmethod
    def event_of_trusted(cls, data: dict[str, Any]) -> Event:
        """The event of ``data`` already in this model's shape (the roster import: one per
        row, where building the model would cost a sixth of the row's time). The
        emitted-equals-published test checks what this path emits."""
        kind, field = cls.SUBJECT
        return Event(cls.TYPE, f"{kind}/{data[field]}", data[cls.KEY], data, cls.DATAVERSION)

    # consuming ---------------------------------------------------------------------------
    @classmethod
    def of(cls, envelope: dict[str, Any]) -> Self:
        """The envelope's data as this model: an older version upcast first."""
        version = str(envelope.get("dataversion") or "1")
        data: dict[str, Any] = envelope["data"]
        upcast = cls.UPCASTS.get(version) if version != cls.DATAVERSION else None
        return cls.model_validate(upcast(data) if upcast else data)


def model_of(event_type: str, dataversion: str = "1") -> type[EventData]:
    try:
        return REGISTRY[(event_type, dataversion)]
    except KeyError:
        raise UnknownEvent(f"no contract for {event_type} version {dataversion}") from None


def current(event_type: str) -> type[EventData]:
    """The newest model of an event type."""
    versions = [m for (t, _), m in REGISTRY.items() if t == event_type]
    if not versions:
        raise UnknownEvent(f"no contract for {event_type}")
    return max(versions, key=lambda m: int(m.DATAVERSION))


def of_topic(topic: str) -> Iterable[type[EventData]]:
    return sorted((m for m in REGISTRY.values() if topic == m.TOPIC), key=lambda m: (m.TYPE, m.DATAVERSION))


def published_beside(event_type: str, dataversion: str, today: dt.date) -> list[type[EventData]]:
    """The older versions of ``event_type`` still published beside ``dataversion`` on ``today``."""
    return [
        m
        for m in BESIDE.get(event_type, ())
        if int(m.DATAVERSION) < int(dataversion) and m.SUNSET is not None and today < m.SUNSET
    ]


def companions(event: Event, today: dt.date) -> list[Event]:
    """The event in each older version still in its deprecation period, built (and so
    validated) by that version's model; none for a type without one."""
    if event.type not in BESIDE:
        return []
    out = []
    for model in published_beside(event.type, event.dataversion, today):
        assert model.DOWNCAST is not None
        out.append(model.model_validate(model.DOWNCAST(event.data)).event())
    return out


def superseded(envelope: dict[str, Any]) -> bool:
    """A companion (an older version published beside a newer event, ``supersededby``) that
    this reader skips because it knows a newer version of the type and reads that one."""
    if not envelope.get("supersededby"):
        return False
    try:
        newest = current(str(envelope["type"]))
    except UnknownEvent:
        return False
    return int(newest.DATAVERSION) > int(str(envelope.get("dataversion") or "1"))
