"""The whole system as processes, started the way `make run` starts it, driven through the
gateway as the portal would."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from cadrekit.testing.plugin import free_port
from deploy.launcher import SERVICES, Layout, System
from tests.e2e.support import creds, read_topic, token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e


def test_bootstrap_credentials_file_is_private(system: System) -> None:
    mode = stat.S_IMODE(os.stat(system.layout.bootstrap_file).st_mode)
    assert mode == 0o600
    assert set(creds(system)) >= {"client_id", "client_secret"}


async def test_the_portal_flow_through_the_gateway(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        health = (await client.get("/api/v1/health")).json()
        assert health["status"] == "ok", health
        assert set(health["services"]) == set(SERVICES) and health["broker"]["reachable"]
        jwks = (await client.get("/.well-known/jwks.json")).json()
        assert jwks["keys"][0]["alg"] == "EdDSA"

        unauth = await client.get("/api/v1/roster/cadres")
        assert unauth.status_code == 401 and unauth.headers["content-type"] == "application/problem+json"
        bad = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "admin", "client_secret": "wrong"},
        )
        assert bad.status_code == 401

        auth = {"Authorization": f"Bearer {await token(client, system)}"}
        unit = (
            await client.post(
                "/api/v1/roster/units", headers=auth, json={"name": "某某镇", "kind": "town", "region": "三水"}
            )
        ).json()
        body = cadre_body(unit["id"])
        created = await client.post("/api/v1/roster/cadres", headers={**auth, "Idempotency-Key": "k-1"}, json=body)
        assert created.status_code == 201, created.text
        again = await client.post("/api/v1/roster/cadres", headers={**auth, "Idempotency-Key": "k-1"}, json=body)
        assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
        cadre_id = created.json()["id"]

        got = await client.get(f"/api/v1/roster/cadres/{cadre_id}", headers=auth)
        assert got.json()["id_number"].count("*") == 8 and got.headers["etag"] == '"v1"'
        assert got.headers["x-request-id"]
        patched = await client.patch(
            f"/api/v1/roster/cadres/{cadre_id}",
            headers={**auth, "If-Match": got.headers["etag"]},
            json={"rank": "副处"},
        )
        assert patched.status_code == 200 and patched.json()["version"] == 2
        invalid = await client.post(
            "/api/v1/roster/cadres",
            headers={**auth, "Accept-Language": "zh-CN"},
            json={**body, "id_number": body["id_number"][:-1] + "0"},
        )
        assert invalid.status_code in (409, 422) and invalid.json()["title"] in ("请求参数无效", "冲突")
        stats = (await client.get("/api/v1/roster/stats/structure?year=2026", headers=auth)).json()
        assert stats["total"] == 1
        export = await client.get("/api/v1/roster/cadres/export", headers=auth)
        assert export.status_code == 200 and export.content[:2] == b"PK"

        missing = await client.get("/api/v1/nosuch/things", headers=auth)
        assert missing.status_code == 404

    events = await read_topic(f"127.0.0.1:{system.layout.broker_port}", "roster.events", want=3)
    # order holds per cadre (the Kafka key), not across partitions
    of_cadre = [e["type"] for e in events if e["subject"] == f"cadre/{cadre_id}"]
    assert of_cadre == ["roster.cadre.registered", "roster.cadre.updated"]
    assert any(e["type"] == "roster.unit.created" for e in events)
    assert body["id_number"] not in json.dumps(events)


async def test_restarting_the_embedded_system_loses_no_event(system: System) -> None:
    bootstrap = f"127.0.0.1:{system.layout.broker_port}"
    before = await read_topic(bootstrap, "roster.events", want=1)
    assert before, "the earlier test published events"
    await asyncio.to_thread(system.stop)
    await asyncio.to_thread(system.start)  # a new, empty broker; the same SQLite files
    after = await read_topic(bootstrap, "roster.events", want=len(before), timeout_s=60)
    assert {e["id"] for e in before} <= {e["id"] for e in after}
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {await token(client, system)}"}
        listed = (await client.get("/api/v1/roster/cadres", headers=auth)).json()
        assert len(listed["items"]) == 1


def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    layout = Layout(var=tmp_path, ports={n: free_port() for n in ("gateway", *SERVICES)}, broker_port=free_port())
    sys_ = System(layout)
    sys_.start()
    procs = list(sys_.procs.values())
    sys_.stop()
    assert all(p.poll() is not None for p in procs)
