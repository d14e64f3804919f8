"""Token exchange: the identities a portal may mint are its own (issue 15, finding 4).

A person named by a portal is ``portal:<client id>:<person id>``, so an exchanged ``sub``
can never be ``admin``, another client's id or another portal's person: the audit logs and
the four-eyes rule (the proposer may not approve) compare ``sub`` values. And a portal may
narrow a person's scope to any unit inside its own subtrees (judged on the roster mirror).
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from cadrekit.roster_mirror import upsert_unit
from gateway.models import mirror
from tests.gateway.conftest import GatewayHarness

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PERSON = "urn:cadre:params:oauth:token-type:person"


async def _client(gw: GatewayHarness, role: str, unit_scope: list[str] | None = None) -> tuple[str, str]:
    """A new client's id and an access token of it."""
    made = await gw.client.post(
        "/api/v1/auth/clients",
        headers=await gw.auth(),
        json={"name": f"{role} client", "role": role, "unit_scope": unit_scope},
    )
    assert made.status_code == 201, made.text
    c = made.json()
    return c["client_id"], await gw.token(client_id=c["client_id"], secret=c["client_secret"])


async def _exchange(gw: GatewayHarness, actor: str, person: str = "zhang3", **extra: str) -> Any:
    return await gw.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": EXCHANGE,
            "actor_token": actor,
            "subject_token": person,
            "subject_token_type": PERSON,
            **extra,
        },
    )


def _claims(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    return jwt.decode(resp.json()["access_token"], options={"verify_signature": False})  # type: ignore[no-any-return]


async def test_an_exchanged_identity_is_the_portals_own_never_admin_or_another_client(
    gateway: GatewayHarness,
) -> None:
    portal_id, portal = await _client(gateway, "portal")
    officer_id, _ = await _client(gateway, "officer")
    other_portal_id, other_portal = await _client(gateway, "portal")

    as_admin = await _exchange(gateway, portal, "admin")
    claims = _claims(as_admin)
    assert claims["sub"] == f"portal:{portal_id}:admin" != "admin"
    assert claims["act"] == {"sub": portal_id} and claims["client_id"] == portal_id
    principal = await gateway.app.state.verifier.verify(as_admin.json()["access_token"])
    assert (principal.sub, principal.act) == (f"portal:{portal_id}:admin", portal_id)

    # An officer's client id named as the person: a proposer's identity, not the officer's.
    as_officer = _claims(await _exchange(gateway, portal, officer_id))
    assert as_officer["sub"] == f"portal:{portal_id}:{officer_id}" != officer_id
    # Nor the portal itself, nor the same person behind another portal.
    assert _claims(await _exchange(gateway, portal, portal_id))["sub"] != portal_id
    assert _claims(await _exchange(gateway, other_portal, "zhang3"))["sub"] == f"portal:{other_portal_id}:zhang3"
    assert _claims(await _exchange(gateway, portal, "zhang3"))["sub"] == f"portal:{portal_id}:zhang3"

    # The namespaced person can manage the portal's webhooks: owner = the portal, made by the person.
    person = {"Authorization": f"Bearer {as_admin.json()['access_token']}"}
    sub = await gateway.client.post(
        "/api/v1/webhooks/subscriptions", headers=person, json={"url": "http://hooks.example/", "event_types": ["*"]}
    )
    assert sub.status_code == 201, sub.text
    assert (sub.json()["owner"], sub.json()["created_by"]) == (portal_id, f"portal:{portal_id}:admin")


@pytest.mark.parametrize(
    "person",
    [
        "portal:someone:admin",  # a namespaced identity: the portal cannot nest or forge one
        "a b",
        "-lead",
        ".hidden",
        "_x",
        "a/b",
        "a\nb",
        "zhang3\n",
        "张三",
        "x" * 65,
        "a\x00b",
    ],
)
async def test_a_person_id_outside_the_strict_charset_is_refused(gateway: GatewayHarness, person: str) -> None:
    _, portal = await _client(gateway, "portal")
    resp = await _exchange(gateway, portal, person)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert resp.headers["content-type"] == "application/problem+json"
    assert body["error"] == "invalid_request"
    assert [e["field"] for e in body["errors"]] == ["subject_token"]


async def test_person_ids_within_the_charset_are_accepted(gateway: GatewayHarness) -> None:
    portal_id, portal = await _client(gateway, "portal")
    for person in ("a", "Zhang3", "0.user_name-9", "x" * 64):
        assert _claims(await _exchange(gateway, portal, person))["sub"] == f"portal:{portal_id}:{person}"


async def _units(gw: GatewayHarness, *paths: list[str]) -> None:
    async with gw.app.state.runtime.sessions() as s:
        for path in paths:
            await upsert_unit(
                s,
                mirror,
                {"unit_id": path[-1], "name": path[-1], "kind": "town", "parent_id": None, "path": path, "version": 1},
            )
        await s.commit()


async def test_a_portal_narrows_to_any_unit_inside_its_scope_and_never_outside(gateway: GatewayHarness) -> None:
    city, town, village, elsewhere, near = (str(uuid.uuid4()) for _ in range(5))
    await _units(gateway, [city], [city, town], [city, town, village], [elsewhere], [elsewhere, near])
    _, portal = await _client(gateway, "portal", [city])

    assert _claims(await _exchange(gateway, portal, scope=f"unit:{town}"))["unit_scope"] == [town]
    both = _claims(await _exchange(gateway, portal, scope=f"unit:{village} unit:{city}"))
    assert both["unit_scope"] == [village, city]
    assert _claims(await _exchange(gateway, portal))["unit_scope"] == [city]

    for outside in (elsewhere, near, str(uuid.uuid4()), "a\x00b"):
        refused = await _exchange(gateway, portal, scope=f"unit:{town} unit:{outside}")
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_scope"
        assert town not in refused.json()["detail"]

    # A portal scoped to the town cannot climb to the city or step sideways.
    _, town_portal = await _client(gateway, "portal", [town])
    assert _claims(await _exchange(gateway, town_portal, scope=f"unit:{village}"))["unit_scope"] == [village]
    assert (await _exchange(gateway, town_portal, scope=f"unit:{city}")).status_code == 400


async def test_the_auditor_reads_audit_logs_not_profiles(gateway: GatewayHarness) -> None:
    """Issue 15, finding 5a: the route admits exactly who the role matrix says."""
    from cadrekit.auth import Role
    from cadrekit.role_matrix import matrix

    (cell,) = [c for c in matrix(gateway.app) if c.path == "/api/v1/cadres/{cadre_id}/profile"]
    assert Role.auditor not in cell.roles and {Role.admin, Role.officer, Role.unit_hr, Role.portal} <= cell.roles
    _, auditor = await _client(gateway, "auditor")
    refused = await gateway.client.get(
        f"/api/v1/cadres/{uuid.uuid4()}/profile", headers={"Authorization": f"Bearer {auditor}"}
    )
    assert refused.status_code == 403, refused.text  # before any service is asked (roster is down here)
    admitted = await gateway.client.get(f"/api/v1/cadres/{uuid.uuid4()}/profile", headers=await gateway.auth())
    assert admitted.status_code == 503
