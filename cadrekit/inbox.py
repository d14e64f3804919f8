"""Idempotent consumers: each effect is applied once, whatever the broker redelivers.

The applied event id is inserted into the inbox in the same transaction as the effect;
the partition offset is committed only after that. A message that keeps failing goes to
``<topic>.dlq`` with the error, and consumption goes on. A handler whose effect some other
part of the process should act on at once registers that with :func:`after_commit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from cadrekit.db import KitTables, utcnow
from cadrekit.kafka import METADATA_MAX_AGE_MS, ensure_topics, new_admin, new_consumer, new_producer
from cadrekit.settings import BaseServiceSettings
from contracts.base import superseded
from contracts.envelope import BadEnvelope, parse
from contracts.topics import dlq

log = logging.getLogger("cadrekit.inbox")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


def insert_ignoring_duplicates(table: Table, dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run ``callback`` once ``session`` has committed; never if it rolls back.

    For a handler whose effect another part of the process should act on now (a worker to
    wake, a cache to read again): :meth:`EventConsumer.apply` commits the inbox row and the
    effect after the handler returns, and only then can another transaction see the rows.
    The callback runs inside the commit call, on the event loop: it must be quick (set a
    flag or an ``asyncio.Event``). The commit stands whatever the callback does, so its
    failure is logged, never raised: the event must not look failed and be retried."""

    def run(_session: Session) -> None:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback failed; the commit stands")

    event.listen(session.sync_session, "after_commit", run, once=True)


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.revoked: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Work in flight for these partitions must not commit stale offsets.
        self.revoked |= set(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.revoked -= set(assigned)


async def _abandon(client: Any) -> None:
    """Cut what a client whose ``stop()`` was cut short leaves running (aiokafka 0.14's
    private parts, as ``cadrekit.kafka.MarkerFence`` uses): the group heartbeat above all,
    which would keep the old member, and the partitions assigned to it, alive in the group
    with no one fetching them (seen once: a subscriber held half its partitions for 90 s
    after the broker came back), then its connections."""
    coordinator = getattr(client, "_coordinator", None)
    for name in ("_heartbeat_task", "_coordination_task", "_commit_refresh_task"):
        task = getattr(coordinator, name, None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
    inner = getattr(client, "_client", None)
    if inner is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(inner.close(), timeout=2)


class EventConsumer:
    def __init__(
        self,
        settings: BaseServiceSettings,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        kit: KitTables,
        *,
        name: str,
        topics: list[str],
        handlers: dict[str, Handler],
        retry_delay: float = 0.2,
        stall_seconds: float = 60.0,
        companions: bool = False,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.kit = kit
        self.name = name
        self.topics = topics
        self.handlers = handlers
        self.retry_delay = retry_delay
        self.stall_seconds = stall_seconds
        # Whether the handlers see the companions too: an older data version published beside
        # the newer event this consumer reads (contracts.base.superseded). Only the gateway's
        # webhooks do, for subscriptions pinned to the older version; every read model skips them.
        self.companions = companions
        # Called with the envelope of every event sent to the DLQ (in a session of its own,
        # committed after): what was never applied, for a read model to report as a gap.
        self.on_dead_letter: list[Handler] = []
        self.state: dict[str, Any] = {
            "status": "stopped",
            "applied": 0,
            "duplicates": 0,
            "ignored": 0,
            "superseded": 0,
            "dead_lettered": 0,
            "last_fetch_age_s": None,
            "last_error": None,
            "restarts": 0,
            "lag": None,
        }
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_fetch = 0.0
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        if not self.settings.kafka_enabled or self._task is not None:
            return
        self._stopping.clear()
        self._last_fetch = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")
        self._watchdog = asyncio.create_task(self._watch(), name=f"watchdog-{self.name}")

    async def stop(self) -> None:
        self._stopping.set()
        for task in (self._watchdog, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
        self._task = self._watchdog = None
        await self._close()
        self.state["status"] = "stopped"

    async def _close(self) -> None:
        consumer, producer = self._consumer, self._producer
        self._consumer = self._producer = None
        for client in (consumer, producer):
            if client is None:
                continue
            try:
                await asyncio.wait_for(client.stop(), timeout=5)
            except (Exception, asyncio.CancelledError) as exc:
                # A timeout (the broker is away), or aiokafka's own CancelledError: with the
                # broker down, its fetcher is in a retry sleep that stop() cancels and then
                # awaits, so stop() raises CancelledError before it has reached the group
                # coordinator, and would leave the group heartbeat running.
                log.warning(
                    "client stop did not finish; abandoning it", extra={"consumer": self.name, "error": repr(exc)}
                )
                await _abandon(client)
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                    raise  # this task itself is being cancelled: let it be

    async def _watch(self) -> None:
        """Restart a consumer whose last fetch is too old (a silently wedged client)."""
        while not self._stopping.is_set():
            await asyncio.sleep(min(5.0, self.stall_seconds / 2))
            age = asyncio.get_running_loop().time() - self._last_fetch
            self.state["last_fetch_age_s"] = round(age, 3)
            if age > self.stall_seconds and self._task is not None:
                log.warning("consumer stalled; restarting", extra={"consumer": self.name})
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
                await self._close()
                self.state["restarts"] += 1
                self._last_fetch = asyncio.get_running_loop().time()
                self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def _connect(self) -> None:
        admin = new_admin(self.settings)
        await admin.start()
        try:
            await ensure_topics(admin, self.settings, [*self.topics, *[dlq(t) for t in self.topics]])
        finally:
            await admin.close()
        self._listener = _Revocations()
        consumer = new_consumer(
            self.settings,
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            # Tansu answers a waiting fetch only when the wait ends, not when data arrives:
            # at aiokafka's 500 ms default an event waited ~140 ms (p50) to be seen; at 50 ms
            # the broker is asked ten times as often and events are seen in ~10–25 ms.
            fetch_max_wait_ms=self.settings.consumer_fetch_wait_ms,
        )
        consumer.subscribe(self.topics, listener=self._listener)
        await consumer.start()
        producer = new_producer(self.settings)
        await producer.start()
        self._consumer, self._producer = consumer, producer
        self.state.update(status="running", last_error=None)

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                if self._consumer is None:
                    await self._connect()
                assert self._consumer is not None
                batch = await self._consumer.getmany(timeout_ms=500, max_records=200)
                self._last_fetch = asyncio.get_running_loop().time()
                for tp, messages in batch.items():
                    for message in messages:
                        if tp in self._listener.revoked:
                            break
                        await self._process(message)
                        await self._consumer.commit({tp: message.offset + 1})
                        self._positions[tp] = message.offset + 1
                self._record_lag()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.state.update(status="reconnecting", last_error=f"{type(exc).__name__}: {exc}")
                log.warning("consumer error; reconnecting", extra={"consumer": self.name, "error": str(exc)})
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _record_lag(self) -> None:
        """Messages on the broker not yet applied, summed over assigned partitions."""
        consumer = self._consumer
        if consumer is None:
            return
        lag = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None and tp in self._positions:
                lag += max(0, high - self._positions[tp])
        self.state["assigned"] = sorted(f"{tp.topic}:{tp.partition}" for tp in consumer.assignment())
        self.state["lag"] = lag

    async def _process(self, message: Any) -> None:
        error: str | None = None
        try:
            envelope = parse(message.value)
        except BadEnvelope as exc:
            await self._dead_letter(message, f"bad envelope: {exc}", attempts=1)
            return
        handler = self.handlers.get(envelope["type"])
        if handler is None:
            self.state["ignored"] += 1
            return
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            try:
                await self.apply(envelope, handler)
                return
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event handler failed",
                    extra={"consumer": self.name, "event_id": envelope["id"], "attempt": attempt, "error": error},
                )
                await asyncio.sleep(self.retry_delay * attempt)
        await self._dead_letter(message, error or "unknown error", attempts=self.settings.consumer_max_attempts)
        await self._note_dead_letter(envelope)

    async def _note_dead_letter(self, envelope: dict[str, Any]) -> None:
        for hook in self.on_dead_letter:
            try:
                async with self.sessions() as session:
                    await hook(session, envelope)
                    await session.commit()
            except Exception as exc:  # the DLQ holds the event; a failed note must not stop consumption
                log.warning("dead-letter note failed", extra={"consumer": self.name, "error": str(exc)})

    async def apply(self, envelope: dict[str, Any], handler: Handler) -> bool:
        """Apply one event at most once; returns False when it had been applied already, or
        is a companion this consumer skips (it reads the newer version it accompanies)."""
        if not self.companions and superseded(envelope):
            self.state["superseded"] += 1
            return False
        stmt = insert_ignoring_duplicates(self.kit.inbox, self.engine.dialect.name).values(
            consumer=self.name, event_id=str(envelope["id"]), event_type=envelope["type"], applied_at=utcnow()
        )
        async with self.sessions() as session:
            result = cast(CursorResult[Any], await session.execute(stmt))
            if result.rowcount == 0:
                await session.rollback()
                self.state["duplicates"] += 1
                return False
            await handler(session, envelope)
            await session.commit()
        self.state["applied"] += 1
        return True

    async def _dead_letter(self, message: Any, error: str, *, attempts: int) -> None:
        assert self._producer is not None
        headers = [
            *list(message.headers or []),
            ("dlq_error", error[:2000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", message.topic.encode()),
            ("dlq_partition", str(message.partition).encode()),
            ("dlq_offset", str(message.offset).encode()),
            ("dlq_attempts", str(attempts).encode()),
        ]
        await self._producer.send_and_wait(dlq(message.topic), value=message.value, key=message.key, headers=headers)
        self.state["dead_lettered"] += 1
        log.error("event dead-lettered", extra={"consumer": self.name, "topic": message.topic, "error": error})
