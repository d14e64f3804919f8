"""What the fault tests share: a subscriber that records every applied effect, the figures
each test prints, and small helpers around PostgreSQL and the broker.

The subscriber is a downstream service built the way every service is (a ``ServiceRuntime``
and the kit's ``EventConsumer`` with its idempotent inbox) on a PostgreSQL database of its
own. Its effect is deliberately *not* idempotent — one row per application, in the
handler's transaction — so an event applied twice shows as two rows, which an upsert-style
read model (like the services' roster mirrors) would hide.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.runtime import ServiceRuntime
from cadrekit.testing.plugin import pg_url
from contracts.envelope import parse
from services.matching.app import MIGRATIONS as SUBSCRIBER_MIGRATIONS
from services.matching.models import metadata as subscriber_metadata
from services.matching.settings import MatchingSettings

CADRE_EVENTS = ("roster.cadre.registered", "roster.cadre.updated", "roster.cadre.moved", "roster.cadre.left")
EFFECTS_DDL = (
    "CREATE TABLE effects (seq BIGSERIAL PRIMARY KEY, event_id VARCHAR(64) NOT NULL, "
    "cadre_id VARCHAR(36), version INTEGER, type VARCHAR(100) NOT NULL)"
)


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def pg_fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def terminate_backends(url: str) -> int:
    """Drop every connection a service holds to its database, as a failover or an admin would."""
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(asyncpg_dsn(pg_url()))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()
    return sum(1 for r in rows if r[0])


async def subscriber_database(database_factories: Any) -> str:
    """A fresh, migrated PostgreSQL database for a subscriber, with its effects table."""
    url: str = await database_factories(SUBSCRIBER_MIGRATIONS).fresh("postgres")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(EFFECTS_DDL)
    finally:
        await conn.close()
    return url


Check = Callable[[dict[str, Any]], None]


def build_subscriber(
    url: str,
    kafka: str | dict[str, Any],
    *,
    name: str = "matching.reliability-subscriber",
    check: Check | None = None,
    delay: float = 0.0,
) -> ServiceRuntime:
    """A downstream service applying roster cadre events once each, recording each effect.
    ``kafka``: the broker's address, or the settings to reach it as matching (``client_settings``)."""
    reach = {"kafka_bootstrap": kafka} if isinstance(kafka, str) else kafka
    settings = MatchingSettings(database_url=url, mode="test", broker_check_seconds=0.5, **reach)
    runtime = ServiceRuntime(settings, subscriber_metadata, SUBSCRIBER_MIGRATIONS)

    async def apply(session: AsyncSession, event: dict[str, Any]) -> None:
        if check is not None:
            check(event["data"])
        await session.execute(
            text("INSERT INTO effects (event_id, cadre_id, version, type) VALUES (:e, :c, :v, :t)"),
            {
                "e": event["id"],
                "c": event["data"].get("cadre_id"),
                "v": event["data"].get("version"),
                "t": event["type"],
            },
        )
        if delay:
            await asyncio.sleep(delay)  # a slow effect, so a kill lands in the middle of a batch

    consumer = runtime.add_consumer(name, ["roster.events"], dict.fromkeys(CADRE_EVENTS, apply))
    consumer.retry_delay = 0.01
    return runtime


@dataclass
class Effects:
    rows: list[tuple[str, str | None, int | None]]  # (event_id, cadre_id, version) in application order

    @property
    def per_event(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for event_id, _, _ in self.rows:
            counts[event_id] += 1
        return dict(counts)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.per_event.values())

    def versions_by_cadre(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for _, cadre, version in self.rows:
            if cadre is not None and version is not None:
                out[cadre].append(version)
        return dict(out)


async def effects(url: str) -> Effects:
    rows = await pg_fetch(url, "SELECT event_id, cadre_id, version FROM effects ORDER BY seq")
    return Effects([(r[0], r[1], r[2]) for r in rows])


async def inbox_ids(url: str, consumer: str) -> list[str]:
    return [r[0] for r in await pg_fetch(url, "SELECT event_id FROM inbox WHERE consumer = $1", consumer)]


async def produced_events(url: str, types: tuple[str, ...] = CADRE_EVENTS) -> list[dict[str, Any]]:
    """What a service produced: its outbox, in commit order."""
    rows = await pg_fetch(url, "SELECT payload FROM outbox WHERE type = ANY($1::text[]) ORDER BY id", list(types))
    return [json.loads(r[0]) for r in rows]


async def read_all(broker: str | dict[str, Any], topic: str) -> list[tuple[Any, dict[str, Any]]]:
    """Every message on a topic now, with its Kafka record, read to the high-water marks.
    ``broker``: its address, or a client's options (``client_options``)."""
    options = {"bootstrap_servers": broker} if isinstance(broker, str) else broker
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False, metadata_max_age_ms=1000)
    await consumer.start()
    out: list[tuple[Any, dict[str, Any]]] = []
    try:
        from aiokafka import TopicPartition

        parts = await _partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                out += [(m, parse(m.value)) for m in messages]
    finally:
        await consumer.stop()
    return out


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} has no partitions")


@dataclass
class Figures:
    """The five numbers each fault test prints (shown by ``make soak``, captured by ``make test``)."""

    name: str
    produced: int = 0
    delivered: int = 0
    applied: int = 0
    duplicated: int = 0
    lost: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def report(self) -> str:
        extra = "".join(f", {k} {v}" for k, v in self.notes.items())
        line = (
            f"\n[{self.name}] produced {self.produced}, delivered {self.delivered}, applied {self.applied}, "
            f"duplicated {self.duplicated}, lost {self.lost}{extra}"
        )
        print(line)
        return line


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition") -> None:
    from tests.integration.conftest import eventually

    await eventually(check, timeout=timeout, what=what)


ROOT = Path(__file__).resolve().parents[2]
