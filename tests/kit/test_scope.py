"""The declared unit-scope rules (cadrekit.scope) on a small app over a roster mirror."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select

from cadrekit.app import build_service_app
from cadrekit.auth import CurrentPrincipal, Role, authenticate, require_roles
from cadrekit.roster_mirror import mirror_scope_resolver, upsert_cadre, upsert_unit
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import Scope, UndeclaredScope, filtered, in_body, in_path, no_unit, whole_tree
from cadrekit.testing.plugin import Signer
from services.scoring.app import MIGRATIONS
from services.scoring.models import metadata, mirror
from services.scoring.settings import ScoringSettings
from tests.access.worlds.gateway import cadre_state, unit_state

API = "/api/v1/scoring/probe"
Officer = Annotated[Any, Depends(require_roles(Role.admin, Role.officer))]


def probe_router() -> APIRouter:
    router = APIRouter(prefix=API, dependencies=[Depends(authenticate)])

    @router.get("/cadres/{cadre_id}")
    async def one(cadre_id: str, who: Officer, _: Annotated[Scope, Depends(in_path("cadre", "cadre_id"))]) -> dict:
        return {"cadre_id": cadre_id}

    @router.post("/notes")
    async def note(
        body: dict[str, Any], who: Officer, _: Annotated[Scope, Depends(in_body("cadre", "cadre_id"))]
    ) -> dict:
        return body

    @router.get("/units")
    async def units(who: CurrentPrincipal, scope: Annotated[Scope, Depends(filtered("units"))]) -> list[str]:
        return sorted(scope.keep(VISIBLE, lambda u: u))

    @router.get("/catalogue", dependencies=[Depends(no_unit("a catalogue"))])
    async def catalogue(who: CurrentPrincipal) -> dict:
        return {}

    @router.post("/batch", dependencies=[Depends(whole_tree("a batch spans the city"))])
    async def batch(who: Officer) -> dict:
        return {}

    return router


VISIBLE: list[str] = []


async def _app(backend: str, database_factories: Any, signer: Signer, *routers: APIRouter) -> Any:
    url = await database_factories(MIGRATIONS).fresh(backend)
    runtime = ServiceRuntime(ScoringSettings(database_url=url, kafka_enabled=False, mode="test"), metadata, MIGRATIONS)
    return build_service_app(
        runtime,
        title="probe",
        description="",
        routers=list(routers),
        key_source=signer.key_source,
        configure_logs=False,
        scope=mirror_scope_resolver(mirror),
    )


async def test_an_app_with_a_route_that_declares_no_scope_refuses_to_start(
    database_factories: Any, signer: Signer
) -> None:
    bare = APIRouter(prefix=API, dependencies=[Depends(authenticate)])

    @bare.get("/forgotten")
    async def forgotten(who: CurrentPrincipal) -> dict:
        return {}

    with pytest.raises(UndeclaredScope, match="GET /api/v1/scoring/probe/forgotten: no scope rule"):
        await _app("sqlite", database_factories, signer, probe_router(), bare)


async def test_a_path_rule_that_names_no_path_parameter_refuses_to_start(
    database_factories: Any, signer: Signer
) -> None:
    wrong = APIRouter(prefix=API, dependencies=[Depends(authenticate)])

    @wrong.get("/cadres/{id}/x")
    async def x(id: str, _: Annotated[Scope, Depends(in_path("cadre", "cadre_id"))]) -> dict:
        return {}

    with pytest.raises(UndeclaredScope, match="names 'cadre_id', which is not in the path"):
        await _app("sqlite", database_factories, signer, wrong)


async def test_each_rule_answers_for_a_token_scoped_to_one_town(
    backend: str, database_factories: Any, signer: Signer, tmp_path: Path
) -> None:
    app = await _app(backend, database_factories, signer, probe_router())
    root = unit_state("平湖市", None)
    a, b = unit_state("甲镇", root), unit_state("乙镇", root)
    a1 = unit_state("甲镇一村", a)
    ca, cb = cadre_state(a1, "甲干部"), cadre_state(b, "乙干部")
    async with app.router.lifespan_context(app):
        async with app.state.runtime.sessions() as s:
            for u in (root, a, a1, b):
                await upsert_unit(s, mirror, u)
            for cadre in (ca, cb):
                await upsert_cadre(s, mirror, cadre)
            await s.commit()
            VISIBLE[:] = list((await s.execute(select(mirror.units.c.unit_id))).scalars())
        scoped = signer.headers("officer", unit_scope=[a["unit_id"]])
        whole = signer.headers("officer")
        auditor = signer.headers("auditor", unit_scope=[a["unit_id"]])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            # a cadre of the child village is in scope; the sibling town's and an unknown one are 404 alike
            assert (await c.get(f"{API}/cadres/{ca['cadre_id']}", headers=scoped)).status_code == 200
            outside = await c.get(f"{API}/cadres/{cb['cadre_id']}", headers=scoped)
            unknown = await c.get(f"{API}/cadres/{uuid.uuid4()}", headers=scoped)
            assert outside.status_code == unknown.status_code == 404
            assert outside.json()["title"] == unknown.json()["title"]
            assert (await c.get(f"{API}/cadres/{cb['cadre_id']}", headers=whole)).status_code == 200
            # a role the route does not admit: 403 before scope is looked at, for any object
            assert (await c.get(f"{API}/cadres/{cb['cadre_id']}", headers=auditor)).status_code == 403
            # a body reference out of scope answers as an unknown one: 422 naming the field
            body_out = await c.post(f"{API}/notes", headers=scoped, json={"cadre_id": cb["cadre_id"]})
            body_unknown = await c.post(f"{API}/notes", headers=scoped, json={"cadre_id": str(uuid.uuid4())})
            assert body_out.status_code == body_unknown.status_code == 422
            assert (
                body_out.json()["errors"]
                == body_unknown.json()["errors"]
                == [{"field": "cadre_id", "message": "unknown cadre"}]
            )
            assert (await c.post(f"{API}/notes", headers=scoped, json={"cadre_id": ca["cadre_id"]})).status_code == 200
            # a list keeps the token's subtree: the town and its village, not the city or the sibling
            listed = (await c.get(f"{API}/units", headers=scoped)).json()
            assert listed == sorted([a["unit_id"], a1["unit_id"]])
            assert len((await c.get(f"{API}/units", headers=whole)).json()) == 4
            # no unit: anyone admitted; whole tree only: a scoped token gets 403
            assert (await c.get(f"{API}/catalogue", headers=scoped)).status_code == 200
            assert (await c.post(f"{API}/batch", headers=scoped, json={})).status_code == 403
            assert (await c.post(f"{API}/batch", headers=whole, json={})).status_code == 200


def test_a_scope_keeps_an_object_with_several_units_when_any_is_inside() -> None:
    scope = Scope(frozenset({"a", "a1"}))
    rows = [("x", ("b", "a1")), ("y", ("b", None)), ("z", ("a", "b"))]
    assert [r[0] for r in scope.keep(rows, lambda r: r[1])] == ["x", "z"]
    assert Scope(None).covers("anything")
    assert not Scope(frozenset()).covers("a")
