"""Optimistic concurrency over HTTP: a row's version as an ETag, If-Match back to a version.

Every changeable object carries an integer ``version``; ``GET`` answers ``ETag: "v<version>"``
and a change sends it back in ``If-Match``. The use case compares it with the row's version
under a row lock, so of two writers holding the same version exactly one wins and the other
gets 412 — no update is lost.
"""

from __future__ import annotations

import re
from typing import Literal, overload

from cadrekit.problems import InvalidInput, PreconditionRequired

_IF_MATCH = re.compile(r'\s*(?:W/)?"v(\d{1,9})"\s*')


def etag(version: int) -> str:
    return f'"v{version}"'


@overload
def parse_if_match(value: str | None, *, what: str, required: Literal[True] = True) -> int: ...
@overload
def parse_if_match(value: str | None, *, what: str, required: bool) -> int | None: ...
def parse_if_match(value: str | None, *, what: str, required: bool = True) -> int | None:
    """The version an ``If-Match`` header names; ``what`` ("a cadre") words the 428."""
    if value is None:
        if required:
            raise PreconditionRequired(f"send If-Match with the ETag from GET to change {what}")
        return None
    m = _IF_MATCH.fullmatch(value)
    if not m:
        raise InvalidInput(
            "If-Match is not an ETag of this API", errors=[{"field": "If-Match", "message": 'expected "v<version>"'}]
        )
    return int(m.group(1))
