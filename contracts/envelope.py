"""The CloudEvents 1.0 envelope (JSON structured mode), the one event shape on every topic.

Only this module makes and reads envelopes: a producer hands the outbox an :class:`Event`
(built by its data model, ``contracts.base.EventData.event``), the outbox wraps it here; a
consumer's inbox parses here and its handler reads ``data`` through the event's model.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

SPEC_VERSION = "1.0"
REQUIRED = ("specversion", "id", "source", "type", "data")
# The CloudEvents extension a companion carries: the id of the newer version's event.
SUPERSEDED_BY = "supersededby"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


class Event(NamedTuple):
    """An event about to be written to the outbox: what happened, to what, keyed by whom.
    (A named tuple, not a frozen dataclass: the import makes one per row, and a frozen
    dataclass takes four times as long to build.) ``data`` is the model's dump: dates may
    still be dates, the outbox writes them as ISO text."""

    type: str
    subject: str
    key: str
    data: dict[str, Any]
    dataversion: str = "1"


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class Envelopes:
    """Envelopes for the events of one transaction: one source, time and correlation id for
    them all; the base's keys keep their places, so every envelope reads the same."""

    def __init__(self, source: str, *, correlation_id: str | None = None) -> None:
        self.base: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": "",
            "source": source,
            "type": "",
            "subject": "",
            "time": now_text(),
            "datacontenttype": "application/json",
            "dataversion": "1",
            "correlationid": correlation_id or str(uuid.uuid4()),
            "data": None,
        }

    def of(self, event: Event, event_id: str | None = None, *, superseded_by: str | None = None) -> dict[str, Any]:
        env = {
            **self.base,
            "id": event_id or str(uuid.uuid4()),
            "type": event.type,
            "subject": event.subject,
            "dataversion": event.dataversion,
            "data": event.data,
        }
        if superseded_by is not None:
            # an older version published beside a newer event (contracts.base.companions)
            env[SUPERSEDED_BY] = superseded_by
        return env


def envelope(
    source: str, event: Event, *, event_id: str | None = None, correlation_id: str | None = None
) -> dict[str, Any]:
    return Envelopes(source, correlation_id=correlation_id).of(event, event_id)


def json_schema(event_type: str, dataversion: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one event type's envelope, ``data`` as given (the AsyncAPI payload)."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "data"],
        "properties": {
            "specversion": {"const": SPEC_VERSION},
            "id": {"type": "string", "description": "unique; de-duplicate on it"},
            "source": {"type": "string"},
            "type": {"const": event_type},
            "subject": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataversion": {"const": dataversion},
            "correlationid": {"type": "string", "description": "the request that caused it"},
            SUPERSEDED_BY: {
                "type": "string",
                "description": "only on an older data version published beside a newer one: the newer event's id; "
                "a consumer that reads the newer version skips this one",
            },
            "data": data,
        },
    }


def example(source: str, event_type: str, subject: str, dataversion: str, data: dict[str, Any]) -> dict[str, Any]:
    """An envelope as a document shows it: fixed id and time."""
    return {
        "specversion": SPEC_VERSION,
        "id": "7f1c0b9e-2d43-4c1a-9a8e-5b6f0d2c3e4a",
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": "2026-12-01T08:00:00Z",
        "datacontenttype": "application/json",
        "dataversion": dataversion,
        "correlationid": "req-0001",
        "data": data,
    }


class BadEnvelope(ValueError):
    pass


def parse(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadEnvelope(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadEnvelope("envelope is not an object")
    missing = [k for k in REQUIRED if k not in value]
    if missing:
        raise BadEnvelope(f"envelope lacks {', '.join(missing)}")
    if value["specversion"] != SPEC_VERSION:
        raise BadEnvelope(f"unsupported specversion {value['specversion']!r}")
    return value
