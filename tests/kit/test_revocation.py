"""The kit's revocation list: the gateway's client changes, kept in a service's table and
asked on every token use (cached or not), newest change winning."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cadrekit.auth import TokenVerifier
from cadrekit.db import NAMING_CONVENTION, create_engine, session_factory
from cadrekit.inbox import EventConsumer
from cadrekit.problems import ServiceUnavailable, Unauthorized
from cadrekit.revocation import (
    Revocations,
    define_revocation_table,
    handlers,
)
from cadrekit.testing.plugin import Signer
from contracts import gateway, topics
from contracts.envelope import Event, envelope
from tests.conftest import RosterHarness

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


def change(type_: str, client_id: str, at: dt.datetime) -> dict[str, Any]:
    data = {
        "client_id": client_id,
        "role": "portal",
        "disabled": type_ == gateway.ClientDisabled.TYPE,
        "changed_at": at.isoformat(),
    }
    return envelope("gateway", Event(type_, f"client/{client_id}", client_id, data))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Kit:
    """A bare database with the revocation table, its handlers and the check."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.metadata = MetaData(naming_convention=NAMING_CONVENTION)
        self.table = define_revocation_table(self.metadata)
        self.sessions = session_factory(engine)
        self.clock = Clock()
        self.revocations = Revocations(engine, self.table, refresh_seconds=1.0, clock=self.clock)
        self.handlers = handlers(self.table, engine.dialect.name, self.revocations.invalidate)

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(self.metadata.create_all)

    async def apply(self, event: dict[str, Any]) -> None:
        async with self.sessions() as session:
            await self.handlers[event["type"]](session, event)
            await session.commit()

    async def state(self, client_id: str) -> bool | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(self.table.select().where(self.table.c.client_id == client_id))).first()
        return None if row is None else bool(row.disabled)


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    k = Kit(engine)
    await k.create()
    yield k
    await engine.dispose()


def verifier(signer: Signer, kit: Kit) -> TokenVerifier:
    return TokenVerifier(
        signer.key_source, issuer="cadre-gateway", audience="cadre-platform", revocations=kit.revocations
    )


async def test_a_cached_token_is_refused_once_its_client_is_disabled_and_accepted_once_enabled(
    signer: Signer, kit: Kit
) -> None:
    v = verifier(signer, kit)
    token = signer.token("officer", client_id="officer-1", sub="officer-1")
    assert (await v.verify(token)).client_id == "officer-1"  # verified and now cached
    await kit.apply(change(gateway.ClientDisabled.TYPE, "officer-1", T0))
    with pytest.raises(Unauthorized, match="disabled"):
        await v.verify(token)  # the cache does not let it through: no clock moved, the commit invalidated
    other = signer.token("officer", client_id="officer-2", sub="officer-2")
    assert (await v.verify(other)).client_id == "officer-2"
    await kit.apply(change(gateway.ClientEnabled.TYPE, "officer-1", T0 + dt.timedelta(seconds=1)))
    assert (await v.verify(token)).client_id == "officer-1"


async def test_a_token_the_disabled_portal_exchanged_is_refused(signer: Signer, kit: Kit) -> None:
    v = verifier(signer, kit)
    person = signer.token("portal", sub="li-hong", act="portal-1", client_id="portal-1")
    # Refused by its act alone too (a token naming another client id but the portal as actor).
    acted = signer.token("portal", sub="wang", act="portal-1", client_id="someone-else")
    own = signer.token("portal", sub="portal-1", client_id="portal-1")
    await kit.apply(change(gateway.ClientDisabled.TYPE, "portal-1", T0))
    for token in (person, acted, own):
        with pytest.raises(Unauthorized, match="disabled"):
            await v.verify(token)
    assert await v.verify(signer.token("portal", sub="x", act="portal-2", client_id="portal-2"))


