"""Unit of work: one transaction that carries the change and the events it causes.

Events leave only through here: they are written to the outbox in the same transaction
as the change, and the relay publishes them after the commit.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cadrekit import context
from cadrekit.dates import business_date
from cadrekit.db import KitTables, utcnow
from contracts.base import BESIDE, companions
from contracts.envelope import Envelopes, Event, dumps


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], kit: KitTables, *, source: str, topic: str) -> None:
        self._sessions = sessions
        self._kit = kit
        self.source = source
        self.topic = topic
        self.pending: list[Event] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self.pending = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back; close() does that without
        # expiring the objects already loaded, so results stay readable after the block.
        await self.session.close()
        self._session = None

    def record(self, event: Event) -> None:
        self.pending.append(event)

    def record_all(self, events: list[Event]) -> None:
        self.pending.extend(events)

    def outbox_rows(self) -> list[dict[str, Any]]:
        return outbox_rows(self.pending, source=self.source, topic=self.topic)

    def event_rows(self) -> EventRows:
        """For a bulk writer that COPYs its events (the roster import): the same rows the
        unit of work writes, as tuples."""
        return EventRows(source=self.source, topic=self.topic)

    async def flush_events(self) -> None:
        if self.pending:
            await self.session.execute(self._kit.outbox.insert(), self.outbox_rows())
            self.pending = []

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()

    async def rollback(self) -> None:
        self.pending = []
        await self.session.rollback()


# The outbox's columns, in the order of ``EventRows.make``.
OUTBOX_COLUMNS = ("event_id", "topic", "key", "type", "payload", "created_at", "published_at")


class EventRows:
    """Outbox rows for the events of one transaction, each in the contracts' envelope
    (``contracts.envelope.Envelopes``) with one time and one correlation id for them all."""

    def __init__(self, *, source: str, topic: str) -> None:
        self.topic = topic
        self.now = utcnow()
        self.envelopes = Envelopes(source, correlation_id=context.correlation_id.get() or context.request_id.get())

    def rows(self, event: Event, event_id: str | None = None) -> list[tuple[Any, ...]]:
        """The event's row, then one for each older data version still published beside it
        (its deprecation period, ``contracts.base.companions``), right after it on its key."""
        first = self.make(event, event_id)
        return [first, *(self.make(c, superseded_by=first[0]) for c in companions(event, business_date(self.now)))]

    def row(self, event: Event, event_id: str | None = None) -> tuple[Any, ...]:
        """One event's one row, for a bulk writer that COPYs them (the roster import)."""
        if event.type in BESIDE:
            # the shortcut must not drop an older version's companion
            raise ValueError(f"{event.type} is published in an older version beside this one: use rows()")
        return self.make(event, event_id)

    def make(self, event: Event, event_id: str | None = None, *, superseded_by: str | None = None) -> tuple[Any, ...]:
        """The one place an outbox row is made (``cadrekit.testing.published`` checks each)."""
        env = self.envelopes.of(event, event_id, superseded_by=superseded_by)
        return (env["id"], self.topic, event.key, event.type, dumps(env).decode(), self.now, None)


def outbox_rows(events: list[Event], *, source: str, topic: str) -> list[dict[str, Any]]:
    rows = EventRows(source=source, topic=topic)
    return [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for ev in events for row in rows.rows(ev)]


async def write_events(session: AsyncSession, kit: KitTables, events: list[Event], *, source: str, topic: str) -> None:
    """For an event handler that causes events of its own: they go to the outbox in the
    handler's transaction, with the inbox row and the change."""
    if events:
        await session.execute(kit.outbox.insert(), outbox_rows(events, source=source, topic=topic))
