"""Opaque keyset cursors for every list endpoint: ``{items, next_cursor}``."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from cadrekit.errors import Invalid

MAX_PAGE = 500
DEFAULT_PAGE = 50


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def _fits(value: Any, kind: type | None) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
        return False
    if isinstance(value, int) and not -(2**63) <= value < 2**63:  # nor a BIGINT more
        return False
    return kind is None or isinstance(value, kind)


def decode_cursor(cursor: str | None, arity: int, types: tuple[type, ...] | None = None) -> list[Any] | None:
    """The values of a cursor made by ``encode_cursor``. A cursor that is not one of ours
    (wrong shape, or values not of ``types``, one type per value) is a 422, never a query
    with garbage parameters."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise Invalid(
            "cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor from this API"}]
        ) from exc
    kinds = types if types is not None else (None,) * arity
    if (
        not isinstance(values, list)
        or len(values) != arity
        or len(kinds) != arity
        or not all(_fits(v, k) for v, k in zip(values, kinds, strict=True))
    ):
        raise Invalid("cursor is not valid", errors=[{"field": "cursor", "message": "not a cursor from this API"}])
    return values


T = TypeVar("T")


def window(rows: Sequence[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """A page from ``limit + 1`` rows read in keyset order: the first ``limit``, and the
    cursor after the last of them (its ``key`` values) when there were more."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return items, encode_cursor(key(items[-1])) if more and items else None


def by_id(row: Any) -> list[Any]:
    """The keyset of rows read in id order."""
    return [row.id]
