from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from cadrekit.db import utcnow
from cadrekit.runtime import ServiceRuntime
from services.scoring.app import MIGRATIONS
from services.scoring.models import metadata
from services.scoring.settings import ScoringSettings


async def test_sent_events_are_kept_for_the_retention_period_then_purged_and_can_be_republished(
    backend: str, database_factories: object, tmp_path: Path
) -> None:
    url = await database_factories(MIGRATIONS).fresh(backend)  # type: ignore[operator]
    runtime = ServiceRuntime(
        ScoringSettings(database_url=url, kafka_enabled=False, outbox_retention_days=30), metadata, MIGRATIONS
    )
    ob = runtime.kit.outbox
    now = utcnow()
    rows = [
        {
            "event_id": f"e{i}",
            "topic": "scoring.events",
            "key": "k",
            "type": "t",
            "payload": "{}",
            "created_at": now - dt.timedelta(days=age),
            "published_at": now - dt.timedelta(days=age),
        }
        for i, age in enumerate((40, 31, 10, 1))
    ]
    rows.append(
        {
            "event_id": "pending",
            "topic": "scoring.events",
            "key": "k",
            "type": "t",
            "payload": "{}",
            "created_at": now - dt.timedelta(days=90),
            "published_at": None,
        }
    )
    async with runtime.engine.begin() as conn:
        await conn.execute(ob.insert(), rows)
    try:
        assert await runtime.relay.purge_sent() == 2  # sent more than 30 days ago
        assert await runtime.relay.backlog() == 1  # an unsent event is never purged
        assert await runtime.relay.mark_for_republish(now - dt.timedelta(days=5)) == 1
        assert await runtime.relay.backlog() == 2
        async with runtime.engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(ob))).scalar() == 3
    finally:
        await runtime.engine.dispose()
