"""Officers through the portal (issue 17, item 7): the persons a portal may act for as
officers are registered by an admin, each with a unit scope inside the portal's; token
exchange gives the officer role to those persons only; revoking stops their tokens; every
registration and revocation is an event on gateway.events, and every exchange for an
officer and every request made with an officer's token is a row of the delegated-actions
log naming the person and the portal."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import jsonschema
import jwt
import orjson
import pytest
from sqlalchemy import func, select

from cadrekit.roster_mirror import upsert_unit
from cadrekit.runtime import ServiceRuntime
from contracts import catalogue, topics
from deploy.cli import main
from gateway.app import MIGRATIONS
from gateway.models import DelegatedAction, kit, metadata, mirror
from gateway.settings import GatewaySettings
from tests.gateway.conftest import GatewayHarness, exchange, new_client

OFFICER = {"scope": "role:officer"}


def delegations_of(portal_id: str) -> str:
    return f"/api/v1/auth/clients/{portal_id}/delegations"


async def _units(gw: GatewayHarness, *paths: list[str]) -> None:
    """Units in the gateway's roster mirror, each given as its path of ids from the root."""
    async with gw.app.state.runtime.sessions() as s:
        for path in paths:
            await upsert_unit(
                s,
                mirror,
                {
                    "unit_id": path[-1],
                    "name": path[-1],
                    "kind": "town",
                    "parent_id": path[-2] if len(path) > 1 else None,
                    "path": "/" + "/".join(path) + "/",
                    "version": 1,
                },
            )
        await s.commit()


