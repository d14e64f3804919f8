"""The gateway's world: its roster mirror holds A and B; a subscription with a delivery; a
portal client with the persons it acts for as officers (one more to revoke).

The composed profile is the gateway's one unit-scoped object (a cadre, placed by the
mirror); nothing listens behind the gateway, so an admitted profile read answers 503 from
the missing services — after the scope rule has already decided. The "portal as officer"
caller's tokens are exchanged as a portal exchanges them; each of its requests writes a row
of the delegated-actions log, refused or not, which is what that log is for.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cadrekit.role_matrix import Caller
from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.settings import BaseServiceSettings
from cadrekit.testing.plugin import Signer, free_port
from gateway import clients, delegations, tokens
from gateway.app import MIGRATIONS
from gateway.app import create_app as create_gateway
from gateway.models import WebhookDelivery, WebhookSubscription, mirror
from gateway.settings import GatewaySettings
from tests.access.world import PORTAL, World, delegated_person
from tests.factories import mirrored_cadre

ISSUER = BaseServiceSettings.model_fields["token_issuer"].default
AUDIENCE = BaseServiceSettings.model_fields["token_audience"].default
SERVICES = ("roster", "scoring", "matching", "secondment")
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PERSON = "urn:cadre:params:oauth:token-type:person"
REVOKED = "officer-to-revoke"  # the {person_id} of the revoking route: not the caller's own


async def officer_tokens(app: FastAPI, scopes: list[list[str] | None]) -> dict[tuple[str, ...] | None, str]:
    """The "portal as officer" caller's tokens, got as a portal gets them: the portal client
    (for the whole tree), a person registered for each scope, token exchange with
    ``scope=role:officer``. Keyed by the scope (None: the whole tree)."""
    runtime = app.state.runtime
    made = await clients.create_client(
        runtime, name="门户", role="portal", unit_scope=None, created_by="matrix", client_id=PORTAL
    )
    out: dict[tuple[str, ...] | None, str] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        creds = {"grant_type": "client_credentials", "client_id": PORTAL, "client_secret": made["client_secret"]}
        portal = (await http.post("/api/v1/auth/token", data=creds)).json()["access_token"]
        for scope in scopes:
            person = delegated_person(scope)
            await delegations.register(
                runtime, portal_client_id=PORTAL, person_id=person, unit_scope=scope, created_by="matrix"
            )
            exchange = {"grant_type": EXCHANGE, "actor_token": portal, "subject_token": person}
            resp = await http.post(
                "/api/v1/auth/token", data={**exchange, "subject_token_type": PERSON, "scope": "role:officer"}
            )
            assert resp.status_code == 200, resp.text
            out[None if scope is None else tuple(scope)] = resp.json()["access_token"]
    return out


def unit_state(name: str, parent: dict[str, Any] | None) -> dict[str, Any]:
    unit_id = str(uuid.uuid4())
    return {
        "unit_id": unit_id,
        "name": name,
        "kind": "town",
        "region": "平湖",
        "body": None,
        "parent_id": parent["unit_id"] if parent else None,
        "path": (parent["path"] if parent else "/") + unit_id + "/",
        "version": 1,
    }


def cadre_state(unit: dict[str, Any], name: str) -> dict[str, Any]:
    return mirrored_cadre(unit["unit_id"], name=name, leadership_status="second_line")


@contextlib.asynccontextmanager
async def world(backend: str, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[World]:
    await asyncio.to_thread(tmp_path.mkdir, parents=True, exist_ok=True)
    settings = GatewaySettings(
        database_url=await database_factories(MIGRATIONS).fresh(backend),
        signing_keys_dir=tmp_path / "gw-keys",
        bootstrap_file=tmp_path / "boot.json",
        upstream_timeout_seconds=0.5,
        kafka_enabled=False,
        mode="test",
        **{f"{s}_url": f"http://127.0.0.1:{free_port()}" for s in SERVICES},
    )
    app = create_gateway(settings, configure_logs=False)
    async with app.router.lifespan_context(app):
        root = unit_state("平湖市", None)
        a = unit_state("甲镇", root)
        a1 = unit_state("甲镇一村", a)
        b = unit_state("乙镇", root)
        officers = await officer_tokens(app, [None, [a["unit_id"]]])
        await delegations.register(
            app.state.runtime, portal_client_id=PORTAL, person_id=REVOKED, unit_scope=None, created_by="matrix"
        )

        def headers(caller: Caller, scope: list[str] | None) -> dict[str, str]:
            if caller.delegated:
                return {"Authorization": f"Bearer {officers[None if scope is None else tuple(scope)]}"}
            role = caller.role
            token = tokens.issue(
                app.state.keyring,
                issuer=ISSUER,
                audience=AUDIENCE,
                ttl=600,
                sub=f"{role.value}-person",
                role=role.value,
                unit_scope=scope,
                # The portal's, like the delegated caller's: every caller owns the subscription.
                client_id=PORTAL,
            )
            return {"Authorization": f"Bearer {token}"}

        cadre_a = cadre_state(a1, "甲干部")
        cadre_b = cadre_state(b, "乙干部")
        sub = WebhookSubscription(
            owner=PORTAL, url="http://127.0.0.1:9/hook", event_types=["*"], secret="s" * 32, created_by="admin"
        )
        delivery = WebhookDelivery(
            subscription_id=sub.id,
            message_id=str(uuid.uuid4()),
            event_type="roster.cadre.updated",
            payload="{}",
            status="delivered",
        )
        async with app.state.runtime.sessions() as s:
            for u in (root, a, a1, b):
                await upsert_unit(s, mirror, u)
            for c in (cadre_a, cadre_b):
                await upsert_cadre(s, mirror, c)
            s.add(sub)
            s.add(delivery)
            await s.commit()
        yield World(
            app=app,
            headers=headers,
            scope=[a["unit_id"]],
            inside={"cadre_id": cadre_a["cadre_id"]},
            outside={"cadre_id": cadre_b["cadre_id"]},
            # The clients' routes act on the portal: its persons are registered with it.
            fixed={"subscription_id": sub.id, "delivery_id": delivery.id, "client_id": PORTAL, "person_id": REVOKED},
            bodies={
                "PATCH /api/v1/auth/clients/{client_id}": lambda ids: {"disabled": False},
                "POST /api/v1/auth/clients/{client_id}/delegations": lambda ids: {
                    "person_id": "officer-new",
                    "unit_scope": None,
                },
            },
            secrets={cadre_b["cadre_id"], cadre_b["name"]},
            ignore_tables={"delegated_actions"},
        )