async def test_a_late_or_repeated_event_never_undoes_a_newer_change(kit: Kit) -> None:
    await kit.apply(change(gateway.ClientDisabled.TYPE, "c1", T0 + dt.timedelta(seconds=10)))
    await kit.apply(change(gateway.ClientEnabled.TYPE, "c1", T0))  # older: it lost the race in the outbox
    assert await kit.state("c1") is True
    await kit.apply(change(gateway.ClientDisabled.TYPE, "c1", T0 + dt.timedelta(seconds=10)))  # the same again
    assert await kit.state("c1") is True
    await kit.apply(change(gateway.ClientEnabled.TYPE, "c1", T0 + dt.timedelta(seconds=11)))
    assert await kit.state("c1") is False
    assert await kit.revocations.disabled() == frozenset()
    # Only disabled/enabled change anything; other client events pass by.
    assert gateway.ClientCreated.TYPE not in kit.handlers


async def test_a_change_made_by_another_replica_is_seen_after_the_refresh_interval(kit: Kit) -> None:
    assert await kit.revocations.disabled() == frozenset()
    # Another replica's consumer applied it (its own invalidate, not ours): the table says so.
    async with kit.engine.begin() as conn:
        await conn.execute(
            kit.table.insert().values(client_id="c2", disabled=True, changed_at=T0, event_id="e", applied_at=T0)
        )
    assert await kit.revocations.disabled() == frozenset()  # trusted for refresh_seconds
    kit.clock.now += 1.0
    assert await kit.revocations.disabled() == frozenset({"c2"})


async def test_until_the_table_was_read_once_a_request_is_503_then_the_last_set_holds(kit: Kit) -> None:
    async with kit.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE client_revocations RENAME TO moved_away"))
    with pytest.raises(ServiceUnavailable):
        await kit.revocations.disabled()  # never let a request through unchecked
    async with kit.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE moved_away RENAME TO client_revocations"))
    await kit.apply(change(gateway.ClientDisabled.TYPE, "c3", T0))
    assert await kit.revocations.disabled() == frozenset({"c3"})
    async with kit.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE client_revocations RENAME TO moved_away"))
    kit.clock.now += 5
    assert await kit.revocations.disabled() == frozenset({"c3"})  # a failed re-read keeps the last set


@pytest.mark.parametrize("bad", [{"role": "portal"}, {"client_id": "", "changed_at": T0.isoformat()}])
async def test_an_event_without_a_client_is_refused_by_the_handler(kit: Kit, bad: dict[str, Any]) -> None:
    event = envelope("gateway", Event(gateway.ClientDisabled.TYPE, "client/x", "x", bad))
    with pytest.raises(ValueError):
        await kit.apply(event)


# in a service -----------------------------------------------------------------------------
def revocation_consumer(harness: RosterHarness) -> EventConsumer:
    return next(c for c in harness.app.state.runtime.consumers if c.name == "roster.revocations")


async def test_roster_refuses_a_disabled_clients_token_with_401_and_accepts_it_when_enabled(
    roster: RosterHarness,
) -> None:
    consumer = revocation_consumer(roster)
    assert consumer.topics == [topics.GATEWAY]
    token = roster.auth("admin", client_id="officer-9", sub="officer-9")
    # The kit's own route: what every service serves alike.
    path = "/api/v1/roster/audit/personal-data-reads"
    assert (await roster.client.get(path, headers=token)).status_code == 200
    now = dt.datetime.now(dt.UTC)
    disabled = change(gateway.ClientDisabled.TYPE, "officer-9", now)
    assert await consumer.apply(disabled, consumer.handlers[gateway.ClientDisabled.TYPE])
    refused = await roster.client.get(path, headers=token)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "this client is disabled"
    assert not await consumer.apply(disabled, consumer.handlers[gateway.ClientDisabled.TYPE])  # a repeat: dropped
    enabled = change(gateway.ClientEnabled.TYPE, "officer-9", now + dt.timedelta(milliseconds=1))
    assert await consumer.apply(enabled, consumer.handlers[gateway.ClientEnabled.TYPE])
    assert (await roster.client.get(path, headers=token)).status_code == 200
