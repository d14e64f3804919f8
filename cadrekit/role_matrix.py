"""The role × endpoint matrix, read from the routes themselves (``require_roles`` marks
its dependency with the roles it admits), so the README table and the tests that check
every cell are generated and never hand-listed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from cadrekit.auth import Role, authenticate


@dataclass(frozen=True)
class Cell:
    method: str
    path: str
    roles: frozenset[Role]  # who may call it; all roles when the route only authenticates
    authenticated: bool


def _walk(dep: Dependant) -> Iterable[Dependant]:
    yield dep
    for d in dep.dependencies:
        yield from _walk(d)


def _routes(routes: Iterable[Any]) -> Iterable[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI ≥ 0.165 keeps included routers whole
            yield from _routes(route.original_router.routes)


def matrix(app: FastAPI, prefix: str = "/api/v1/") -> list[Cell]:
    cells = []
    for route in _routes(app.routes):
        if not route.path.startswith(prefix) or not route.include_in_schema:
            continue
        calls = [d.call for d in _walk(route.dependant)]
        allowed: frozenset[Role] | None = None
        for call in calls:
            roles = getattr(call, "allowed_roles", None)
            if roles is not None:
                allowed = roles if allowed is None else allowed & roles
        authenticated = allowed is not None or authenticate in calls
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            cells.append(Cell(method, route.path, allowed if allowed is not None else frozenset(Role), authenticated))
    return sorted(cells, key=lambda c: (c.path, c.method))


def markdown(cells: Iterable[Cell]) -> str:
    roles = list(Role)
    lines = ["| endpoint | " + " | ".join(r.value for r in roles) + " |", "|---|" + "---|" * len(roles)]
    for c in cells:
        marks = ["✓" if r in c.roles else "–" for r in roles] if c.authenticated else ["public"] * len(roles)
        lines.append(f"| `{c.method} {c.path}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)
