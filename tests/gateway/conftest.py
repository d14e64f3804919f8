from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadrekit.testing.plugin import free_port
from gateway.app import MIGRATIONS
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings


@dataclass
class GatewayHarness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings

    def bootstrap(self) -> dict[str, str]:
        return json.loads(self.settings.bootstrap_file.read_text())  # type: ignore[no-any-return]

    async def token(self, client_id: str | None = None, secret: str | None = None) -> str:
        creds = self.bootstrap()
        resp = await self.client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or creds["client_id"],
                "client_secret": secret or creds["client_secret"],
            },
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]  # type: ignore[no-any-return]

    async def auth(self, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(**kw)}"}


async def _hanging_server() -> tuple[asyncio.AbstractServer, int]:
    """An upstream that accepts connections and never answers (a stalled service)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def gateway(backend: str, database_factories: Any, tmp_path: Path) -> AsyncIterator[GatewayHarness]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    hanging, hanging_port = await _hanging_server()
    settings = GatewaySettings(
        database_url=url,
        mode="test",
        signing_keys_dir=tmp_path / "keys",
        bootstrap_file=tmp_path / "boot.json",
        roster_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: the service is down
        scoring_url=f"http://127.0.0.1:{hanging_port}",
        upstream_timeout_seconds=0.5,
        kafka_bootstrap=f"127.0.0.1:{free_port()}",
    )
    app = create_gateway(settings, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield GatewayHarness(app, client, settings)
    hanging.close()


EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PERSON = "urn:cadre:params:oauth:token-type:person"


async def new_client(gw: GatewayHarness, role: str, unit_scope: list[str] | None = None) -> tuple[str, str]:
    """A new client's id and an access token of it."""
    made = await gw.client.post(
        "/api/v1/auth/clients",
        headers=await gw.auth(),
        json={"name": f"{role} client", "role": role, "unit_scope": unit_scope},
    )
    assert made.status_code == 201, made.text
    c = made.json()
    return c["client_id"], await gw.token(client_id=c["client_id"], secret=c["client_secret"])


async def exchange(gw: GatewayHarness, actor: str, person: str, **extra: str) -> httpx.Response:
    """The portal's token (``actor``) exchanged for one naming ``person``."""
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
