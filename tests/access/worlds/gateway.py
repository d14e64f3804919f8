"""The gateway's world: its roster mirror holds A and B; a subscription with a delivery.

The composed profile is the gateway's one unit-scoped object (a cadre, placed by the
mirror); nothing listens behind the gateway, so an admitted profile read answers 503 from
the missing services — after the scope rule has already decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cadrekit.auth import Role
from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.settings import BaseServiceSettings
from cadrekit.testing.plugin import Signer, free_port
from gateway import tokens
from gateway.app import MIGRATIONS
from gateway.app import create_app as create_gateway
from gateway.models import WebhookDelivery, WebhookSubscription, mirror
from gateway.settings import GatewaySettings
from tests.access.world import World
from tests.factories import mirrored_cadre

ISSUER = BaseServiceSettings.model_fields["token_issuer"].default
AUDIENCE = BaseServiceSettings.model_fields["token_audience"].default
SERVICES = ("roster", "scoring", "matching", "secondment")


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
        client_id = json.loads(settings.bootstrap_file.read_text())["client_id"]

        def headers(role: Role, scope: list[str] | None) -> dict[str, str]:
            token = tokens.issue(
                app.state.keyring,
                issuer=ISSUER,
                audience=AUDIENCE,
                ttl=600,
                sub=f"{role.value}-person",
                role=role.value,
                unit_scope=scope,
                client_id=client_id,
            )
            return {"Authorization": f"Bearer {token}"}

        root = unit_state("平湖市", None)
        a = unit_state("甲镇", root)
        a1 = unit_state("甲镇一村", a)
        b = unit_state("乙镇", root)
        cadre_a = cadre_state(a1, "甲干部")
        cadre_b = cadre_state(b, "乙干部")
        sub = WebhookSubscription(
            owner=client_id, url="http://127.0.0.1:9/hook", event_types=["*"], secret="s" * 32, created_by="admin"
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
            fixed={"subscription_id": sub.id, "delivery_id": delivery.id, "client_id": client_id},
            bodies={"PATCH /api/v1/auth/clients/{client_id}": lambda ids: {"disabled": False}},
            secrets={cadre_b["cadre_id"], cadre_b["name"]},
        )