def _claims(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    claims: dict[str, Any] = jwt.decode(resp.json()["access_token"], options={"verify_signature": False})
    return claims


async def _delegation_events(gw: GatewayHarness) -> list[dict[str, Any]]:
    async with gw.app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all()
    out = []
    for row in rows:
        event = orjson.loads(row.payload)
        if event["type"].startswith("gateway.delegation."):
            assert row.topic == "gateway.events" and row.key == event["data"]["portal_client_id"]
            jsonschema.validate(
                event["data"],
                {k: v for k, v in catalogue.schemas(topics.GATEWAY)[event["type"]].items() if k != "summary"},
            )
            out.append(event)
    return out


async def _log(gw: GatewayHarness) -> list[DelegatedAction]:
    async with gw.app.state.runtime.sessions() as s:
        return list((await s.execute(select(DelegatedAction).order_by(DelegatedAction.id))).scalars())  # type: ignore[arg-type]


async def test_an_admin_registers_lists_and_revokes_the_persons_a_portal_acts_for(gateway: GatewayHarness) -> None:
    city, town = str(uuid.uuid4()), str(uuid.uuid4())
    await _units(gateway, [city], [city, town])
    portal_id, _ = await new_client(gateway, "portal", [city])
    admin = await gateway.auth()

    made = await gateway.client.post(
        delegations_of(portal_id), headers=admin, json={"person_id": "zhang3", "unit_scope": [town]}
    )
    assert made.status_code == 201, made.text
    first = made.json()
    assert (first["subject"], first["unit_scope"], first["created_by"]) == (
        f"portal:{portal_id}:zhang3",
        [town],
        "admin",
    )
    assert first["revoked_at"] is None
    listed = (await gateway.client.get(delegations_of(portal_id), headers=admin)).json()
    assert [d["person_id"] for d in listed["items"]] == ["zhang3"]

    revoked = await gateway.client.delete(delegations_of(portal_id) + "/zhang3", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["id"] == first["id"] and revoked.json()["revoked_by"] == "admin"
    assert (await gateway.client.get(delegations_of(portal_id), headers=admin)).json()["items"] == []
    again = await gateway.client.delete(delegations_of(portal_id) + "/zhang3", headers=admin)
    assert again.status_code == 404

    # Registered again (say with another scope): a new registration; the history keeps both.
    second = await gateway.client.post(
        delegations_of(portal_id), headers=admin, json={"person_id": "zhang3", "unit_scope": [city]}
    )
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    history = await gateway.client.get(delegations_of(portal_id), headers=admin, params={"include_revoked": "true"})
    assert [(d["unit_scope"], d["revoked_at"] is None) for d in history.json()["items"]] == [
        ([town], False),
        ([city], True),
    ]

    events = await _delegation_events(gateway)
    assert [(e["type"], e["data"]["delegation_id"]) for e in events] == [
        ("gateway.delegation.registered", first["id"]),
        ("gateway.delegation.revoked", first["id"]),
        ("gateway.delegation.registered", second.json()["id"]),
    ]
    assert events[1]["data"]["revoked_by"] == "admin" and events[0]["data"]["unit_scope"] == [town]
    channel = (await gateway.client.get("/api/v1/asyncapi.json")).json()["channels"]["gateway.events"]["messages"]
    assert {"gateway_delegation_registered", "gateway_delegation_revoked"} <= set(channel)


async def test_a_registration_lies_inside_the_portals_scope_or_is_refused_naming_the_field(
    gateway: GatewayHarness,
) -> None:
    city, town, village, elsewhere = (str(uuid.uuid4()) for _ in range(4))
    await _units(gateway, [city], [city, town], [city, town, village], [elsewhere])
    portal_id, _ = await new_client(gateway, "portal", [town])
    officer_client, _ = await new_client(gateway, "officer")
    admin = await gateway.auth()

    async def register(client_id: str, **body: Any) -> Any:
        return await gateway.client.post(
            delegations_of(client_id), headers=admin, json={"person_id": "li4", "unit_scope": [village], **body}
        )

    refusals: dict[str, tuple[str, dict[str, Any], str]] = {
        "a unit above the portal's": (portal_id, {"unit_scope": [city]}, "unit_scope"),
        "a unit beside it": (portal_id, {"unit_scope": [village, elsewhere]}, "unit_scope"),
        "a unit nobody knows": (portal_id, {"unit_scope": [str(uuid.uuid4())]}, "unit_scope"),
        "the whole tree": (portal_id, {"unit_scope": None}, "unit_scope"),
        "no unit at all": (portal_id, {"unit_scope": []}, "unit_scope"),
        "a forged identity": (portal_id, {"person_id": "portal:x:admin"}, "person_id"),
        "an officer client": (officer_client, {}, "client_id"),
    }
    for what, (client_id, body, field) in refusals.items():
        resp = await register(client_id, **body)
        assert resp.status_code == 422, (what, resp.text)
        assert resp.headers["content-type"] == "application/problem+json", what
        assert [e["field"] for e in resp.json()["errors"]] == [field], (what, resp.json())
    assert (await register("nobody")).status_code == 404
    assert await _delegation_events(gateway) == []

    assert (await register(portal_id)).status_code == 201  # the village lies below the town
    assert (await register(portal_id, unit_scope=[town])).status_code == 409
    # A portal for the whole tree may register the whole tree.
    whole_id, _ = await new_client(gateway, "portal")
    whole = await register(whole_id, unit_scope=None)
    assert whole.status_code == 201 and whole.json()["unit_scope"] is None
    assert len(await _delegation_events(gateway)) == 2


async def test_a_registered_person_is_exchanged_for_an_officer_token_with_the_registered_scope(
    gateway: GatewayHarness,
) -> None:
    city, town, village = (str(uuid.uuid4()) for _ in range(3))
    await _units(gateway, [city], [city, town], [city, town, village])
    portal_id, portal = await new_client(gateway, "portal", [city])
    admin = await gateway.auth()
    made = await gateway.client.post(
        delegations_of(portal_id), headers=admin, json={"person_id": "zhang3", "unit_scope": [town]}
    )
    assert made.status_code == 201, made.text

    claims = _claims(await exchange(gateway, portal, "zhang3", **OFFICER))
    assert claims["role"] == "officer" and claims["sub"] == f"portal:{portal_id}:zhang3"
    assert claims["act"] == {"sub": portal_id} and claims["client_id"] == portal_id
    assert claims["unit_scope"] == [town] and claims["delegation_id"] == made.json()["id"]
    # A part of the registered scope may be asked for; never more, not even the portal's.
    narrowed = _claims(await exchange(gateway, portal, "zhang3", scope=f"role:officer unit:{village}"))
    assert narrowed["role"] == "officer" and narrowed["unit_scope"] == [village]
    wider = await exchange(gateway, portal, "zhang3", scope=f"role:officer unit:{city}")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert "registered" in wider.json()["detail"]

    # Without asking for the officer role, the same person gets the portal's role, as before.
    plain = _claims(await exchange(gateway, portal, "zhang3"))
    assert (plain["role"], plain["unit_scope"], "delegation_id" in plain) == ("portal", [city], False)
    # No other role can be asked for.
    asked = await exchange(gateway, portal, "zhang3", scope="role:admin")
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"


async def test_an_unregistered_person_gets_no_officer_token_and_a_revoked_ones_stops_working(
    gateway: GatewayHarness,
) -> None:
    portal_id, portal = await new_client(gateway, "portal")
    other_id, other_portal = await new_client(gateway, "portal")
    admin = await gateway.auth()
    for body in ({"person_id": "zhang3", "unit_scope": None}, {"person_id": "wang5", "unit_scope": None}):
        assert (await gateway.client.post(delegations_of(portal_id), headers=admin, json=body)).status_code == 201

    refused = await exchange(gateway, portal, "li4", **OFFICER)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"].endswith("/officer-not-registered") and body["error"] == "invalid_scope"
    assert [e["field"] for e in body["errors"]] == ["subject_token"] and "li4" in body["detail"]
    # Registered with one portal is not registered with another.
    assert (await exchange(gateway, other_portal, "zhang3", **OFFICER)).status_code == 403
    # An officer token cannot be exchanged again, nor can a client that is not a portal ask.
    token = (await exchange(gateway, portal, "zhang3", **OFFICER)).json()["access_token"]
    assert (await exchange(gateway, token, "wang5", **OFFICER)).status_code == 400
    _, officer_client = await new_client(gateway, "officer")
    assert (await exchange(gateway, officer_client, "zhang3", **OFFICER)).status_code == 403

    as_zhang3 = {"Authorization": f"Bearer {token}"}
    assert (await gateway.client.get("/api/v1/webhooks/subscriptions", headers=as_zhang3)).status_code == 200
    revoked = await gateway.client.delete(delegations_of(portal_id) + "/zhang3", headers=admin)
    assert revoked.status_code == 200
    after = await gateway.client.get("/api/v1/webhooks/subscriptions", headers=as_zhang3)
    assert after.status_code == 401 and "not registered" in after.json()["detail"]
    assert (await exchange(gateway, portal, "zhang3", **OFFICER)).status_code == 403
    # The other registered person is untouched.
    assert _claims(await exchange(gateway, portal, "wang5", **OFFICER))["role"] == "officer"
    assert other_id != portal_id


async def test_every_exchange_for_an_officer_and_every_request_with_the_token_names_the_person_and_the_portal(
    gateway: GatewayHarness,
) -> None:
    portal_id, portal = await new_client(gateway, "portal")
    admin = await gateway.auth()
    made = await gateway.client.post(
        delegations_of(portal_id), headers=admin, json={"person_id": "zhang3", "unit_scope": None}
    )
    delegation_id = made.json()["id"]
    zhang3, li4 = f"portal:{portal_id}:zhang3", f"portal:{portal_id}:li4"

    token = (await exchange(gateway, portal, "zhang3", **OFFICER)).json()["access_token"]
    assert (await exchange(gateway, portal, "li4", **OFFICER)).status_code == 403
    as_zhang3 = {"Authorization": f"Bearer {token}"}
    listed = await gateway.client.get("/api/v1/webhooks/subscriptions", headers=as_zhang3)
    assert listed.status_code == 200
    assert (await gateway.client.get("/api/v1/auth/clients", headers=as_zhang3)).status_code == 403
    # The portal's own requests and its plain person tokens are not delegated actions.
    plain = (await exchange(gateway, portal, "zhang3")).json()["access_token"]
    for headers in ({"Authorization": f"Bearer {portal}"}, {"Authorization": f"Bearer {plain}"}, admin):
        assert (await gateway.client.get("/api/v1/webhooks/subscriptions", headers=headers)).status_code == 200

    rows = await _log(gateway)
    assert [(r.person, r.portal, r.delegation_id, r.action, r.method, r.path, r.status) for r in rows] == [
        (zhang3, portal_id, delegation_id, "token-exchange", "POST", "/api/v1/auth/token", 200),
        (li4, portal_id, None, "token-exchange", "POST", "/api/v1/auth/token", 403),
        (zhang3, portal_id, delegation_id, "request", "GET", "/api/v1/webhooks/subscriptions", 200),
        (zhang3, portal_id, delegation_id, "request", "GET", "/api/v1/auth/clients", 403),
    ]
    assert all(r.role == "officer" and r.at is not None for r in rows)
    assert rows[2].request_id == listed.headers["x-request-id"]

    # The log, read by the auditor: newest first, by person or portal, a page at a time.
    _, auditor = await new_client(gateway, "auditor")
    log = "/api/v1/gateway/audit/delegated-actions"
    as_auditor = {"Authorization": f"Bearer {auditor}"}
    page = (await gateway.client.get(log, headers=as_auditor, params={"person": zhang3, "limit": 2})).json()
    assert [(i["path"], i["status"]) for i in page["items"]] == [
        ("/api/v1/auth/clients", 403),
        ("/api/v1/webhooks/subscriptions", 200),
    ]
    rest = await gateway.client.get(
        log, headers=as_auditor, params={"person": zhang3, "limit": 2, "cursor": page["next_cursor"]}
    )
    assert [i["action"] for i in rest.json()["items"]] == ["token-exchange"] and rest.json()["next_cursor"] is None
    by_portal = (await gateway.client.get(log, headers=as_auditor, params={"portal": portal_id})).json()
    assert len(by_portal["items"]) == 4
    assert (await gateway.client.get(log, headers=as_auditor, params={"portal": "other"})).json()["items"] == []
    # The officer does not read the log of what officers did.
    assert (await gateway.client.get(log, headers=as_zhang3)).status_code == 403


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else out.err


async def test_cadre_delegations_registers_lists_and_revokes_on_the_database(
    database_factories: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await database_factories(MIGRATIONS).fresh("sqlite")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    unit = str(uuid.uuid4())
    portals = (["portal-1"], ["portal-2", "--unit-scope", unit])
    for portal, *scope in portals:
        argv = ["clients", "create", "--name", "门户", "--role", "portal", "--client-id", portal, *scope]
        assert (await asyncio.to_thread(_run, capsys, *argv))[0] == 0

    code, made = await asyncio.to_thread(_run, capsys, "delegations", "register", "portal-1", "zhang3")
    assert code == 0 and made["subject"] == "portal:portal-1:zhang3" and made["unit_scope"] is None
    assert made["created_by"] == "cli"
    # The whole tree is the default, which a portal limited to some units cannot give.
    code, err = await asyncio.to_thread(_run, capsys, "delegations", "register", "portal-2", "li4")
    assert code == 1 and "unit_scope" in err
    code, scoped = await asyncio.to_thread(
        _run, capsys, "delegations", "register", "portal-2", "li4", "--unit-scope", unit
    )
    assert code == 0 and scoped["unit_scope"] == [unit]

    code, listed = await asyncio.to_thread(_run, capsys, "delegations", "list", "portal-1")
    assert code == 0 and [d["person_id"] for d in listed] == ["zhang3"]
    code, revoked = await asyncio.to_thread(_run, capsys, "delegations", "revoke", "portal-1", "zhang3")
    assert code == 0 and revoked["revoked_by"] == "cli"
    code, listed = await asyncio.to_thread(_run, capsys, "delegations", "list", "portal-1")
    assert code == 0 and listed == []
    code, listed = await asyncio.to_thread(_run, capsys, "delegations", "list", "portal-1", "--include-revoked")
    assert code == 0 and [d["revoked_by"] for d in listed] == ["cli"]

    runtime = ServiceRuntime(GatewaySettings(database_url=url), metadata, MIGRATIONS)
    try:
        async with runtime.engine.connect() as conn:
            types = (
                await conn.execute(
                    select(kit.outbox.c.type, func.count())
                    .where(kit.outbox.c.type.like("gateway.delegation.%"))
                    .group_by(kit.outbox.c.type)
                )
            ).all()
    finally:
        await runtime.engine.dispose()
    # Announced through the outbox, as the API's changes are: the running gateway's relay sends them.
    assert dict(types) == {"gateway.delegation.registered": 2, "gateway.delegation.revoked": 1}
