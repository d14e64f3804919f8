from __future__ import annotations

import os
import stat

import jwt
import pytest
from jwt import PyJWK

from tests.gateway.conftest import GatewayHarness


async def test_bootstrap_client_file_is_private_and_has_no_default_secret(gateway: GatewayHarness) -> None:
    path = gateway.settings.bootstrap_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    creds = gateway.bootstrap()
    assert creds["client_id"] == "admin" and len(creds["client_secret"]) >= 40


async def test_client_credentials_give_an_eddsa_jwt_that_verifies_with_the_jwks(gateway: GatewayHarness) -> None:
    resp = await gateway.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            **{k: gateway.bootstrap()[k] for k in ("client_id", "client_secret")},
        },
    )
    body = resp.json()
    assert resp.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 900
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    jwks = (await gateway.client.get("/.well-known/jwks.json")).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, PyJWK(key).key, algorithms=["EdDSA"], audience="cadre-platform", issuer="cadre-gateway")
    assert {"iss", "aud", "sub", "exp", "iat"} <= set(claims)
    assert claims["role"] == "admin" and claims["unit_scope"] is None and claims["sub"] == "admin"
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"grant_type": "password", "client_id": "admin", "client_secret": "x"}, 400),
        ({"grant_type": "client_credentials", "client_id": "admin", "client_secret": "wrong"}, 401),
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401),
        ({"grant_type": "client_credentials", "client_id": "admin"}, 401),
        ({"grant_type": "client_credentials", "client_id": "admin", "client_secret": "x" * 300}, 422),
    ],
)
async def test_bad_token_requests_are_problems(gateway: GatewayHarness, form: dict, status: int) -> None:
    resp = await gateway.client.post("/api/v1/auth/token", data=form)
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"


async def test_clients_are_created_by_an_admin_with_a_secret_shown_once(gateway: GatewayHarness) -> None:
    admin = await gateway.auth()
    made = await gateway.client.post(
        "/api/v1/auth/clients", headers=admin, json={"name": "某区人事科", "role": "unit_hr", "unit_scope": ["u-1"]}
    )
    assert made.status_code == 201, made.text
    secret = made.json()["client_secret"]
    listed = (await gateway.client.get("/api/v1/auth/clients", headers=admin)).json()["items"]
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)
    hr = await gateway.auth(client_id=made.json()["client_id"], secret=secret)
    claims = jwt.decode(hr["Authorization"].split()[1], options={"verify_signature": False})
    assert claims["role"] == "unit_hr" and claims["unit_scope"] == ["u-1"]
    refused = await gateway.client.post("/api/v1/auth/clients", headers=hr, json={"name": "x", "role": "admin"})
    assert refused.status_code == 403
    no_scope = await gateway.client.post("/api/v1/auth/clients", headers=admin, json={"name": "x", "role": "unit_hr"})
    assert no_scope.status_code == 422 and no_scope.json()["errors"][0]["field"] == "unit_scope"
    mass = await gateway.client.post(
        "/api/v1/auth/clients", headers=admin, json={"name": "x", "role": "portal", "secret_hash": "mine"}
    )
    assert mass.status_code == 422


async def test_a_disabled_client_is_refused_at_its_next_use_and_rotation_retires_the_old_secret(
    gateway: GatewayHarness,
) -> None:
    admin = await gateway.auth()
    made = (
        await gateway.client.post(
            "/api/v1/auth/clients", headers=admin, json={"name": "门户", "role": "portal", "client_id": "portal-1"}
        )
    ).json()
    portal = await gateway.auth(client_id="portal-1", secret=made["client_secret"])
    assert (await gateway.client.get("/api/v1/auth/clients", headers=portal)).status_code == 403  # alive, not admin
    off = await gateway.client.patch("/api/v1/auth/clients/portal-1", headers=admin, json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    after = await gateway.client.get("/api/v1/roster/cadres", headers=portal)
    assert after.status_code == 401  # the token it already holds stops working
    rotated = (await gateway.client.post("/api/v1/auth/clients/admin/rotate-secret", headers=admin)).json()
    old = await gateway.client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "admin",
            "client_secret": gateway.bootstrap()["client_secret"],
        },
    )
    assert old.status_code == 401
    assert await gateway.token(client_id="admin", secret=rotated["client_secret"])


async def test_a_service_that_is_down_answers_503_and_a_stalled_one_504(gateway: GatewayHarness) -> None:
    auth = await gateway.auth()
    down = await gateway.client.get("/api/v1/roster/cadres", headers=auth)
    assert down.status_code == 503 and down.headers["content-type"] == "application/problem+json"
    assert "roster" in down.json()["detail"]
    slow = await gateway.client.get("/api/v1/scoring/anything", headers=auth)
    assert slow.status_code == 504 and "scoring" in slow.json()["detail"]
    unknown = await gateway.client.get("/api/v1/nosuch/x", headers=auth)
    assert unknown.status_code == 404


async def test_requests_without_a_valid_token_never_reach_a_service(gateway: GatewayHarness) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}):
        resp = await gateway.client.get("/api/v1/roster/cadres", headers=headers)
        assert resp.status_code == 401, headers  # not 503: the (down) service is never asked


async def test_health_reports_each_service_and_the_broker(gateway: GatewayHarness) -> None:
    body = (await gateway.client.get("/api/v1/health")).json()
    assert body["status"] == "degraded"
    assert body["services"]["roster"]["status"] == "down" and body["broker"]["reachable"] is False
