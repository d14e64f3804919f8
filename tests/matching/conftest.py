"""A matching service in process on a fresh database, with its roster mirror seeded directly
and inbound events applied through the real inbox (no broker needed for service tests)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.testing.plugin import Signer
from contracts.base import current
from contracts.envelope import Event, envelope
from contracts.samples import sample_data
from services.matching.app import MIGRATIONS
from services.matching.app import create_app as create_matching
from services.matching.models import kit, mirror
from services.matching.settings import MatchingSettings
from tests.factories import mirrored_cadre

API = "/api/v1/matching"
_names = itertools.count(1)


def cadre_state(unit_id: str, **kw: Any) -> dict[str, Any]:
    """A second-line cadre near retirement: the pool a placement campaign draws from."""
    second_line = {
        "birth_date": "1966-05-01",
        "years_of_service": 30,
        "strengths": ["招商引资"],
        "post_wishes": ["经济管理", "城建交通"],
        "professional_field": "经济",
        "leadership_status": "second_line",
        "retirement_date": "2026-05-01",
    }
    return mirrored_cadre(unit_id, **{**second_line, **kw})


@dataclass
class MatchingHarness:
    app: FastAPI
    client: httpx.AsyncClient
    signer: Signer

    def auth(self, role: str = "admin", **kw: Any) -> dict[str, str]:
        return self.signer.headers(role, **kw)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def unit(self, name: str = "平湖市委", kind: str = "city_organ", **kw: Any) -> str:
        uid = kw.pop("unit_id", str(uuid.uuid4()))
        parent = kw.pop("parent_path", [])
        state = {"unit_id": uid, "name": name, "kind": kind, "region": "平湖", "body": None, "parent_id": None}
        state.update(kw)
        state["path"] = [*parent, uid]
        state["version"] = 1
        async with self.runtime.sessions() as s:
            await upsert_unit(s, mirror, state)
            await s.commit()
        return uid

    async def cadre(self, unit_id: str, **kw: Any) -> dict[str, Any]:
        state = cadre_state(unit_id, **kw)
        async with self.runtime.sessions() as s:
            await upsert_cadre(s, mirror, state)
            await s.commit()
        return state

    async def deliver(self, type_: str, key: str, data: dict[str, Any], dataversion: str | None = None) -> bool:
        """Apply one inbound event through the service's own idempotent inbox, at the version
        its producer writes today unless told."""
        consumer = next(c for c in self.runtime.consumers if c.name == "matching.inbound")
        if dataversion is None:
            # the test's fields over a valid sample of today's contract (extra fields kept)
            dataversion, data = current(type_).DATAVERSION, sample_data(type_, **data)
        env = envelope(type_.split(".")[0], Event(type_, f"cadre/{key}", key, data, dataversion))
        return bool(await consumer.apply(env, consumer.handlers[type_]))

    async def outbox(self, type_: str | None = None) -> list[dict[str, Any]]:
        async with self.runtime.engine.connect() as conn:
            rows = (await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all()
        events = [orjson.loads(r.payload) for r in rows]
        return [e for e in events if type_ is None or e["type"] == type_]

    async def post(self, path: str, body: Any, role: str = "admin", expect: int | None = None) -> httpx.Response:
        resp = await self.client.post(API + path, headers=self.auth(role), json=body)
        if expect is not None:
            assert resp.status_code == expect, resp.text
        return resp

    async def put(self, path: str, body: Any, expect: int | None = None) -> httpx.Response:
        resp = await self.client.put(API + path, headers=self.auth(), json=body)
        if expect is not None:
            assert resp.status_code == expect, resp.text
        return resp

    async def get(self, path: str, role: str = "admin", **params: Any) -> httpx.Response:
        return await self.client.get(API + path, headers=self.auth(role), params=params)

    async def campaign(self, **kw: Any) -> dict[str, Any]:
        body = {"name": "2022年二线干部二次择岗", "kind": "placement", "year": 2022, "starts_on": "2022-03-01", **kw}
        return (await self.post("/campaigns", body, expect=201)).json()  # type: ignore[no-any-return]

    async def add_post(self, campaign_id: str, host_unit_id: str, **kw: Any) -> dict[str, Any]:
        body = {"title": "招商专班", "host_unit_id": host_unit_id, "category": "经济管理", "seats": 1, **kw}
        return (await self.post(f"/campaigns/{campaign_id}/posts", body, expect=201)).json()  # type: ignore[no-any-return]

    async def run(self, campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await self.post(f"/campaigns/{campaign_id}/runs", body, expect=202)
        run_id = resp.json()["id"]
        for _ in range(600):
            got = (await self.get(f"/campaigns/{campaign_id}/runs/{run_id}")).json()
            if got["status"] in ("succeeded", "failed"):
                return got  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise AssertionError("the run did not finish")

    async def results(self, campaign_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = (await self.get(f"/campaigns/{campaign_id}/runs/{run_id}/results", **params)).json()
            out.update({r["cadre_id"]: r for r in page["items"]})
            cursor = page["next_cursor"]
            if not cursor:
                return out


def matching_settings(database_url: str, **overrides: Any) -> MatchingSettings:
    values: dict[str, Any] = {"database_url": database_url, "kafka_enabled": False, "mode": "test"}
    values.update(overrides)
    return MatchingSettings(**values)


@pytest.fixture
async def matching_db(backend: str, database_factories: Any) -> str:
    return await database_factories(MIGRATIONS).fresh(backend)  # type: ignore[no-any-return]


@pytest.fixture
async def matching(matching_db: str, signer: Signer, tmp_path: Path) -> AsyncIterator[MatchingHarness]:
    app = create_matching(matching_settings(matching_db), key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
            yield MatchingHarness(app, client, signer)


def date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)
