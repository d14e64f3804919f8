"""RFC 8693 token exchange for people behind the portal, and per-client rate limits."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from gateway.ratelimit import Bucket, MemoryLimiter, RedisLimiter, take
from tests.gateway.conftest import GatewayHarness

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PERSON = "urn:cadre:params:oauth:token-type:person"


async def _client(gw: GatewayHarness, role: str, unit_scope: list[str] | None = None) -> str:
    admin = await gw.auth()
    made = await gw.client.post(
        "/api/v1/auth/clients", headers=admin, json={"name": f"{role} client", "role": role, "unit_scope": unit_scope}
    )
    assert made.status_code == 201, made.text
    c = made.json()
    return await gw.token(client_id=c["client_id"], secret=c["client_secret"])


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


async def test_the_portal_exchanges_its_token_for_one_that_names_the_person(gateway: GatewayHarness) -> None:
    unit_a, unit_b = str(uuid.uuid4()), str(uuid.uuid4())
    portal = await _client(gateway, "portal", [unit_a, unit_b])
    resp = await _exchange(gateway, portal, scope=f"unit:{unit_a}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    portal_claims = jwt.decode(portal, options={"verify_signature": False})
    assert claims["sub"] == f"portal:{portal_claims['client_id']}:zhang3"
    assert claims["act"] == {"sub": portal_claims["client_id"]}
    assert claims["role"] == "portal" and claims["unit_scope"] == [unit_a]
    assert claims["exp"] <= portal_claims["exp"]
    principal = await gateway.app.state.verifier.verify(body["access_token"])
    assert (principal.sub, principal.act) == (f"portal:{portal_claims['client_id']}:zhang3", portal_claims["client_id"])

    wider = await _exchange(gateway, portal, scope=f"unit:{uuid.uuid4()}")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    again = await _exchange(gateway, body["access_token"])
    assert again.status_code == 400
    assert (await _exchange(gateway, portal, subject_token_type="urn:other")).status_code == 400


async def test_only_a_portal_may_act_for_people_and_a_forged_actor_is_refused(gateway: GatewayHarness) -> None:
    officer = await _client(gateway, "officer")
    assert (await _exchange(gateway, officer)).status_code == 403
    forged = jwt.encode({"sub": "x", "role": "portal"}, "s" * 32, algorithm="HS256")
    assert (await _exchange(gateway, forged)).status_code == 401


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    b = Bucket(tokens=2.0, updated=0.0)
    assert [take(b, 0.0, rate=1.0, burst=2).allowed for _ in range(3)] == [True, True, False]
    refused = take(b, 0.5, rate=1.0, burst=2)
    assert not refused.allowed and refused.retry_after == pytest.approx(0.5)
    assert take(b, 1.0, rate=1.0, burst=2).allowed
    assert take(b, 100.0, rate=1.0, burst=2).remaining == 1


async def test_a_client_over_its_limit_gets_429_with_retry_after(gateway: GatewayHarness) -> None:
    gateway.app.state.limiter = MemoryLimiter(rate=0.5, burst=3)
    auth = await gateway.auth()
    codes = [(await gateway.client.get("/api/v1/roster/cadres", headers=auth)).status_code for _ in range(4)]
    assert codes[:3] == [503, 503, 503]  # reached the (stopped) service
    limited = await gateway.client.get("/api/v1/roster/cadres", headers=auth)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    other = await _client(gateway, "officer")
    assert (
        await gateway.client.get("/api/v1/roster/cadres", headers={"Authorization": f"Bearer {other}"})
    ).status_code == 503


async def test_replicas_share_their_buckets_in_redis(redis_server_url: str) -> None:
    key = f"test-{uuid.uuid4()}"
    one = RedisLimiter(redis_server_url, rate=0.1, burst=2)
    two = RedisLimiter(redis_server_url, rate=0.1, burst=2)
    try:
        results = [await one.hit(key), await two.hit(key), await one.hit(key)]
        assert [r.allowed for r in results] == [True, True, False]
        assert results[2].retry_after > 5
    finally:
        await one.close()
        await two.close()


async def test_a_verified_token_is_remembered_but_never_past_its_expiry(gateway: GatewayHarness) -> None:
    verifier = gateway.app.state.verifier
    token = await gateway.token()
    first = await verifier.verify(token)
    calls = 0
    inner = verifier.verify_uncached

    async def counting(t: str) -> Any:
        nonlocal calls
        calls += 1
        return await inner(t)

    verifier.verify_uncached = counting
    assert await verifier.verify(token) == first
    assert calls == 0
    verifier._cache.clear()
    await verifier.verify(token)
    assert calls == 1
