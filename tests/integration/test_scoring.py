"""Roster → scoring → subscribers through the real broker: the scoring service builds its
cadre mirror from roster events, and an approval reaches a plain Kafka consumer as
``scoring.score.changed`` with the right totals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from cadrekit.roster_mirror import get_cadre
from cadrekit.testing.plugin import Broker, Signer
from contracts.envelope import parse
from services.scoring.app import MIGRATIONS
from services.scoring.app import create_app as create_scoring
from services.scoring.models import mirror
from tests.conftest import RosterHarness
from tests.integration.conftest import eventually
from tests.scoring.conftest import API, ScoringHarness, scoring_settings


@pytest.fixture
async def live_scoring(database_factories: Any, signer: Signer, broker: Broker) -> AsyncIterator[ScoringHarness]:
    url = await database_factories(MIGRATIONS).fresh("postgres")
    settings = scoring_settings(
        url, kafka_enabled=True, outbox_poll_seconds=0.1, broker_check_seconds=0.5, **broker.client_settings("scoring")
    )
    app = create_scoring(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
            yield ScoringHarness(app, client, signer)


async def test_an_approval_reaches_a_subscriber_as_a_score_change(
    live_roster: RosterHarness, live_scoring: ScoringHarness, broker: Broker
) -> None:
    unit = await live_roster.unit()
    cadre = (await live_roster.cadre(unit["id"], leadership_status="second_line"))["id"]

    async def mirrored() -> bool:
        async with live_scoring.app.state.context.runtime.sessions() as s:
            return await get_cadre(s, mirror, cadre) is not None

    await eventually(mirrored, what="the cadre in scoring's mirror")

    subscriber = AIOKafkaConsumer(
        "scoring.events", **broker.client_options(), auto_offset_reset="earliest", group_id=None
    )
    await subscriber.start()
    try:
        await live_scoring.publish_default(2025)
        await live_scoring.scored(cadre, "P01")
        await live_scoring.scored(cadre, "P02")
        changes: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 30
        while len(changes) < 2 and asyncio.get_running_loop().time() < deadline:
            for batch in (await subscriber.getmany(timeout_ms=500)).values():
                for m in batch:
                    event = parse(m.value)
                    assert m.key == cadre.encode()
                    if event["type"] == "scoring.score.changed":
                        changes.append(event["data"])
    finally:
        await subscriber.stop()
    assert [(c["previous_total"], c["total"], c["delta"], c["catalogue_version"]) for c in changes] == [
        ("0.00", "0.60", "0.60", 1),
        ("0.60", "1.20", "0.60", 1),
    ]
    # The ranking filters by the unit subtree held in the mirror that roster events built.
    ranking = await live_scoring.client.get(
        f"{API}/rankings", params={"year": 2025, "unit_id": unit["id"]}, headers=live_scoring.auth()
    )
    assert [i["total"] for i in ranking.json()["items"]] == ["1.20"]
