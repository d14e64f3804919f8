"""Unit scope as one declared policy: every route says where its object's units are.

A token may be limited to some units (``unit_scope``: those units and their subtrees), for
every role. Before this module each use case checked that by hand and, where a hand was
missing, scope leaked (issue 15). Now every authenticated route under ``/api/v1/`` declares
one or more rules, and these dependencies apply them before the route runs:

- ``in_path(subject, param)`` — the object named in the path (a cadre, an entry, a
  secondment …) belongs to the units its subject resolver returns; out of scope answers
  404 exactly as an unknown object does, for reads and writes alike;
- ``in_query(subject, param)`` / ``in_body(subject, field)`` — an optional reference in
  the query or the JSON body; out of scope answers exactly as an unknown one (404 for a
  query filter, 422 naming the field for a body);
- ``filtered(what)`` — a list or a composite answer: the route receives the resolved
  :class:`Scope` and hands it to its query, so rows outside are never read (counts and
  seats of a composite answer stay);
- ``no_unit(reason)`` — an object that belongs to no unit (a catalogue, a campaign's
  settings): any scope may call;
- ``whole_tree(reason)`` — something that spans the whole city (a batch, a run): only a
  token with no unit scope may call (403).

:func:`check_declared` makes an app refuse to start when a route declares nothing, and
``cadrekit.role_matrix`` reads the rules off the routes, so the access tables and the
tests that call every cell are generated from the same declarations.

An object with several units (a secondment's home and host, a placement's cadre and post)
is in scope if any of them is. Each service gives the rules a :class:`ScopeResolver` that
knows its tables; the rules themselves are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit import mirror_lag
from cadrekit.auth import CurrentPrincipal, Principal
from cadrekit.errors import field_error
from cadrekit.problems import Forbidden, NotFound

T = TypeVar("T")


class Where(StrEnum):
    path = "path"
    query = "query"
    body = "body"
    filter = "filter"
    none = "none"
    whole_tree = "whole_tree"


@dataclass(frozen=True)
class Rule:
    where: Where
    subject: str | None = None  # "cadre", "unit", "entry" …: the resolver's name for it
    name: str | None = None  # the path/query parameter or body field
    note: str = ""

    def describe(self) -> str:
        if self.where is Where.path:
            return f"{self.subject} in path"
        if self.where is Where.query:
            return f"{self.subject} in query `{self.name}`"
        if self.where is Where.body:
            return f"{self.subject} in body `{self.name}`"
        if self.where is Where.filter:
            return f"filtered{': ' + self.note if self.note else ''}"
        if self.where is Where.none:
            return "no unit"
        return "whole tree only"


@dataclass(frozen=True)
class Scope:
    """The units a request may see: ``None`` is the whole tree, else the closed set of
    unit ids of the token's subtrees."""

    units: frozenset[str] | None

    @property
    def whole_tree(self) -> bool:
        return self.units is None

    def covers(self, *unit_ids: str | None) -> bool:
        """Any of the units (an object with several units is in scope if any is)."""
        return self.units is None or any(u is not None and u in self.units for u in unit_ids)

    def clause(self, *columns: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose unit column (any of several) is in scope."""
        if self.units is None:
            return true()
        if not self.units:
            return false()
        return or_(*(c.in_(self.units) for c in columns))

    def keep(self, items: Iterable[T], unit_of: Callable[[T], str | Sequence[str | None] | None]) -> list[T]:
        """Filter already-read rows (a composite answer built in memory)."""
        out = []
        for item in items:
            units = unit_of(item)
            if isinstance(units, str) or units is None:
                units = [units]
            if self.covers(*units):
                out.append(item)
        return out


WHOLE_TREE = Scope(None)


class ScopeResolver(Protocol):
    """What a service tells the rules about its tables."""

    async def subtree_units(self, session: AsyncSession, roots: Sequence[str]) -> frozenset[str]:
        """Every unit id at or below the roots."""
        ...

    async def units_of(self, session: AsyncSession, subject: str, object_id: str) -> frozenset[str] | None:
        """The units the object belongs to; None when there is no such object."""
        ...

    def subjects(self) -> frozenset[str]: ...


# A query whose one or several columns are the object's unit ids.
SubjectQuery = Callable[[str], Select[*tuple[Any, ...]]]


class TableScopeResolver:
    """A resolver over a unit table with materialised paths ("/root/…/self/") and one
    query per subject whose result columns are unit ids (several columns: several units).
    Roster reads its own tables; the other services their roster mirror."""

    def __init__(
        self,
        *,
        unit_id: Any,
        unit_path: Any,
        subjects: dict[str, SubjectQuery],
    ) -> None:
        self.unit_id = unit_id
        self.unit_path = unit_path
        self._subjects = {"unit": lambda i: select(unit_id).where(unit_id == i), **subjects}

    def subjects(self) -> frozenset[str]:
        return frozenset(self._subjects)

    async def subtree_units(self, session: AsyncSession, roots: Sequence[str]) -> frozenset[str]:
        if not roots:
            return frozenset()
        paths = list((await session.execute(select(self.unit_path).where(self.unit_id.in_(list(roots))))).scalars())
        if not paths:
            return frozenset()
        stmt = select(self.unit_id).where(or_(*(self.unit_path.startswith(p, autoescape=True) for p in paths)))
        return frozenset((await session.execute(stmt)).scalars())

    async def units_of(self, session: AsyncSession, subject: str, object_id: str) -> frozenset[str] | None:
        query = self._subjects[subject]
        rows = (await session.execute(query(object_id).limit(100))).all()
        if not rows:
            return None
        # Every row and column: a join may give one row per unit.
        return frozenset(u for row in rows for u in row if isinstance(u, str))


@dataclass
class ScopeBinding:
    """Set on ``app.state.scope`` by the app factory."""

    resolver: ScopeResolver
    sessions: Callable[[], Any]  # an async context manager yielding an AsyncSession


def _binding(request: Request) -> ScopeBinding:
    binding: ScopeBinding | None = getattr(request.app.state, "scope", None)
    if binding is None:
        raise RuntimeError("app.state.scope is not set: the app factory must bind a ScopeResolver")
    return binding


def _check_role(request: Request, principal: Principal) -> None:
    """A role the route does not admit gets 403 whatever the object, before any scope
    lookup: FastAPI may run the scope rule before the role check, and a 404 would tell
    a refused role which objects exist."""
    from cadrekit.role_matrix import allowed_roles

    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        allowed = allowed_roles(route)
        if allowed is not None and principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")


async def resolve(request: Request, principal: Principal) -> Scope:
    """The request's scope, computed once per request."""
    cached: Scope | None = getattr(request.state, "scope", None)
    if cached is not None:
        return cached
    _check_role(request, principal)
    if principal.unit_scope is None:
        scope = WHOLE_TREE
    else:
        binding = _binding(request)
        async with binding.sessions() as session:
            scope = Scope(await binding.resolver.subtree_units(session, principal.unit_scope))
    request.state.scope = scope
    return scope


async def _in_scope(request: Request, scope: Scope, subject: str, object_id: str) -> bool:
    binding = _binding(request)
    async with binding.sessions() as session:
        units = await binding.resolver.units_of(session, subject, object_id)
    return units is not None and scope.covers(*units)


ScopeDependency = Callable[..., Awaitable[Scope]]


def _mark(dep: ScopeDependency, rule: Rule) -> ScopeDependency:
    dep.scope_rule = rule  # type: ignore[attr-defined]  # read by check_declared and role_matrix
    return dep


def in_path(subject: str, param: str) -> ScopeDependency:
    async def _rule(request: Request, principal: CurrentPrincipal) -> Scope:
        scope = await resolve(request, principal)
        if scope.whole_tree:
            return scope
        object_id = request.path_params.get(param)
        if not isinstance(object_id, str) or not await _in_scope(request, scope, subject, object_id):
            raise NotFound(f"no {subject} {object_id}")
        return scope

    return _mark(_rule, Rule(Where.path, subject, param))


def in_query(subject: str, param: str) -> ScopeDependency:
    async def _rule(request: Request, principal: CurrentPrincipal) -> Scope:
        scope = await resolve(request, principal)
        if scope.whole_tree:
            return scope
        for value in request.query_params.getlist(param):
            if value and not await _in_scope(request, scope, subject, value):
                raise NotFound(f"no {subject} {value}")
        return scope

    return _mark(_rule, Rule(Where.query, subject, param))


def in_body(subject: str, field: str) -> ScopeDependency:
    """``field`` may hold one id or a list of ids; a missing or null field is no reference."""

    async def _rule(request: Request, principal: CurrentPrincipal) -> Scope:
        scope = await resolve(request, principal)
        if scope.whole_tree:
            return scope
        try:
            body = await request.json()
        except ValueError:
            return scope  # not JSON: the route's validation answers
        value = body.get(field) if isinstance(body, dict) else None
        values = value if isinstance(value, list) else [value]
        outside = [v for v in values if isinstance(v, str) and v and not await _in_scope(request, scope, subject, v)]
        if outside and subject in MIRRORED:
            # One out of scope waits as long as one not yet known: the two answer alike.
            runtime = getattr(request.app.state, "runtime", None)

            async def missing() -> list[str]:
                return [v for v in outside if not await _in_scope(request, scope, subject, v)]

            outside = await mirror_lag.still_missing(runtime, missing)
            if outside and mirror_lag.behind(runtime):
                raise mirror_lag.not_known_yet([(subject, field, v) for v in outside])
        if outside:
            raise field_error(field, f"unknown {subject}")
        return scope

    return _mark(_rule, Rule(Where.body, subject, field))


# What a service knows from roster's events: a reference to one may be on its way (issue 17).
MIRRORED = frozenset({"unit", "cadre"})


def filtered(what: str = "") -> ScopeDependency:
    async def _rule(request: Request, principal: CurrentPrincipal) -> Scope:
        return await resolve(request, principal)

    return _mark(_rule, Rule(Where.filter, note=what))


def no_unit(reason: str) -> ScopeDependency:
    async def _rule(principal: CurrentPrincipal) -> Scope:
        return WHOLE_TREE

    return _mark(_rule, Rule(Where.none, note=reason))


def whole_tree(reason: str) -> ScopeDependency:
    async def _rule(request: Request, principal: CurrentPrincipal) -> Scope:
        _check_role(request, principal)
        if principal.unit_scope is not None:
            raise Forbidden(f"a token limited to some units may not do this: {reason}")
        return WHOLE_TREE

    return _mark(_rule, Rule(Where.whole_tree, note=reason))


# --- reading the declarations -----------------------------------------------------------


def _walk(dep: Dependant) -> Iterable[Dependant]:
    yield dep
    for d in dep.dependencies:
        yield from _walk(d)


def rules_of(route: APIRoute) -> tuple[Rule, ...]:
    seen: list[Rule] = []
    for d in _walk(route.dependant):
        rule = getattr(d.call, "scope_rule", None)
        if rule is not None and rule not in seen:
            seen.append(rule)
    return tuple(seen)


class UndeclaredScope(RuntimeError):
    pass


def check_declared(app: FastAPI, routes: Iterable[APIRoute], *, subjects: frozenset[str] | None) -> None:
    """Refuse to start when an authenticated route declares no scope rule, a rule names a
    subject the resolver does not know, a path rule names no path parameter, or an
    unscoped rule is mixed with others."""
    from cadrekit.role_matrix import is_authenticated

    wrong = []
    for route in routes:
        if not route.path.startswith("/api/v1/") or not is_authenticated(route):
            continue
        rules = rules_of(route)
        where = f"{','.join(sorted(route.methods or ()))} {route.path}"
        if not rules:
            wrong.append(f"{where}: no scope rule (cadrekit.scope)")
            continue
        kinds = {r.where for r in rules}
        if len(rules) > 1 and kinds & {Where.none, Where.whole_tree}:
            wrong.append(f"{where}: no_unit/whole_tree cannot be combined with other rules")
        for r in rules:
            if r.subject is not None and subjects is not None and r.subject not in subjects:
                wrong.append(f"{where}: unknown scope subject {r.subject!r}")
            if r.where is Where.path and "{" + str(r.name) + "}" not in route.path:
                wrong.append(f"{where}: path rule names {r.name!r}, which is not in the path")
    if wrong:
        raise UndeclaredScope("routes without a valid scope declaration:\n  " + "\n  ".join(wrong))
