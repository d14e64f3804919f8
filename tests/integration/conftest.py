from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.runtime import ServiceRuntime
from cadrekit.testing.plugin import Broker, Signer, new_broker
from services.matching.app import MIGRATIONS as MATCHING_MIGRATIONS
from services.matching.models import metadata as matching_metadata
from services.matching.settings import MatchingSettings
from services.roster.app import create_app as create_roster
from tests.conftest import RosterHarness, roster_settings


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 45.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


@pytest.fixture
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own (some tests stop and restart it): Apache Kafka in
    ``make test``, Tansu in ``make test-fast`` (``--broker``)."""
    b = new_broker(request, tmp_path)
    b.start()
    yield b
    b.close()


@pytest.fixture
async def live_roster(
    request: pytest.FixtureRequest, roster_db: str, signer: Signer, tmp_path: Path, broker: Broker
) -> AsyncIterator[RosterHarness]:
    """Roster with its relay on the test's broker; ``@pytest.mark.roster_settings(name=value)``
    on a test overrides its settings."""
    marker = request.node.get_closest_marker("roster_settings")
    settings = roster_settings(
        roster_db,
        tmp_path / "keys",
        **{
            "kafka_enabled": True,
            **broker.client_settings("roster"),
            "outbox_poll_seconds": 0.1,
            "broker_check_seconds": 0.5,
            **(marker.kwargs if marker else {}),
        },
    )
    app = create_roster(settings, key_source=signer.key_source, configure_logs=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://roster") as client,
    ):
        yield RosterHarness(app, client, signer, settings)


@dataclass
class Subscriber:
    """A downstream service that applies roster events through the kit's idempotent inbox,
    recording one row per applied effect in its own database."""

    runtime: ServiceRuntime
    fail_on: set[str]

    async def effects(self) -> dict[str, int]:
        async with self.runtime.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT event_id, COUNT(*) FROM effects GROUP BY event_id"))).all()
        return {r[0]: r[1] for r in rows}

    @property
    def consumer(self) -> Any:
        return self.runtime.consumers[0]


@pytest.fixture
async def subscriber(database_factories: Any, broker: Broker) -> AsyncIterator[Subscriber]:
    url = await database_factories(MATCHING_MIGRATIONS).fresh("sqlite")
    settings = MatchingSettings(
        database_url=url, mode="test", broker_check_seconds=0.5, **broker.client_settings("matching")
    )
    runtime = ServiceRuntime(settings, matching_metadata, MATCHING_MIGRATIONS)
    async with runtime.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE effects (event_id VARCHAR(64) NOT NULL, cadre_id VARCHAR(36))"))
    sub = Subscriber(runtime, set())

    async def apply(session: AsyncSession, event: dict[str, Any]) -> None:
        if event["data"].get("name") in sub.fail_on:
            raise ValueError("impossible data in this event")
        await session.execute(
            text("INSERT INTO effects (event_id, cadre_id) VALUES (:e, :c)"),
            {"e": event["id"], "c": event["data"].get("cadre_id")},
        )

    runtime.add_consumer(
        "matching.test-subscriber", ["roster.events"], {"roster.cadre.registered": apply, "roster.cadre.updated": apply}
    )
    runtime.consumers[0].retry_delay = 0.01
    await runtime.start()
    yield sub
    await runtime.stop()
