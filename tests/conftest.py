from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadrekit.testing.plugin import Signer
from services.roster.app import MIGRATIONS as ROSTER_MIGRATIONS
from services.roster.app import create_app as create_roster
from services.roster.settings import RosterSettings
from tests.factories import cadre_body


@dataclass
class RosterHarness:
    app: FastAPI
    client: httpx.AsyncClient
    signer: Signer
    settings: RosterSettings

    def auth(self, role: str = "admin", **kw: Any) -> dict[str, str]:
        return self.signer.headers(role, **kw)

    async def unit(
        self,
        name: str = "市委组织部",
        kind: str = "city_organ",
        parent_id: str | None = None,
        region: str | None = "平湖",
        **extra: Any,
    ) -> dict[str, Any]:
        resp = await self.client.post(
            "/api/v1/roster/units",
            headers=self.auth(),
            json={"name": name, "kind": kind, "parent_id": parent_id, "region": region, **extra},
        )
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def cadre(self, unit_id: str, **overrides: Any) -> dict[str, Any]:
        resp = await self.client.post(
            "/api/v1/roster/cadres", headers=self.auth(), json=cadre_body(unit_id, **overrides)
        )
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def outbox(self) -> list[dict[str, Any]]:
        import orjson

        from services.roster.models import kit

        async with self.app.state.runtime.engine.connect() as conn:
            rows = (await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all()
        return [orjson.loads(r.payload) for r in rows]


def roster_settings(database_url: str, keys_dir: Path, **overrides: Any) -> RosterSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_enabled": False,
        "keys_dir": keys_dir,
        "mode": "test",
    }
    values.update(overrides)
    return RosterSettings(**values)


@pytest.fixture
async def roster_db(backend: str, database_factories: Any) -> str:
    return await database_factories(ROSTER_MIGRATIONS).fresh(backend)  # type: ignore[no-any-return]


@pytest.fixture
async def roster(roster_db: str, signer: Signer, tmp_path: Path) -> AsyncIterator[RosterHarness]:
    settings = roster_settings(roster_db, tmp_path / "keys")
    app = create_roster(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://roster") as client:
            yield RosterHarness(app, client, signer, settings)
