"""The composed profile through the gateway: every part when all services run, the rest
with a ``degraded`` list when one is stopped."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from deploy.launcher import System
from tests.e2e.support import token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e


async def test_profile_composes_the_services_and_degrades_when_one_is_down(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "市商务局", "kind": "city_organ"})
        ).json()
        cadre = (await client.post("/api/v1/roster/cadres", headers=admin, json=cadre_body(unit["id"]))).json()["id"]

        for _ in range(100):  # scoring learns of the cadre from roster events
            full = await client.get(f"/api/v1/cadres/{cadre}/profile", params={"year": 2025}, headers=admin)
            assert full.status_code == 200, full.text
            if full.json()["score"] is not None:
                break
            await asyncio.sleep(0.2)
        body = full.json()
        assert body["cadre"]["id"] == cadre and body["score"]["total"] == "0.00"
        assert body["degraded"] == [], body["degraded"]
        assert body["secondments"] == [] and body["reserve_pool"] == {"in_pool": False, "entries": []}

        missing = await client.get("/api/v1/cadres/00000000-0000-4000-8000-000000000000/profile", headers=admin)
        assert missing.status_code == 404

        system._stop("scoring")
        degraded = await client.get(f"/api/v1/cadres/{cadre}/profile", params={"year": 2025}, headers=admin)
        assert degraded.status_code == 200
        assert degraded.json()["degraded"] == ["ledger", "score"]
        assert degraded.json()["cadre"]["id"] == cadre and degraded.json()["score"] is None
        system.start_service("scoring")
