"""The outbox relay: publishes committed events in order and marks them sent.

Rows are read where ``published_at IS NULL`` in id order, never "after the last id sent":
sequence values commit out of order, and that would skip rows. A batch is sent, every
future awaited, then marked; a crash in between re-sends, which consumers absorb.

Id order is what keeps one subject's events in commit order, and it holds only because every
writer of a subject holds the subject's row lock until commit and its unit of work inserts
the outbox rows at commit (cadrekit/uow.py): a second writer's rows get larger ids than the
first's. Rows of different subjects may commit out of id order; read models keep the latest
version per subject (docs/architecture.md, "Ordering").

The embedded broker comes back empty from a restart. The relay notices by its marker topic,
marks every retained row for re-sending, and only then recreates the marker; its producer uses
a connection only once that connection shows the marker (``cadrekit.kafka.MarkerFence``). So a
batch aiokafka was still retrying when the broker went away never lands on the new broker
ahead of the refill: the producer is abandoned unflushed, and its rows, never marked sent, go
again in id order with the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cadrekit.db import KitTables, utcnow
from cadrekit.kafka import BrokerReplaced, MarkerFence, ensure_topics, new_admin, new_producer
from cadrekit.settings import BaseServiceSettings
from contracts.topics import dlq

log = logging.getLogger("cadrekit.outbox")

PURGE_EVERY_SECONDS = 3600.0


# Longer than the producer's request timeout (10 s), so a slow ack is not taken for an outage.
BATCH_ACK_TIMEOUT_SECONDS = 15.0


class OutboxRelay:
    def __init__(self, settings: BaseServiceSettings, engine: AsyncEngine, kit: KitTables) -> None:
        self.settings = settings
        self.engine = engine
        self.kit = kit
        self.topic = settings.topic
        self.state: dict[str, Any] = {
            "broker": "disabled" if not settings.kafka_enabled else "connecting",
            "active": False,
            "published_total": 0,
            "refills": 0,
            "last_error": None,
            "last_published_at": None,
        }
        self._producer: AIOKafkaProducer | None = None
        self._fence: MarkerFence | None = None  # a volatile broker's producer has one
        self._admin: AIOKafkaAdminClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._lock_conn: AsyncConnection | None = None
        self._last_check = 0.0
        self._last_purge = 0.0

    # life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self.settings.kafka_enabled and self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=f"{self.topic}-relay")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
            self._task = None
        await self._close_clients()
        if self._lock_conn is not None:
            with contextlib.suppress(Exception):
                await self._lock_conn.close()
            self._lock_conn = None

    def wake(self) -> None:
        """Called after a commit so new events leave without waiting for the next poll."""
        self._wake.set()

    async def _close_clients(self) -> None:
        producer, fence, admin = self._producer, self._fence, self._admin
        self._producer, self._fence, self._admin = None, None, None
        if producer is not None:
            if fence is not None:
                # Never flushed: what it holds might otherwise land on a new broker ahead of the
                # refill. Those rows were not marked sent; the next producer sends them in id order.
                fence.abandon(producer)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)
        if admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(admin.close(), timeout=5)

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                if not await self._hold_lease():
                    await self._sleep(2.0)
                    continue
                await self._connect()
                await self._check_broker_reset()
                sent = await self.publish_batch()
                await self._purge_now_and_then()
                backoff = 0.2
                if sent == 0:
                    await self._sleep(self.settings.outbox_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.state.update(broker="down", last_error=f"{type(exc).__name__}: {exc}")
                log.warning("outbox relay error; retrying", extra={"error": self.state["last_error"]})
                await self._close_clients()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _hold_lease(self) -> bool:
        """One active relay per service, so per-key order holds with replicas (PostgreSQL only)."""
        if self.engine.dialect.name != "postgresql":
            self.state["active"] = True
            return True
        if self._lock_conn is not None:
            try:
                await self._lock_conn.execute(text("SELECT 1"))
                return True
            except Exception:
                with contextlib.suppress(Exception):
                    await self._lock_conn.close()
                self._lock_conn = None
                self.state["active"] = False
        conn = await self.engine.connect()
        key = zlib.crc32(f"outbox-relay:{self.topic}".encode())
        got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        await conn.commit()
        if got:
            self._lock_conn = conn
            self.state["active"] = True
            return True
        await conn.close()
        self.state["active"] = False
        return False

    async def _connect(self) -> None:
        if self._producer is not None:
            return
        admin = new_admin(self.settings)
        await admin.start()
        self._admin = admin
        await ensure_topics(admin, self.settings, [self.topic, dlq(self.topic)])
        producer = new_producer(self.settings)
        if self.settings.broker_volatile:
            # Whatever happened while disconnected, the broker is checked (and refilled) before
            # this producer exists, and the fence checks every connection it opens later.
            await self._check_broker_reset(force=True)
            self._fence = MarkerFence(self.marker_topic)
            self._fence.install(producer)
        self._producer = producer  # before start(): a failed start is closed like any other
        await producer.start()
        self.state.update(broker="up", last_error=None)

    @property
    def marker_topic(self) -> str:
        return f"_relay.{self.settings.service_name}"

    async def _check_broker_reset(self, *, force: bool = False) -> None:
        """The embedded broker keeps nothing across restarts, and it creates a topic the moment
        any client names it (a consumer's metadata request does), so the event topic itself says
        nothing. A marker topic that only this relay creates does: when it is gone, the broker is
        new, and every retained event is sent again so no subscriber misses one (their inboxes
        drop the ones they had).

        The marker is created last, once the rows are marked: it is what lets a producer use a
        connection (``MarkerFence``), so nothing is sent to the new broker before the refill is
        in place, and a failure in between leaves the marker missing and the check to run again
        (re-marking is harmless: the rows go again in id order)."""
        if not self.settings.broker_volatile or self._admin is None:
            return
        now = asyncio.get_running_loop().time()
        if not force and now - self._last_check < self.settings.broker_check_seconds:
            return
        self._last_check = now
        if self.marker_topic in set(await self._admin.list_topics()):
            return
        await ensure_topics(self._admin, self.settings, [self.topic, dlq(self.topic)])
        n = await self.mark_for_republish(None)
        await ensure_topics(self._admin, self.settings, [self.marker_topic])
        if n:
            self.state["refills"] += 1
            log.warning("broker came back empty; re-publishing retained events", extra={"events": n})

    async def publish_batch(self) -> int:
        assert self._producer is not None
        if self._fence is not None and self._fence.tripped.is_set():
            raise BrokerReplaced("the broker was replaced; checking it before sending")
        ob = self.kit.outbox
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(ob.c.id, ob.c.event_id, ob.c.key, ob.c.type, ob.c.payload)
                    .where(ob.c.published_at.is_(None))
                    .order_by(ob.c.id)
                    .limit(self.settings.outbox_batch_size)
                )
            ).all()
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [("ce_id", row.event_id.encode()), ("ce_type", row.type.encode())]
            futures.append(
                await self._producer.send(self.topic, value=row.payload.encode(), key=row.key.encode(), headers=headers)
            )
        # Apache Kafka's idempotent producer never gives up on a batch while the broker is
        # away (aiokafka retries it forever): bounded here, so an outage shows as "down" and the
        # relay reconnects. What was sent may then go again; subscribers' inboxes drop repeats.
        # A tripped fence (a new, empty broker) ends the wait at once: the relay checks it first.
        await self._acked(asyncio.gather(*futures))
        now = utcnow()
        async with self.engine.begin() as conn:
            await conn.execute(update(ob).where(ob.c.id.in_([r.id for r in rows])).values(published_at=now))
        self.state["published_total"] += len(rows)
        self.state["last_published_at"] = now.isoformat()
        return len(rows)

    async def _acked(self, acks: asyncio.Future[Any]) -> None:
        """Until the batch is acked, the wait times out, or the fence trips (a new, empty broker:
        the relay then checks it, and refills it, before anything else is sent)."""
        fenced = asyncio.ensure_future(self._fence.tripped.wait()) if self._fence is not None else None
        try:
            await asyncio.wait(
                {acks} if fenced is None else {acks, fenced},
                timeout=BATCH_ACK_TIMEOUT_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if fenced is not None:
                fenced.cancel()
        if acks.done():
            acks.result()  # acked, even if the fence tripped since: it went over a checked connection
            return
        acks.cancel()
        acks.add_done_callback(lambda f: f.cancelled() or f.exception())  # nobody awaits it now
        if fenced is not None and fenced.done() and not fenced.cancelled():
            raise BrokerReplaced("a new, empty broker: its refill goes before this batch")
        raise TimeoutError(f"no broker ack within {BATCH_ACK_TIMEOUT_SECONDS:g} s")

    # operations -------------------------------------------------------------------------
    async def mark_for_republish(self, since: dt.datetime | None) -> int:
        """Re-send retained events from a point in time (all retained ones when None)."""
        ob = self.kit.outbox
        stmt = update(ob).where(ob.c.published_at.is_not(None))
        if since is not None:
            stmt = stmt.where(ob.c.created_at >= since)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt.values(published_at=None))
        self.wake()
        return result.rowcount or 0

    async def _purge_now_and_then(self) -> None:
        """Sent rows are kept for the retention period (for re-publishing), then dropped."""
        now = asyncio.get_running_loop().time()
        if now - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = now
            n = await self.purge_sent()
            if n:
                log.info("purged sent outbox rows past retention", extra={"rows": n})

    async def purge_sent(self) -> int:
        ob = self.kit.outbox
        cutoff = utcnow() - dt.timedelta(days=self.settings.outbox_retention_days)
        async with self.engine.begin() as conn:
            result = await conn.execute(ob.delete().where(ob.c.published_at.is_not(None), ob.c.published_at < cutoff))
        return result.rowcount or 0

    async def backlog(self) -> int:
        ob = self.kit.outbox
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).where(ob.c.published_at.is_(None)))).scalar() or 0)

    async def health(self) -> dict[str, Any]:
        state = dict(self.state)
        try:
            state["backlog"] = await self.backlog()
        except Exception as exc:
            state["backlog"] = None
            state["db_error"] = type(exc).__name__
        return state
