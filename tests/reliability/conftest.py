"""Fixtures of the fault tests: a broker of each test's own and services on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadrekit.testing.plugin import Broker, Signer
from services.roster.app import MIGRATIONS as ROSTER_MIGRATIONS
from services.roster.app import create_app as create_roster
from tests.conftest import RosterHarness, roster_settings
from tests.integration.conftest import broker

__all__ = ["broker"]


@pytest.fixture
async def pg_roster_db(database_factories: Any) -> str:
    return await database_factories(ROSTER_MIGRATIONS).fresh("postgres")  # type: ignore[no-any-return]


@pytest.fixture
async def pg_roster(pg_roster_db: str, signer: Signer, tmp_path: Path, broker: Broker) -> AsyncIterator[RosterHarness]:
    """Roster on PostgreSQL, publishing to the test's broker."""
    settings = roster_settings(
        pg_roster_db,
        tmp_path / "keys",
        kafka_enabled=True,
        **broker.client_settings("roster"),
        outbox_poll_seconds=0.1,
        broker_check_seconds=0.5,
    )
    app = create_roster(settings, key_source=signer.key_source, configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roster") as client,
    ):
        yield RosterHarness(app, client, signer, settings)
