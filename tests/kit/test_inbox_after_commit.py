"""The inbox's after-commit hook: what a handler asks to run once its event is committed runs
then, when what it wrote is visible to every other connection, and not at all otherwise."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.db import NAMING_CONVENTION, create_engine, define_kit_tables, session_factory
from cadrekit.inbox import EventConsumer, after_commit
from cadrekit.settings import BaseServiceSettings
from contracts import topics
from contracts.envelope import envelope
from contracts.samples import sample

CONSUMER = "service.effects"


class Harness:
    """A bare SQLite file with the kit's tables and one effect table, and a consumer whose
    handler writes an effect row and asks to be told after the commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = create_engine(f"sqlite+aiosqlite:///{path}")
        self.metadata = MetaData(naming_convention=NAMING_CONVENTION)
        self.kit = define_kit_tables(self.metadata)
        self.effects = Table("effects", self.metadata, Column("event_id", String(64), primary_key=True))
        self.seen_at_callback: list[list[str]] = []
        self.fail_handler = False
        self.fail_callback = False
        self.consumer = EventConsumer(
            BaseServiceSettings(kafka_enabled=False),
            self.engine,
            session_factory(self.engine),
            self.kit,
            name=CONSUMER,
            topics=[topics.ROSTER],
            handlers={},
        )

    async def handle(self, session: AsyncSession, event: dict[str, Any]) -> None:
        await session.execute(self.effects.insert().values(event_id=str(event["id"])))
        after_commit(session, self.callback)
        if self.fail_handler:
            raise RuntimeError("the handler failed after writing")

    def callback(self) -> None:
        # Another connection, as the woken worker's own transaction would be.
        with sqlite3.connect(self.path) as other:
            self.seen_at_callback.append([r[0] for r in other.execute("SELECT event_id FROM effects")])
        if self.fail_callback:
            raise RuntimeError("the callback failed")

    async def apply(self, event: dict[str, Any]) -> bool:
        return await self.consumer.apply(event, self.handle)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    b = Harness(tmp_path / "kit.db")
    async with b.engine.begin() as conn:
        await conn.run_sync(b.metadata.create_all)
    yield b
    await b.engine.dispose()


def an_event() -> dict[str, Any]:
    return envelope("roster", sample("roster.unit.created").event())


async def test_the_callback_runs_once_the_effect_is_committed_and_visible_to_another_connection(
    harness: Harness,
) -> None:
    event = an_event()
    assert await harness.apply(event)
    assert harness.seen_at_callback == [[event["id"]]]


async def test_no_callback_for_a_failed_handler_or_a_repeated_event(harness: Harness) -> None:
    event = an_event()
    harness.fail_handler = True
    with pytest.raises(RuntimeError):
        await harness.apply(event)
    assert harness.seen_at_callback == []  # rolled back: nothing to act on

    harness.fail_handler = False
    assert await harness.apply(event)
    assert not await harness.apply(event)  # the inbox knows it: the handler does not run
    assert harness.seen_at_callback == [[event["id"]]]


async def test_a_failing_callback_leaves_the_event_applied(harness: Harness) -> None:
    harness.fail_callback = True
    event = an_event()
    assert await harness.apply(event) is True
    assert harness.consumer.state["applied"] == 1
    assert harness.seen_at_callback == [[event["id"]]]
