from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.testing.plugin import Signer
from contracts import matching, scoring
from contracts.envelope import envelope
from contracts.samples import sample
from services.secondment.app import MIGRATIONS
from services.secondment.app import create_app as create_secondment
from services.secondment.events import apply_placement_confirmed, apply_score_changed
from services.secondment.models import kit, mirror
from services.secondment.settings import SecondmentSettings
from tests.factories import mirrored_cadre

API = "/api/v1/secondment"


def cadre_state(cadre_id: str, unit_id: str, **kw: Any) -> dict[str, Any]:
    """A young non-leading cadre: whom a two-way secondment sends."""
    young = {
        "name": "干部",
        "birth_date": "1985-06-01",
        "years_of_service": 10,
        "strengths": ["城市规划"],
        "leadership_status": "non_leading",
        "retirement_date": "2045-06-01",
    }
    return mirrored_cadre(unit_id, cadre_id=cadre_id, **{**young, **kw})


@dataclass
class SecondmentHarness:
    app: FastAPI
    client: httpx.AsyncClient
    signer: Signer
    score_changes: int = 0  # the sequence of the last score change fed in (one counter is enough)

    def auth(self, role: str = "officer", **kw: Any) -> dict[str, str]:
        return self.signer.headers(role, **kw)

    async def unit(
        self, name: str, kind: str, region: str | None = None, parent: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        unit_id = str(uuid.uuid4())
        path = [*(parent["path"] if parent else []), unit_id]
        state = {"unit_id": unit_id, "name": name, "kind": kind, "region": region, "path": path, "version": 1}
        state["parent_id"] = parent["unit_id"] if parent else None
        async with self.app.state.runtime.sessions() as s:
            await upsert_unit(s, mirror, state)
            await s.commit()
        return state

    async def cadre(self, unit: dict[str, Any], **kw: Any) -> dict[str, Any]:
        state = cadre_state(str(uuid.uuid4()), unit["unit_id"], **kw)
        async with self.app.state.runtime.sessions() as s:
            await upsert_cadre(s, mirror, state)
            await s.commit()
        return state

    async def score(self, cadre_id: str, year: int, total: str) -> None:
        """As a scoring.score.changed event would arrive: each a newer change of the year."""
        self.score_changes += 1
        changed = sample(scoring.ScoreChanged, cadre_id=cadre_id, year=year, total=total, sequence=self.score_changes)
        event = envelope("scoring", changed.event())
        async with self.app.state.runtime.sessions() as s:
            await apply_score_changed(s, event)
            await s.commit()

    async def placement(
        self, cadre_id: str, campaign_id: str, post_kind: str, starts_on: str, ends_on: str | None
    ) -> None:
        """As a matching.placement.confirmed event would arrive."""
        confirmed = sample(
            matching.PlacementConfirmed,
            campaign_id=campaign_id,
            cadre_id=cadre_id,
            post_kind=post_kind,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        async with self.app.state.runtime.sessions() as s:
            await apply_placement_confirmed(s, envelope("matching", confirmed.event()))
            await s.commit()

    async def post(self, path: str, body: dict[str, Any], role: str = "officer", **kw: Any) -> httpx.Response:
        return await self.client.post(API + path, headers=self.auth(role, **kw), json=body)

    async def get(self, path: str, role: str = "officer", **params: Any) -> httpx.Response:
        return await self.client.get(API + path, headers=self.auth(role), params=params)

    async def ok(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        resp = await self.post(path, body)
        assert resp.status_code == status, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def outbox(self, *, companions: bool = False) -> list[dict[str, Any]]:
        """The events written, in order; the version-1 companions of the placement events
        (published beside version 2, docs/events.md "Versions") only when asked for."""
        async with self.app.state.runtime.engine.connect() as conn:
            rows = (await conn.execute(kit.outbox.select().order_by(kit.outbox.c.id))).all()
        envelopes = [orjson.loads(r.payload) for r in rows]
        return [e for e in envelopes if companions or "supersededby" not in e]

    async def count(self, table: str) -> int:
        from sqlalchemy import func, select

        from services.secondment.models import metadata

        async with self.app.state.runtime.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(metadata.tables[table]))).scalar_one())


@pytest.fixture
async def secondment_db(backend: str, database_factories: Any) -> str:
    return await database_factories(MIGRATIONS).fresh(backend)  # type: ignore[no-any-return]


@pytest.fixture
async def sec(secondment_db: str, signer: Signer) -> AsyncIterator[SecondmentHarness]:
    settings = SecondmentSettings(database_url=secondment_db, kafka_enabled=False, mode="test")
    app = create_secondment(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://secondment") as client:
            yield SecondmentHarness(app, client, signer)
