"""What a running service holds: engine, sessions, kit tables, relay and consumers.

Built by the app factory (never at import time) and torn down by its lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cadrekit.db import KitTables, create_engine, define_kit_tables, session_factory
from cadrekit.inbox import EventConsumer, Handler
from cadrekit.migrate import current_revision, head_revision
from cadrekit.outbox import OutboxRelay
from cadrekit.settings import BaseServiceSettings
from cadrekit.uow import UnitOfWork, write_events
from contracts.envelope import Event


@dataclass
class ServiceRuntime:
    settings: BaseServiceSettings
    metadata: MetaData
    migrations_dir: Path
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    kit: KitTables = field(init=False)
    relay: OutboxRelay = field(init=False)
    consumers: list[EventConsumer] = field(default_factory=list)
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    # Parts of /health beyond relay and consumers, by name (the roster mirror's gaps).
    reports: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.settings.database_url)
        self.sessions = session_factory(self.engine)
        self.kit = kit_tables_of(self.metadata)
        self.relay = OutboxRelay(self.settings, self.engine, self.kit)
        self._head = head_revision(self.migrations_dir)

    def uow(self) -> UnitOfWork:
        return _NotifyingUnitOfWork(self)

    def add_consumer(
        self, name: str, topics: list[str], handlers: dict[str, Handler], *, companions: bool = False
    ) -> EventConsumer:
        # The name is the consumer group's. Apache Kafka's ACLs let a service join only groups
        # under its own name (deploy/kafka_access.py), so no one else can commit its offsets.
        prefix = f"{self.settings.service_name}."
        if not name.startswith(prefix) or len(name) == len(prefix):
            raise ValueError(f"consumer {name!r} must be named {prefix}<what it does>")
        consumer = EventConsumer(
            self.settings,
            self.engine,
            self.sessions,
            self.kit,
            name=name,
            topics=topics,
            handlers=handlers,
            companions=companions,
        )
        self.consumers.append(consumer)
        return consumer

    def behind_on(self, topic: str) -> bool:
        """Whether events of ``topic`` may be on the broker that this service has not applied:
        its consumer is not connected, has not fetched yet, or reported a lag at its last
        fetch. Without Kafka (tests that feed the mirror by hand) nothing is on its way."""
        if not self.settings.kafka_enabled:
            return False
        readers = [c for c in self.consumers if topic in c.topics]
        return any(c.state["status"] != "running" or c.state["lag"] is None or c.state["lag"] > 0 for c in readers)

    def emit_from_handler(self, session: AsyncSession, events: list[Event]) -> Awaitable[None]:
        """Events caused by a consumed event, written in the handler's own transaction."""
        return write_events(session, self.kit, events, source=self.settings.service_name, topic=self.settings.topic)

    async def start(self) -> None:
        await self.relay.start()
        for consumer in self.consumers:
            await consumer.start()

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        for consumer in self.consumers:
            await consumer.stop()
        await self.relay.stop()
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready means: database reachable and migrated to head. The broker is not asked:
        its outage must never take a service out of rotation, writes go to the outbox."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            current = await current_revision(self.engine)
        except Exception as exc:
            return False, {"database": "unreachable", "error": type(exc).__name__}
        ok = current == self._head
        return ok, {"database": "ok", "migration": current, "head": self._head, "migrations_current": ok}


_KIT_CACHE: dict[int, KitTables] = {}


def kit_tables_of(metadata: MetaData) -> KitTables:
    """The kit tables live in each service's own metadata, defined once per metadata."""
    key = id(metadata)
    if key not in _KIT_CACHE:
        if "outbox" in metadata.tables:
            t = metadata.tables
            _KIT_CACHE[key] = KitTables(t["outbox"], t["inbox"], t["idempotency_keys"], t["personal_data_reads"])
        else:
            _KIT_CACHE[key] = define_kit_tables(metadata)
    return _KIT_CACHE[key]


class _NotifyingUnitOfWork(UnitOfWork):
    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(
            runtime.sessions, runtime.kit, source=runtime.settings.service_name, topic=runtime.settings.topic
        )
        self._relay = runtime.relay

    async def commit(self) -> None:
        had_events = bool(self.pending)
        await super().commit()
        if had_events:
            self._relay.wake()
