"""Every cell of endpoint × role × unit scope, generated from the routes' declarations.

For each app and each endpoint under /api/v1/, every caller (each role, and a portal acting
for a registered person as an officer) calls it three ways: with a token for the whole tree, with a token scoped to subtree A on A's object, and with the same token
on the like object of sibling subtree B (``tests/access/worlds/`` build both). What each
cell must answer follows from the route's declared roles and scope rules
(``cadrekit.scope``), never from a hand-written list:

- a role the route does not admit: 403, whatever the object (the portal acting as an
  officer is admitted where officers are);
- ``whole_tree``: a scoped token gets 403;
- an object in the path or query, out of scope: 404, the same answer as an unknown id;
  a reference in the body, out of scope: the same answer as an unknown id (422 naming it);
- in scope, and with a token for the whole tree: neither 401, 403 nor 404;
- every answer to a token scoped to A is free of B's names and ids (lists and composite
  answers are filtered), exports included;
- a refused write changes no row of the app's database.

A unit_hr token always names its units, so unit_hr has no whole-tree cell.
"""

from __future__ import annotations

import importlib
import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from sqlalchemy import select

from cadrekit.auth import Role
from cadrekit.role_matrix import CALLERS, Caller, Cell, api_routes, matrix
from cadrekit.scope import Where
from cadrekit.testing.plugin import Signer
from tests.access.world import World

SERVICES = ("gateway", "roster", "scoring", "matching", "secondment")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
SIDES = ("outside", "unknown", "inside", "whole")


@dataclass
class Call:
    cell: Cell
    caller: Caller
    side: str
    url: str
    body: dict[str, Any] | None
    resp: httpx.Response


def _builder(service: str) -> Any:
    return importlib.import_module(f"tests.access.worlds.{service}").world


def _ids(world: World, side: str) -> dict[str, str]:
    if side in ("inside", "whole"):
        return {**world.inside, **world.fixed}
    if side == "outside":
        return {**world.inside, **world.outside, **world.fixed}
    # unknown: every name a scope rule reads gets an id that names nothing
    return {**world.inside, **{k: str(uuid.uuid4()) for k in world.outside}, **world.fixed}


def _request(world: World, cell: Cell, side: str) -> tuple[str, dict[str, Any] | None]:
    ids = _ids(world, side)
    rule_names = {r.name for r in cell.rules if r.where in (Where.path, Where.query, Where.body)}

    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        if name not in ids:
            raise AssertionError(f"{cell.method} {cell.path}: the world has no value for {{{name}}}")
        # A path parameter no rule reads stays the same on every side.
        if name not in rule_names and name in world.inside and name not in world.fixed:
            return world.inside[name]
        return ids[name]

    url = re.sub(r"\{([a-z_]+(?::path)?)\}", fill, cell.path)
    query = [f"{r.name}={ids[str(r.name)]}" for r in cell.rules if r.where is Where.query and r.name in ids]
    # Query parameters of the route named in ``fixed`` (a required {year} …) go along too.
    named = {str(r.name) for r in cell.rules if r.where is Where.query}
    query += [f"{q}={world.fixed[q]}" for q in _query_params(world, cell) if q in world.fixed and q not in named]
    extra = world.queries.get(f"{cell.method} {cell.path}")
    if extra:
        query += [f"{k}={v}" for k, v in extra(ids).items()]
    if query:
        url += "?" + "&".join(query)
    body: dict[str, Any] | None = None
    if cell.method in ("POST", "PUT", "PATCH"):
        make = world.bodies.get(f"{cell.method} {cell.path}")
        body = make(ids) if make else {}
        for r in cell.rules:
            name = str(r.name)
            if r.where is Where.body and name in ids:
                body[name] = [ids[name]] if isinstance(body.get(name), list) else ids[name]
    return url, body


def _query_params(world: World, cell: Cell) -> list[str]:
    for route in api_routes(world.app.routes):
        if route.path == cell.path and cell.method in (route.methods or ()):
            return [p.alias for d in _walk(route.dependant) for p in d.query_params]
    return []


def _walk(dep: Dependant) -> list[Dependant]:
    return [dep, *(x for d in dep.dependencies for x in _walk(d))]


def _text(resp: httpx.Response) -> str:
    if resp.content[:2] == b"PK":  # a spreadsheet: its XML parts
        with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return resp.text


def _problem(resp: httpx.Response) -> tuple[int, Any, Any]:
    try:
        body = resp.json()
    except ValueError:
        return resp.status_code, None, None
    if not isinstance(body, dict):
        return resp.status_code, None, None
    fields = sorted(e.get("field", "") for e in body.get("errors") or [] if isinstance(e, dict))
    return resp.status_code, body.get("title"), fields


