"""Every service (and the gateway) in process on SQLite, as the role-matrix test builds them.

The gateway's own HTTP client (composed profile, audit, OpenAPI collection, health) reaches the
in-process services through an ASGI transport chosen by the upstream URL's port.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadrekit.auth import Role, StaticKeySource
from cadrekit.roster_mirror import upsert_unit
from cadrekit.testing.plugin import Signer
from tests.access.test_role_matrix import SERVICES, _app, _headers


@dataclass
class System:
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]
    signer: Signer

    def auth(self, service: str, role: str = "admin", **kw: Any) -> dict[str, str]:
        if service == "gateway":
            return _headers(self.apps["gateway"], self.signer, Role(role), kw.get("unit_scope"))
        return self.signer.headers(role, sub=kw.pop("sub", f"{role}-person"), **kw)

    async def mirror_unit(self, service: str, name: str = "市发改局") -> str:
        """A unit in a consuming service's copy of the roster (as roster's events would put it)."""
        unit_id = str(uuid.uuid4())
        state = {
            "unit_id": unit_id,
            "name": name,
            "kind": "city_organ",
            "region": "平湖",
            "body": None,
            "parent_id": None,
            "path": f"/{unit_id}/",
            "version": 1,
        }
        module = __import__(f"services.{service}.models", fromlist=["mirror"])
        async with self.apps[service].state.runtime.sessions() as s:
            await upsert_unit(s, module.mirror, state)
            await s.commit()
        return unit_id


class _Upstreams(httpx.AsyncBaseTransport):
    def __init__(self, apps: dict[str, FastAPI], urls: dict[str, str]) -> None:
        self.routes = {httpx.URL(url).port: httpx.ASGITransport(app=apps[name]) for name, url in urls.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.port].handle_async_request(request)


@pytest.fixture
async def system(database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        apps: dict[str, FastAPI] = {}
        clients: dict[str, httpx.AsyncClient] = {}
        for name in SERVICES:
            app = await _app(name, database_factories, signer, tmp_path / name)
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps[name] = app
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
        gateway = apps["gateway"]
        # The services trust the gateway's keys too, so the tokens it forwards are accepted.
        trusted = {signer.kid: signer.private.public_key(), **gateway.state.keyring.public_keys()}
        for name, app in apps.items():
            if name != "gateway":
                app.state.verifier.keys = StaticKeySource(trusted)
        original = gateway.state.http
        gateway.state.http = httpx.AsyncClient(
            transport=_Upstreams(apps, gateway.state.runtime.settings.upstreams()), base_url="http://upstream"
        )
        try:
            yield System(apps, clients, signer)
        finally:
            await gateway.state.http.aclose()
            gateway.state.http = original
