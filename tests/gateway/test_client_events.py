"""The gateway announces its client changes on gateway.events, through its outbox: made with
the API or with ``cadre clients`` on the database alike, keyed by the client id, never with a
secret, and documented in the AsyncAPI document."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import orjson
import pytest

from cadrekit.runtime import ServiceRuntime
from contracts import catalogue, topics
from deploy.cli import main
from gateway.app import MIGRATIONS
from gateway.models import kit, metadata
from gateway.settings import GatewaySettings
from tests.gateway.conftest import GatewayHarness


async def outbox(runtime: ServiceRuntime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        return list((await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all())


def client_events(rows: list[Any], client_id: str | None = None) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        event = orjson.loads(row.payload)
        if event["type"].startswith("gateway.client.") and (client_id is None or row.key == client_id):
            assert row.topic == "gateway.events" and row.key == event["data"]["client_id"]
            assert event["subject"] == f"client/{row.key}" and event["source"] == "gateway"
            jsonschema.validate(
                event["data"],
                {k: v for k, v in catalogue.schemas(topics.GATEWAY)[event["type"]].items() if k != "summary"},
            )
            out.append(event)
    return out


async def test_every_client_change_through_the_api_is_an_event_on_gateway_events(gateway: GatewayHarness) -> None:
    admin = await gateway.auth()
    made = await gateway.client.post(
        "/api/v1/auth/clients", headers=admin, json={"name": "门户", "role": "portal", "client_id": "portal-7"}
    )
    assert made.status_code == 201, made.text
    secret = made.json()["client_secret"]
    for disabled in (True, False):
        resp = await gateway.client.patch("/api/v1/auth/clients/portal-7", headers=admin, json={"disabled": disabled})
        assert resp.status_code == 200, resp.text
    assert (await gateway.client.post("/api/v1/auth/clients/portal-7/rotate-secret", headers=admin)).status_code == 200

    rows = await outbox(gateway.app.state.runtime)
    events = client_events(rows, "portal-7")
    assert [e["type"] for e in events] == [
        "gateway.client.created",
        "gateway.client.disabled",
        "gateway.client.enabled",
        "gateway.client.secret_rotated",
    ]
    assert [e["data"]["disabled"] for e in events] == [False, True, False, False]
    assert events[0]["data"]["name"] == "门户" and events[0]["data"]["role"] == "portal"
    times = [e["data"]["changed_at"] for e in events]
    assert times == sorted(times)  # what services compare to keep the newest state
    everything = b"".join(r.payload.encode() for r in rows)
    assert secret.encode() not in everything and b"scrypt$" not in everything
    # The bootstrap admin was announced too, when the gateway made it.
    assert [e["type"] for e in client_events(rows, "admin")] == ["gateway.client.created"]


async def test_a_missing_client_changes_nothing_and_announces_nothing(gateway: GatewayHarness) -> None:
    admin = await gateway.auth()
    before = len(await outbox(gateway.app.state.runtime))
    resp = await gateway.client.patch("/api/v1/auth/clients/nobody", headers=admin, json={"disabled": True})
    assert resp.status_code == 404
    assert len(await outbox(gateway.app.state.runtime)) == before


async def test_the_asyncapi_document_has_the_client_events(gateway: GatewayHarness) -> None:
    doc = (await gateway.client.get("/api/v1/asyncapi.json")).json()
    channel = doc["channels"]["gateway.events"]["messages"]
    assert {"gateway_client_disabled", "gateway_client_enabled", "gateway_webhook_disabled"} <= set(channel)
    catalog = (await gateway.client.get("/events/catalog")).json()
    assert "gateway.client.disabled" in catalog["events"] and catalog["topic"] == "gateway.events"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else out.err


async def test_cadre_clients_on_the_database_announces_its_changes_too(
    database_factories: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await database_factories(MIGRATIONS).fresh("sqlite")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    code, made = await asyncio.to_thread(_run, capsys, "clients", "create", "--name", "门户", "--role", "portal")
    assert code == 0
    cid = made["client_id"]
    for action in ("disable", "enable", "disable", "rotate-secret"):
        code, _ = await asyncio.to_thread(_run, capsys, "clients", action, cid)
        assert code == 0, action
    runtime = ServiceRuntime(GatewaySettings(database_url=url), metadata, MIGRATIONS)
    try:
        rows = await outbox(runtime)
    finally:
        await runtime.engine.dispose()
    # Waiting in the outbox, unpublished: the running gateway's relay sends them.
    assert all(r.published_at is None for r in rows)
    assert [e["type"].removeprefix("gateway.client.") for e in client_events(rows, cid)] == [
        "created",
        "disabled",
        "enabled",
        "disabled",
        "secret_rotated",
    ]
