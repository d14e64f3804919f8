"""CloudEvents 1.0 envelope (JSON structured mode), the one event shape on every topic."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

import orjson

from cadrekit import context

SPEC_VERSION = "1.0"


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
    dataclass takes four times as long to build.)"""

    type: str
    subject: str
    key: str
    data: dict[str, Any]
    dataversion: str = "1"


def envelope(source: str, event: Event, *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": SPEC_VERSION,
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": event.type,
        "subject": event.subject,
        "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataversion": event.dataversion,
        "correlationid": context.correlation_id.get() or context.request_id.get() or str(uuid.uuid4()),
        "data": event.data,
    }


class BadEnvelope(ValueError):
    pass


REQUIRED = ("specversion", "id", "source", "type", "data")


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
