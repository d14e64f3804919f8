"""Events between services through a real broker (Apache Kafka in make test): relay, inbox, DLQ, outages."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer

from cadrekit.testing.plugin import Broker
from contracts.envelope import parse
from tests.conftest import RosterHarness
from tests.integration.conftest import Subscriber, eventually
from tests.reliability.support import read_all


async def _registered_ids(h: RosterHarness) -> list[str]:
    return [e["id"] for e in await h.outbox() if e["type"] in ("roster.cadre.registered", "roster.cadre.updated")]


async def test_relay_publishes_in_order_and_the_consumer_applies_each_event_once(
    live_roster: RosterHarness, subscriber: Subscriber
) -> None:
    unit = await live_roster.unit()
    cadre = await live_roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    for i in range(3):
        resp = await live_roster.client.patch(
            url, headers={**live_roster.auth(), "If-Match": f'"v{i + 1}"'}, json={"post_title": f"岗位{i}"}
        )
        assert resp.status_code == 200
    expected = await _registered_ids(live_roster)

    async def all_applied() -> bool:
        return set((await subscriber.effects()).keys()) >= set(expected)

    await eventually(all_applied, what="every event applied")
    assert all(n == 1 for n in (await subscriber.effects()).values())
    assert (await live_roster.app.state.runtime.relay.backlog()) == 0


async def test_events_kept_per_cadre_in_order_on_the_topic(live_roster: RosterHarness, broker: Broker) -> None:
    unit = await live_roster.unit()
    cadre = await live_roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    for i in range(5):
        await live_roster.client.patch(
            url, headers={**live_roster.auth(), "If-Match": f'"v{i + 1}"'}, json={"rank": f"级别{i}"}
        )
    await eventually(lambda: _backlog_zero(live_roster), what="outbox drained")
    consumer = AIOKafkaConsumer(
        "roster.events",
        **broker.client_options(),
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        versions: list[int] = []
        batches = 0
        while len(versions) < 6 and batches < 50:
            batches += 1
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    event = parse(m.value)
                    if event["subject"] == f"cadre/{cadre['id']}":
                        assert m.key == cadre["id"].encode()
                        assert dict(m.headers)["ce_type"] == event["type"].encode()
                        versions.append(event["data"]["version"])
        assert versions == [1, 2, 3, 4, 5, 6]
    finally:
        await consumer.stop()


async def _backlog_zero(h: RosterHarness) -> bool:
    return (await h.app.state.runtime.relay.backlog()) == 0


async def test_events_written_while_the_broker_is_down_arrive_after_it_returns(
    live_roster: RosterHarness, subscriber: Subscriber, broker: Broker
) -> None:
    unit = await live_roster.unit()
    await live_roster.cadre(unit["id"])
    await eventually(lambda: _backlog_zero(live_roster), what="first event out")
    broker.stop()
    written = [await live_roster.cadre(unit["id"]) for _ in range(5)]  # writes go on during the outage
    assert len(written) == 5
    relay = live_roster.app.state.runtime.relay
    assert await relay.backlog() >= 5

    async def relay_noticed() -> bool:
        return relay.state["broker"] == "down"

    await eventually(relay_noticed, what="relay notices the outage", timeout=30)
    health = (await live_roster.client.get("/health")).json()
    assert health["relay"]["broker"] == "down" and health["relay"]["backlog"] >= 5
    assert (await live_roster.client.get("/ready")).status_code == 200  # an outage never makes us unready
    broker.start()  # Tansu comes back empty (the relay refills it), Apache Kafka with its log
    expected = await _registered_ids(live_roster)

    async def all_applied() -> bool:
        return set((await subscriber.effects()).keys()) >= set(expected)

    try:
        await eventually(all_applied, timeout=90, what="every event applied after the outage")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: relay {relay.state}, subscriber {subscriber.consumer.state}") from None
    effects = await subscriber.effects()
    assert all(n == 1 for n in effects.values()), effects


@pytest.mark.tansu  # only the embedded broker forgets everything on a restart
async def test_a_restarted_empty_broker_is_refilled_and_nothing_is_applied_twice(
    live_roster: RosterHarness, subscriber: Subscriber, broker: Broker
) -> None:
    unit = await live_roster.unit()
    for _ in range(4):
        await live_roster.cadre(unit["id"])
    first = await _registered_ids(live_roster)

    async def first_applied() -> bool:
        return set((await subscriber.effects()).keys()) >= set(first)

    await eventually(first_applied, what="events applied before the restart")
    relay = live_roster.app.state.runtime.relay
    refills_before = relay.state["refills"]
    broker.stop()
    broker.start()

    async def refilled() -> bool:
        return relay.state["refills"] > refills_before and await relay.backlog() == 0

    await eventually(refilled, timeout=60, what="relay refills the new broker")
    for _ in range(2):
        await live_roster.cadre(unit["id"])
    everything = await _registered_ids(live_roster)

    async def all_applied() -> bool:
        return set((await subscriber.effects()).keys()) >= set(everything)

    await eventually(all_applied, timeout=60, what="every event applied after the restart")

    async def redeliveries_dropped() -> bool:
        return subscriber.consumer.state["duplicates"] >= len(first)

    # The refill re-sends the first events; the inbox drops them.
    await eventually(redeliveries_dropped, timeout=30, what="re-delivered events dropped")
    effects = await subscriber.effects()
    assert all(n == 1 for n in effects.values()), effects


@pytest.mark.tansu  # only the embedded broker comes back empty
@pytest.mark.roster_settings(broker_check_seconds=60)  # only the relay's own connections can notice the restart
async def test_a_batch_in_flight_when_the_broker_restarts_empty_lands_after_the_refill(
    live_roster: RosterHarness, broker: Broker
) -> None:
    """The producer retries a batch it could not deliver; when the broker comes back empty that
    retry must not reach the new broker before the events written before it (the refill)."""
    unit = await live_roster.unit()
    cadre = await live_roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    relay = live_roster.app.state.runtime.relay

    async def patch(version: int) -> None:
        resp = await live_roster.client.patch(
            url, headers={**live_roster.auth(), "If-Match": f'"v{version}"'}, json={"post_title": f"岗位{version}"}
        )
        assert resp.status_code == 200, resp.text

    await patch(1)
    await eventually(lambda: _backlog_zero(live_roster), what="versions 1 and 2 sent")
    refills_before = relay.state["refills"]
    broker.stop()
    await patch(2)
    await patch(3)
    await asyncio.sleep(1.5)  # the relay has versions 3 and 4 in flight: its producer retries them
    broker.start()  # within the batch's lifetime (the producer's 10 s request timeout)

    async def refilled() -> bool:
        return relay.state["refills"] > refills_before and await relay.backlog() == 0

    await eventually(refilled, timeout=60, what="the new broker refilled")
    await patch(4)
    await eventually(lambda: _backlog_zero(live_roster), what="version 5 sent")
    versions = [
        e["data"]["version"]
        for _, e in await read_all(broker.client_options(), "roster.events")
        if e["subject"] == f"cadre/{cadre['id']}"
    ]
    assert versions == [1, 2, 3, 4, 5], (versions, relay.state)


async def test_a_poison_event_goes_to_the_dlq_and_consumption_goes_on(
    live_roster: RosterHarness, subscriber: Subscriber, broker: Broker
) -> None:
    subscriber.fail_on.add("毒丸")
    unit = await live_roster.unit()
    poison = await live_roster.cadre(unit["id"], name="毒丸")
    after = await live_roster.cadre(unit["id"])

    async def later_applied() -> bool:
        return after["id"] in {c for c in await _effect_cadres(subscriber)}

    async def poison_dead_lettered() -> bool:
        return bool(subscriber.consumer.state["dead_lettered"] >= 1)

    # The two events may sit on different partitions: either may be handled first.
    await eventually(later_applied, what="the event after the poison is applied")
    await eventually(poison_dead_lettered, what="the poison event is dead-lettered")
    assert poison["id"] not in await _effect_cadres(subscriber)
    assert subscriber.consumer.state["dead_lettered"] == 1
    dlq = AIOKafkaConsumer(
        "roster.events.dlq",
        **broker.client_options(),
        auto_offset_reset="earliest",
        group_id=None,
        enable_auto_commit=False,
    )
    await dlq.start()
    try:
        found = None
        for _ in range(40):
            for messages in (await dlq.getmany(timeout_ms=500)).values():
                for m in messages:
                    if parse(m.value)["subject"] == f"cadre/{poison['id']}":
                        found = m
            if found:
                break
        assert found is not None
        headers = dict(found.headers)
        assert b"impossible data" in headers["dlq_error"]
        assert headers["dlq_attempts"] == b"5"
    finally:
        await dlq.stop()


async def _effect_cadres(sub: Subscriber) -> set[str]:
    from sqlalchemy import text

    async with sub.runtime.engine.connect() as conn:
        return {r[0] for r in (await conn.execute(text("SELECT cadre_id FROM effects"))).all()}
