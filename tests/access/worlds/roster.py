"""Roster's world for the scope matrix (tests/access/world.py).

Under a city, the districts 甲区 (A, with the town 甲镇) and 乙区 (B); in each district a
cadre, and an import job started by an officer of that district. Every name a roster
route reads (a unit or cadre in the path, a unit in a query filter or in a body, an
import job) has A's object inside and B's outside.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from cadrekit.auth import Principal, Role
from cadrekit.testing.plugin import Signer
from services.roster.app import MIGRATIONS, create_app
from services.roster.service import imports
from tests.access.world import Ids, World, signed
from tests.conftest import roster_settings
from tests.factories import cadre_body

API = "/api/v1/roster"


@contextlib.asynccontextmanager
async def world(backend: str, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[World]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    # No background re-sealing or re-normalising: nothing but the calls may change a row.
    settings = roster_settings(url, tmp_path / "keys", reseal_interval_seconds=0)
    app = create_app(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roster") as client:
            admin = signer.headers("admin", sub="seeder")

            async def unit(name: str, kind: str, parent_id: str | None) -> dict[str, Any]:
                body = {"name": name, "kind": kind, "parent_id": parent_id, "region": "平湖"}
                resp = await client.post(f"{API}/units", headers=admin, json=body)
                assert resp.status_code == 201, resp.text
                return resp.json()  # type: ignore[no-any-return]

            async def cadre(unit_id: str, name: str) -> dict[str, Any]:
                body = cadre_body(unit_id, name=name)
                resp = await client.post(f"{API}/cadres", headers=admin, json=body)
                assert resp.status_code == 201, resp.text
                return {**resp.json(), "id_number": body["id_number"]}

            city = await unit("平湖市", "city", None)
            a = await unit("甲区", "district", city["id"])
            a_town = await unit("甲镇", "town", a["id"])
            b = await unit("乙区", "district", city["id"])
            a_cadre = await cadre(a["id"], "甲区干部")
            b_cadre = await cadre(b["id"], "乙区干部")

        ctx = app.state.context
        jobs = {}
        for side, district in (("a", a), ("b", b)):
            importer = Principal(sub=f"officer-{side}", role=Role.officer, unit_scope=(district["id"],))
            job = await imports.create_job(
                ctx,
                importer,
                filename=f"{district['name']}名册.xlsx",
                mode="insert",
                dry_run=True,
                create_units=False,
                rows_total=1,
            )
            jobs[side] = job.id

        inside: Ids = {
            "unit_id": a_town["id"],  # a unit that may move under "parent_id" and take a cadre
            "parent_id": a["id"],
            "within": a["id"],
            "cadre_id": a_cadre["id"],
            "job_id": jobs["a"],
        }
        outside: Ids = {
            "unit_id": b["id"],
            "parent_id": b["id"],
            "within": b["id"],
            "cadre_id": b_cadre["id"],
            "job_id": jobs["b"],
        }
        bodies = {
            "POST /api/v1/roster/units": lambda ids: {"name": "新单位", "kind": "town", "parent_id": ids["parent_id"]},
            "PATCH /api/v1/roster/units/{unit_id}": lambda ids: {"name": "改名单位"},
            "POST /api/v1/roster/units/{unit_id}/move": lambda ids: {"parent_id": ids["parent_id"], "reason": "调整"},
            "POST /api/v1/roster/cadres": lambda ids: cadre_body(ids["unit_id"]),
            "PATCH /api/v1/roster/cadres/{cadre_id}": lambda ids: {"rank": "副处"},
            "POST /api/v1/roster/cadres/{cadre_id}/move": lambda ids: {
                "unit_id": ids["unit_id"],
                "effective_on": "2026-01-01",
                "reason": "调动工作",
            },
            "POST /api/v1/roster/cadres/{cadre_id}/exit": lambda ids: {
                "kind": "retired",
                "date": "2026-01-01",
                "reason": "到龄退休",
            },
        }
        yield World(
            app=app,
            headers=signed(signer),
            scope=[a["id"]],
            inside=inside,
            outside=outside,
            bodies=bodies,
            secrets={
                b["id"],
                b["name"],
                b_cadre["id"],
                b_cadre["name"],
                b_cadre["id_number"],
                jobs["b"],
            },
        )
