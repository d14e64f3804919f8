"""The merged contract and the cross-service audit through the running system."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from openapi_spec_validator import validate

from deploy.launcher import SERVICES, System
from tests.e2e.support import token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e


async def test_one_openapi_and_one_asyncapi_cover_every_service(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        doc = (await client.get("/api/v1/openapi.json")).json()
        assert "x-degraded" not in doc, doc.get("x-degraded")
        validate(doc)
        prefixes = {p.split("/")[3] for p in doc["paths"] if p.startswith("/api/v1/") and p.count("/") > 3}
        assert set(SERVICES) <= prefixes
        assert "/api/v1/auth/token" in doc["paths"] and "/api/v1/scoring/entries/{entry_id}/approve" in doc["paths"]
        page = await client.get("/api/v1/docs")
        assert page.status_code == 200 and "/api/v1/openapi.json" in page.text

        events = (await client.get("/api/v1/asyncapi.json")).json()
        assert {"roster.events", "scoring.events", "matching.events", "secondment.events", "gateway.events"} <= set(
            events["channels"]
        )
        names = {m["name"] for m in events["components"]["messages"].values()}
        assert {"roster.cadre.registered", "scoring.score.changed", "scoring.waiver.granted"} <= names


async def test_the_auditor_sees_personal_data_reads_of_every_service(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "某局", "kind": "city_organ"})
        ).json()
        cadre = (await client.post("/api/v1/roster/cadres", headers=admin, json=cadre_body(unit["id"]))).json()["id"]
        read = await client.get(
            f"/api/v1/roster/cadres/{cadre}/id-number", params={"reason": "资格审查"}, headers=admin
        )
        assert read.status_code == 200, read.text

        made = (
            await client.post("/api/v1/auth/clients", headers=admin, json={"name": "审计", "role": "auditor"})
        ).json()
        got = await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": made["client_id"],
                "client_secret": made["client_secret"],
            },
        )
        auditor = {"Authorization": f"Bearer {got.json()['access_token']}"}
        for _ in range(50):
            log = (await client.get("/api/v1/audit", params={"subject_id": cadre}, headers=auditor)).json()
            if log["items"]:
                break
            await asyncio.sleep(0.1)
        assert log["degraded"] == []
        assert [(i["service"], i["reason"]) for i in log["items"]] == [("roster", "资格审查")]
        portal = (
            await client.post("/api/v1/auth/clients", headers=admin, json={"name": "门户", "role": "portal"})
        ).json()
        pt = await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": portal["client_id"],
                "client_secret": portal["client_secret"],
            },
        )
        denied = await client.get("/api/v1/audit", headers={"Authorization": f"Bearer {pt.json()['access_token']}"})
        assert denied.status_code == 403
