from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.testing.plugin import Signer
from services.scoring.app import MIGRATIONS
from services.scoring.app import create_app as create_scoring
from services.scoring.models import mirror
from services.scoring.settings import ScoringSettings
from tests.factories import mirrored_cadre

API = "/api/v1/scoring"


@dataclass
class ScoringHarness:
    app: FastAPI
    client: httpx.AsyncClient
    signer: Signer

    def auth(self, role: str = "officer", sub: str = "officer-a", **kw: Any) -> dict[str, str]:
        return self.signer.headers(role, sub=sub, **kw)

    async def unit(
        self, name: str = "市发改局", parent: dict[str, Any] | None = None, kind: str = "city_organ"
    ) -> dict:
        unit_id = str(uuid.uuid4())
        path = (parent["path"] if parent else "/") + unit_id + "/"
        state = {
            "unit_id": unit_id,
            "name": name,
            "kind": kind,
            "region": "平湖",
            "body": None,
            "parent_id": parent["unit_id"] if parent else None,
            "path": path,
            "version": 1,
        }
        async with self.app.state.context.runtime.sessions() as s:
            await upsert_unit(s, mirror, state)
            await s.commit()
        return state

    async def cadre(self, unit: dict[str, Any], name: str = "张建平", **fields: Any) -> str:
        cadre_id = str(uuid.uuid4())
        # The scoring tests' cadre: a clerk on second line, no rank or education on record.
        defaults = {
            "name": name,
            "birth_date": "1966-05-01",
            "post_title": "科员",
            "rank": None,
            "education": None,
            "years_of_service": 30,
            "leadership_status": "second_line",
            "retirement_date": "2026-05-01",
        }
        state = mirrored_cadre(unit["unit_id"], cadre_id=cadre_id, **{**defaults, **fields})
        async with self.app.state.context.runtime.sessions() as s:
            await upsert_cadre(s, mirror, state)
            await s.commit()
        return cadre_id

    async def publish_default(self, year: int = 2025) -> dict[str, Any]:
        admin = self.auth("admin", sub="admin-1")
        draft = await self.client.post(f"{API}/catalogues/{year}/drafts", headers=admin)
        assert draft.status_code == 201, draft.text
        pub = await self.client.post(f"{API}/catalogues/{draft.json()['id']}/publish", headers=admin)
        assert pub.status_code == 200, pub.text
        return pub.json()  # type: ignore[no-any-return]

    async def propose(self, cadre_id: str, rule: str, year: int = 2025, *, sub: str = "hr-1", **extra: Any) -> dict:
        body = {
            "cadre_id": cadre_id,
            "rule_code": rule,
            "year": year,
            "occurred_on": extra.pop("occurred_on", f"{year}-03-01"),
            "evidence": "会议纪要",
            **extra,
        }
        resp = await self.client.post(f"{API}/entries", json=body, headers=self.auth("officer", sub=sub))
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def approve(self, entry_id: str, *, sub: str = "officer-a") -> httpx.Response:
        return await self.client.post(f"{API}/entries/{entry_id}/approve", headers=self.auth("officer", sub=sub))

    async def scored(self, cadre_id: str, rule: str, year: int = 2025, **extra: Any) -> dict:
        entry = await self.propose(cadre_id, rule, year, **extra)
        resp = await self.approve(entry["id"])
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def ledger(self, cadre_id: str, year: int = 2025, **params: Any) -> dict:
        resp = await self.client.get(
            f"{API}/cadres/{cadre_id}/ledger", params={"year": year, **params}, headers=self.auth()
        )
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def outbox(self) -> list[dict[str, Any]]:
        import orjson

        from services.scoring.models import kit

        async with self.app.state.context.runtime.engine.connect() as conn:
            rows = (await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all()
        return [orjson.loads(r.payload) for r in rows]


def scoring_settings(database_url: str, **overrides: Any) -> ScoringSettings:
    return ScoringSettings(**{"database_url": database_url, "kafka_enabled": False, "mode": "test", **overrides})


@pytest.fixture
async def scoring_db(backend: str, database_factories: Any) -> str:
    return await database_factories(MIGRATIONS).fresh(backend)  # type: ignore[no-any-return]


@pytest.fixture
async def scoring(scoring_db: str, signer: Signer) -> AsyncIterator[ScoringHarness]:
    app = create_scoring(scoring_settings(scoring_db), key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
            yield ScoringHarness(app, client, signer)


TODAY = dt.date(2025, 6, 30)
