"""Webhooks through the real broker: the gateway's dispatcher consumes the services' topics,
delivers to a subscriber's HTTP server, never twice across a dispatcher restart, and judges
a scoped subscriber's events from the roster mirror that a live roster's events build."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from cadrekit.roster_mirror import get_cadre, get_unit
from cadrekit.testing.plugin import Broker
from contracts.envelope import dumps
from gateway.app import MIGRATIONS
from gateway.models import mirror
from gateway.webhooks import signing
from gateway.webhooks.dispatcher import CONSUMER
from tests.conftest import RosterHarness
from tests.gateway.test_webhooks import API, Receiver, cloud_event, independent_check, make_client, running_gateway
from tests.integration.conftest import eventually


async def publish(broker: Broker, topic: str, event: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(**broker.client_options())
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            value=dumps(event),
            key=str(event["data"].get("cadre_id", "k")).encode(),
            headers=[("ce_id", event["id"].encode()), ("ce_type", event["type"].encode())],
        )
    finally:
        await producer.stop()


def live(broker: Broker) -> dict[str, Any]:
    return {"kafka_enabled": True, "broker_check_seconds": 0.5, **broker.client_settings("gateway")}


async def test_no_duplicate_delivery_after_a_dispatcher_restart(
    backend: str, database_factories: Any, broker: Broker, tmp_path: Path
) -> None:
    url = await database_factories(MIGRATIONS).fresh(backend)
    receiver = Receiver()
    await receiver.start()
    try:
        first = cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-1", "total": "0.60"})
        async with running_gateway(url, tmp_path, **live(broker)) as gw:
            made = await gw.client.post(
                f"{API}/subscriptions",
                headers=await gw.auth(),
                json={"url": receiver.url, "event_types": ["scoring.*"]},
            )
            secret = made.json()["secret"]
            await publish(broker, "scoring.events", first)

            async def got_first() -> bool:
                return len(receiver.requests) == 1

            await eventually(got_first, what="the first event delivered")

        # While the gateway is down the same event arrives again (a relay re-publishing after
        # a broker restart does exactly this), and a new one after it.
        second = cloud_event("scoring", "scoring.score.changed", {"cadre_id": "c-1", "total": "1.20"})
        await publish(broker, "scoring.events", first)
        await publish(broker, "scoring.events", second)

        async with running_gateway(url, tmp_path, **live(broker)) as gw:

            async def got_second() -> bool:
                return any(h["webhook-id"] == second["id"] for h, _ in receiver.requests)

            await eventually(got_second, what="the event after the restart delivered")
            dispatcher = next(c for c in gw.app.state.runtime.consumers if c.name == CONSUMER)

            async def duplicate_dropped() -> bool:
                return bool(dispatcher.state["duplicates"] >= 1)

            await eventually(duplicate_dropped, what="the repeated event dropped by the inbox")
        assert [h["webhook-id"] for h, _ in receiver.requests] == [first["id"], second["id"]]
        for headers, body in receiver.requests:
            signing.verify(secret, headers, body, now=int(time.time()))
            assert independent_check(secret, headers, body)
        assert [e["data"]["total"] for e in receiver.events()] == ["0.60", "1.20"]
    finally:
        await receiver.stop()


async def test_a_scoped_subscriber_gets_the_live_rosters_events_of_its_unit_only(
    live_roster: RosterHarness, database_factories: Any, backend: str, broker: Broker, tmp_path: Path
) -> None:
    url = await database_factories(MIGRATIONS).fresh(backend)
    receiver = Receiver()
    await receiver.start()
    try:
        async with running_gateway(url, tmp_path, **live(broker)) as gw:
            city = await live_roster.unit("平湖市")
            town = await live_roster.unit("当湖街道", kind="town", parent_id=city["id"])
            other = await live_roster.unit("嘉兴市", kind="city")

            async def mirrored(unit_or_cadre: str, table: str) -> bool:
                async with gw.app.state.runtime.sessions() as s:
                    if table == "units":
                        return await get_unit(s, mirror, unit_or_cadre) is not None
                    return await get_cadre(s, mirror, unit_or_cadre) is not None

            async def town_mirrored() -> bool:
                return await mirrored(town["id"], "units")

            # Units come first in real life; here too, before the cadres are judged against them.
            await eventually(town_mirrored, timeout=60, what="the town in the gateway's roster mirror")
            hr = await make_client(gw, "unit_hr", [town["id"]])
            made = await gw.client.post(
                f"{API}/subscriptions", headers=hr, json={"url": receiver.url, "event_types": ["roster.cadre.*"]}
            )
            assert made.status_code == 201, made.text
            inside = await live_roster.cadre(town["id"])
            outside = await live_roster.cadre(other["id"])

            async def outside_judged() -> bool:
                # Mirror and dispatch share one transaction: mirrored means judged.
                return await mirrored(outside["id"], "cadres")

            async def inside_delivered() -> bool:
                return any(e["data"]["cadre_id"] == inside["id"] for e in receiver.events())

            await eventually(outside_judged, timeout=60, what="the outside cadre's event consumed")
            await eventually(inside_delivered, timeout=60, what="the inside cadre's event delivered")
            delivered = [e["data"]["cadre_id"] for e in receiver.events()]
            assert delivered == [inside["id"]]
            assert all(orjson.loads(b)["type"] == "roster.cadre.registered" for _, b in receiver.requests)
    finally:
        await receiver.stop()
