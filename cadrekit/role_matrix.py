"""The access matrix, read from the routes themselves: ``require_roles`` marks its
dependency with the roles it admits and ``cadrekit.scope`` marks its rules, so the tables
in docs/access.md and the tests that call every cell (role × scope) are generated and
never hand-listed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cadrekit.auth import Role, authenticate
from cadrekit.scope import Rule, rules_of


@dataclass(frozen=True)
class Caller:
    """A column of the matrix: who calls, with which role. ``delegated``: a person a portal
    acts for, the portal named in the token's ``act`` (gateway/delegations.py): admitted
    where the role is, and called as such in every cell, so a route that treats it
    otherwise shows."""

    name: str
    role: Role
    delegated: bool = False


CALLERS: tuple[Caller, ...] = (
    *(Caller(r.value, r) for r in Role),
    Caller("portal as officer", Role.officer, delegated=True),
)


@dataclass(frozen=True)
class Cell:
    method: str
    path: str
    roles: frozenset[Role]  # who may call it; all roles when the route only authenticates
    authenticated: bool
    rules: tuple[Rule, ...] = ()  # how unit scope applies (cadrekit.scope)

    def admits(self, caller: Caller) -> bool:
        return caller.role in self.roles


def _walk(dep: Dependant) -> Iterable[Dependant]:
    yield dep
    for d in dep.dependencies:
        yield from _walk(d)


def api_routes(routes: Iterable[Any]) -> Iterable[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI ≥ 0.165 keeps included routers whole
            yield from api_routes(route.original_router.routes)


def allowed_roles(route: APIRoute) -> frozenset[Role] | None:
    allowed: frozenset[Role] | None = None
    for d in _walk(route.dependant):
        roles = getattr(d.call, "allowed_roles", None)
        if roles is not None:
            allowed = roles if allowed is None else allowed & roles
    return allowed


def is_authenticated(route: APIRoute) -> bool:
    return allowed_roles(route) is not None or any(d.call is authenticate for d in _walk(route.dependant))


def matrix(app: FastAPI, prefix: str = "/api/v1/") -> list[Cell]:
    cells = []
    for route in api_routes(app.routes):
        if not route.path.startswith(prefix) or not route.include_in_schema:
            continue
        allowed = allowed_roles(route)
        authenticated = is_authenticated(route)
        rules = rules_of(route)
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            roles = allowed if allowed is not None else frozenset(Role)
            cells.append(Cell(method, route.path, roles, authenticated, rules))
    return sorted(cells, key=lambda c: (c.path, c.method))


def markdown(cells: Iterable[Cell]) -> str:
    lines = [
        "| endpoint | " + " | ".join(c.name for c in CALLERS) + " | unit scope |",
        "|---|" + "---|" * len(CALLERS) + "---|",
    ]
    for c in cells:
        marks = ["✓" if c.admits(who) else "–" for who in CALLERS] if c.authenticated else ["public"] * len(CALLERS)
        scope = "; ".join(r.describe() for r in c.rules) if c.authenticated else "–"
        lines.append(f"| `{c.method} {c.path}` | " + " | ".join(marks) + f" | {scope} |")
    return "\n".join(lines)
