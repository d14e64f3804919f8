"""A disabled client is refused at every service's own port, not only at the gateway.

The gateway, roster and scoring each run as their own HTTP server on a port of their own,
with a real broker between them; the services verify tokens against the gateway's JWKS, as
in production. A client's token works at roster and scoring directly; the client is disabled
through the gateway's API, and within 5 s the same token is refused (401 problem+json) at
both services' own ports, as is a token the disabled portal exchanged for one of its people.
A service restarted meanwhile still refuses them; enabling the clients again lets their
tokens through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cadrekit.testing.plugin import Broker
from gateway.app import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from services.roster.app import create_app as create_roster
from services.scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from services.scoring.app import create_app as create_scoring
from services.scoring.settings import ScoringSettings
from tests.conftest import roster_settings
from tests.factories import cadre_body
from tests.integration.conftest import eventually
from tests.servers import serving

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PERSON = "urn:cadre:params:oauth:token-type:person"
WITHIN = 5.0  # seconds from the PATCH at the gateway to the refusal at every service


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def consumers_assigned(app: FastAPI) -> None:
    """Every consumer of the app has its partitions (a new group's first join takes a few
    seconds on Apache Kafka): the 5 s count only what happens after a change."""
    runtime = app.state.runtime

    async def assigned() -> bool:
        return all(c.state.get("assigned") for c in runtime.consumers)

    await eventually(assigned, timeout=60, what=f"{runtime.settings.service_name}'s consumers assigned")


async def answers_within(
    expected: int, checks: dict[str, Callable[[], Awaitable[httpx.Response]]], seconds: float = WITHIN
) -> float:
    """Polls every check until all answer ``expected``; returns how long that took."""
    start = time.monotonic()
    last: dict[str, int] = {}
    while True:
        responses = {name: await check() for name, check in checks.items()}
        last = {name: r.status_code for name, r in responses.items()}
        if all(code == expected for code in last.values()):
            if expected == 401:
                for name, r in responses.items():
                    assert r.headers["content-type"].startswith("application/problem+json"), (name, r.text)
                    assert r.json()["status"] == 401, (name, r.text)
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not all {expected} within {seconds:g} s: {last}")
        await asyncio.sleep(0.1)


async def test_a_disabled_client_is_refused_at_every_services_own_port(
    backend: str, database_factories: Any, roster_db: str, broker: Broker, tmp_path: Path
) -> None:
    gw_settings = GatewaySettings(
        database_url=await database_factories(GATEWAY_MIGRATIONS).fresh(backend),
        mode="test",
        signing_keys_dir=tmp_path / "gw-keys",
        bootstrap_file=tmp_path / "boot.json",
        rate_limit_enabled=False,
        kafka_enabled=True,
        outbox_poll_seconds=0.1,
        broker_check_seconds=0.5,
        **broker.client_settings("gateway"),
    )
    scoring_db = await database_factories(SCORING_MIGRATIONS).fresh(backend)

    async with contextlib.AsyncExitStack() as stack:
        gw = await stack.enter_async_context(serving(create_gateway(gw_settings, configure_logs=False)))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30))
        # The services verify tokens against the gateway's JWKS, as in production.
        live = {"kafka_enabled": True, "broker_check_seconds": 0.5, "jwks_url": f"{gw}/.well-known/jwks.json"}

        def new_scoring() -> FastAPI:
            settings = ScoringSettings(
                database_url=scoring_db, mode="test", **live, **broker.client_settings("scoring")
            )
            return create_scoring(settings, configure_logs=False)

        roster_app = create_roster(
            roster_settings(roster_db, tmp_path / "roster-keys", **live, **broker.client_settings("roster")),
            configure_logs=False,
        )
        scoring_app = new_scoring()
        at_roster = await stack.enter_async_context(
            httpx.AsyncClient(base_url=await stack.enter_async_context(serving(roster_app)), timeout=30)
        )
        scoring_stack = contextlib.AsyncExitStack()  # closed early: scoring restarts below
        stack.push_async_callback(scoring_stack.aclose)
        at_scoring = await scoring_stack.enter_async_context(
            httpx.AsyncClient(base_url=await scoring_stack.enter_async_context(serving(scoring_app)), timeout=30)
        )

        async def token(client_id: str, secret: str) -> str:
            resp = await http.post(
                "/api/v1/auth/token",
                data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
            )
            assert resp.status_code == 200, resp.text
            return resp.json()["access_token"]  # type: ignore[no-any-return]

        boot = json.loads(gw_settings.bootstrap_file.read_text())
        admin = bearer(await token(boot["client_id"], boot["client_secret"]))

        async def new_client(role: str) -> tuple[str, str]:
            made = await http.post("/api/v1/auth/clients", headers=admin, json={"name": f"{role} 系统", "role": role})
            assert made.status_code == 201, made.text
            body = made.json()
            return body["client_id"], await token(body["client_id"], body["client_secret"])

        async def set_disabled(client_id: str, disabled: bool) -> None:
            resp = await http.patch(f"/api/v1/auth/clients/{client_id}", headers=admin, json={"disabled": disabled})
            assert resp.status_code == 200 and resp.json()["disabled"] is disabled, resp.text

        officer_id, officer = await new_client("officer")
        portal_id, portal = await new_client("portal")
        exchanged = await http.post(
            "/api/v1/auth/token",
            data={
                "grant_type": EXCHANGE,
                "actor_token": portal,
                "subject_token": "li-hong",
                "subject_token_type": PERSON,
            },
        )
        assert exchanged.status_code == 200, exchanged.text
        person = exchanged.json()["access_token"]

        # The officer writes at roster's own port: a unit, a cadre, a change to the cadre.
        unit = await at_roster.post(
            "/api/v1/roster/units", headers=bearer(officer), json={"name": "平湖市委组织部", "kind": "city_organ"}
        )
        assert unit.status_code == 201, unit.text
        cadre = await at_roster.post(
            "/api/v1/roster/cadres", headers=bearer(officer), json=cadre_body(unit.json()["id"])
        )
        assert cadre.status_code == 201, cadre.text
        cadre_path = f"/api/v1/roster/cadres/{cadre.json()['id']}"

        async def roster_patch(tok: str, rank: str) -> httpx.Response:
            etag = (await at_roster.get(cadre_path, headers=admin)).headers["etag"]
            return await at_roster.patch(cadre_path, headers={**bearer(tok), "If-Match": etag}, json={"rank": rank})

        first = await roster_patch(officer, "副处")
        assert first.status_code == 200, first.text

        def get(client: httpx.AsyncClient, path: str, tok: str) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: client.get(path, headers=bearer(tok))

        def at_both(
            who: str, tok: str, scoring: httpx.AsyncClient
        ) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
            return {
                f"{who} at roster": get(at_roster, cadre_path, tok),
                f"{who} at scoring": get(scoring, "/api/v1/scoring/catalogues/default", tok),
            }

        portal_checks = {
            **at_both("the portal's person", person, at_scoring),
            "the portal at roster": get(at_roster, "/api/v1/roster/units", portal),
        }
        await answers_within(200, {**at_both("officer", officer, at_scoring), **portal_checks}, seconds=0)
        await consumers_assigned(roster_app)
        await consumers_assigned(scoring_app)

        # Disabled through the gateway: refused at both services' own ports within 5 s.
        await set_disabled(officer_id, True)
        took = {"officer refused": await answers_within(401, at_both("officer", officer, at_scoring))}
        refused = await roster_patch(officer, "正处")
        assert refused.status_code == 401, refused.text
        assert (await http.get("/api/v1/roster/units", headers=bearer(officer))).status_code == 401

        # A disabled portal: its own token and the tokens it exchanged for its people.
        await set_disabled(portal_id, True)
        took["portal refused"] = await answers_within(401, portal_checks)
        await scoring_stack.aclose()

        # Scoring restarted while both are disabled still refuses them, from its first request.
        scoring_app = new_scoring()
        at_scoring = await stack.enter_async_context(
            httpx.AsyncClient(base_url=await stack.enter_async_context(serving(scoring_app)), timeout=30)
        )
        for tok in (officer, person):
            resp = await at_scoring.get("/api/v1/scoring/catalogues/default", headers=bearer(tok))
            assert resp.status_code == 401, resp.text
        await consumers_assigned(scoring_app)

        # Enabled again: their tokens work again at both ports within 5 s.
        await set_disabled(officer_id, False)
        await set_disabled(portal_id, False)
        took["enabled again"] = await answers_within(
            200, {**at_both("officer", officer, at_scoring), **at_both("person", person, at_scoring)}
        )
        print(f"seconds from the PATCH at the gateway: {took}")
        again = await roster_patch(officer, "正处")
        assert again.status_code == 200, again.text
