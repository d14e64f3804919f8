"""Opaque keyset cursors for every list endpoint: ``{items, next_cursor}``."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from cadrekit.problems import InvalidInput

MAX_PAGE = 500
DEFAULT_PAGE = 50


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(
            "cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor from this API"}]
        ) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor from this API"}])
    return values
