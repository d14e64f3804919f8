"""What the scope matrix needs from each app: two sibling subtrees with real objects.

Each module in ``tests/access/worlds/`` builds one app (one per backend) with a subtree A
(the scoped tokens' units) and a sibling subtree B, and in each of them an object of every
kind the app's routes name: a cadre, its entries, a key post, a secondment, a placement …
The matrix (``test_scope_matrix.py``) then calls every endpoint as every role three ways:
with a token for the whole tree, scoped to A on A's object, scoped to A on B's object.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI

from cadrekit.role_matrix import Caller
from cadrekit.testing.plugin import Signer

Ids = dict[str, str]
Headers = Callable[[Caller, list[str] | None], dict[str, str]]

# The portal client of the "portal as officer" caller, and the person it acts for: one
# registered for the whole tree, one for the scoped tokens' units (gateway/delegations.py).
PORTAL = "portal-for-officers"


def delegated_person(scope: list[str] | None) -> str:
    return "officer-whole" if scope is None else "officer-scoped"


def signed(signer: Signer) -> Headers:
    """A service world's tokens, signed as the gateway signs them: for the delegated caller,
    an officer token naming the person as ``sub`` and the portal as ``act``."""

    def headers(caller: Caller, scope: list[str] | None) -> dict[str, str]:
        if caller.delegated:
            person = f"portal:{PORTAL}:{delegated_person(scope)}"
            return signer.headers(caller.role.value, sub=person, act=PORTAL, client_id=PORTAL, unit_scope=scope)
        return signer.headers(caller.role.value, sub=f"{caller.role.value}-person", unit_scope=scope)

    return headers


@dataclass
class World:
    app: FastAPI
    headers: Headers  # a token of the caller, with the unit scope (None: the whole tree)
    scope: list[str]  # the units of the scoped tokens: A's root
    inside: Ids  # path/query parameter or body field → the id of an object in A
    outside: Ids  # the same names → the id of the like object in sibling B
    fixed: Ids = field(default_factory=dict)  # the same on both sides ({year}, a campaign …)
    # "METHOD /path" → a body given the side's ids (the scope rule's fields are set on top).
    bodies: dict[str, Callable[[Ids], dict[str, Any]]] = field(default_factory=dict)
    # "METHOD /path" → query parameters no scope rule reads (a required filter, a year).
    queries: dict[str, Callable[[Ids], dict[str, str]]] = field(default_factory=dict)
    # Strings of B (its cadre's id and name, its objects' ids) that no answer to a token
    # scoped to A may contain, unless the request itself named them.
    secrets: set[str] = field(default_factory=set)
    # Tables an answer may legitimately write to even when it refuses (none, so far).
    ignore_tables: set[str] = field(default_factory=set)


class WorldBuilder(Protocol):
    def __call__(
        self, backend: str, database_factories: Any, signer: Signer, tmp_path: Path
    ) -> AbstractAsyncContextManager[World]: ...