async def _dump(world: World) -> dict[str, list[tuple[Any, ...]]]:
    runtime = world.app.state.runtime
    out = {}
    async with runtime.sessions() as s:
        for table in runtime.metadata.sorted_tables:
            if table.name in world.ignore_tables:
                continue
            rows = (await s.execute(select(table))).all()
            out[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return out


def _wrong(call: Call, world: World, deleted: bool, unknown: httpx.Response | None) -> str | None:
    cell, caller, side, resp = call.cell, call.caller, call.side, call.resp
    status = resp.status_code
    kinds = {r.where for r in cell.rules}
    what = f"{cell.method} {cell.path} as {caller.name} ({side})"
    gateway_upstream = status in (503, 504) and cell.admits(caller)
    if status >= 500 and not gateway_upstream:
        return f"{what}: {status} {resp.text[:200]}"
    if side != "whole":
        request_text = call.url + repr(call.body)
        leaked = [s for s in world.secrets if s in _text(resp) and s not in request_text]
        if leaked:
            return f"{what}: the answer holds B's {leaked[:3]}"
    if not cell.admits(caller):
        return None if status == 403 else f"{what}: {status}, expected 403 (role not admitted)"
    if status == 401:
        return f"{what}: 401"
    if side != "whole" and Where.whole_tree in kinds:
        return None if status == 403 else f"{what}: {status}, expected 403 (whole tree only)"
    if status == 403:
        return f"{what}: 403 though admitted ({resp.text[:160]})"
    object_rules = kinds & {Where.path, Where.query, Where.body}
    if side in ("outside", "unknown") and object_rules:
        expected = set()
        if kinds & {Where.path, Where.query}:
            expected.add(404)
        if Where.body in kinds:
            expected.add(422)
        if status not in expected:
            return f"{what}: {status}, expected {sorted(expected)} ({resp.text[:160]})"
        if side == "outside" and unknown is not None and _problem(resp) != _problem(unknown):
            return f"{what}: answers {_problem(resp)}, an unknown id answers {_problem(unknown)}"
        return None
    if side in ("inside", "whole") and status == 404 and not deleted and not gateway_upstream:
        return f"{what}: 404 on an object in scope ({resp.text[:160]})"
    return None


def _sides(caller: Caller) -> tuple[str, ...]:
    return tuple(s for s in SIDES if not (caller.role is Role.unit_hr and s == "whole"))


async def _call(client: httpx.AsyncClient, world: World, cell: Cell, caller: Caller, side: str) -> Call:
    url, body = _request(world, cell, side)
    scope = None if side == "whole" else world.scope
    headers = world.headers(caller, scope)
    resp = await client.request(cell.method, url, headers=headers, json=body)
    return Call(cell, caller, side, url, body, resp)


async def _run(client: httpx.AsyncClient, world: World, cell: Cell, *, check_rows: bool) -> tuple[list[str], int]:
    """Every caller on every side of one endpoint, the refused sides first, so what they must
    not change is still there for the others; with ``check_rows``, no refused call may
    change a row."""
    wrong: list[str] = []
    calls: dict[tuple[Caller, str], tuple[Call, bool]] = {}
    deleted = False
    # Only where every out-of-scope call is refused (an object rule or whole tree only).
    check_rows = check_rows and any(r.where not in (Where.filter, Where.none) for r in cell.rules)
    before = await _dump(world) if check_rows else None
    for side in SIDES:
        if check_rows and side == "inside":
            after = await _dump(world)
            changed = [t for t in before or {} if (before or {})[t] != after.get(t)]
            if changed:
                wrong.append(f"{cell.method} {cell.path}: refused out-of-scope calls changed {changed}")
        for caller in CALLERS:
            if side in _sides(caller):
                call = await _call(client, world, cell, caller, side)
                calls[(caller, side)] = (call, deleted)
                if cell.method == "DELETE" and call.resp.status_code < 300:
                    deleted = True
    for (caller, _side), (call, deleted_before) in calls.items():
        unknown = calls.get((caller, "unknown"))
        problem = _wrong(call, world, deleted_before, unknown[0].resp if unknown else None)
        if problem:
            wrong.append(problem)
    anonymous = await client.request(cell.method, _request(world, cell, "inside")[0])
    if cell.authenticated and anonymous.status_code != 401:
        wrong.append(f"{cell.method} {cell.path} without a token: {anonymous.status_code}")
    return wrong, len(calls)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_role_and_scope_gets_what_the_declarations_say(
    service: str, backend: str, database_factories: Any, signer: Signer, tmp_path: Path
) -> None:
    build = _builder(service)
    wrong: list[str] = []
    count = 0
    async with build(backend, database_factories, signer, tmp_path / "reads") as world:
        cells = [c for c in matrix(world.app) if c.authenticated]
        assert cells, "no endpoints found"
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            for cell in (c for c in cells if c.method not in WRITES):
                more, n = await _run(client, world, cell, check_rows=False)
                wrong += more
                count += n
    for i, cell in enumerate(c for c in cells if c.method in WRITES):
        # A fresh world per write endpoint: an earlier write cannot hide a later one's answer.
        async with build(backend, database_factories, signer, tmp_path / f"w{i}") as world:
            transport = httpx.ASGITransport(app=world.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                more, n = await _run(client, world, cell, check_rows=True)
                wrong += more
                count += n
    print(f"\n{service}/{backend}: {count} cells over {len(cells)} endpoints")
    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)
