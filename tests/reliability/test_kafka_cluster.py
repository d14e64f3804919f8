"""A broker lost from an Apache Kafka cluster while the portal writes through the gateway.

Three KRaft nodes (each broker and controller), every topic with replication factor 3 and
``min.insync.replicas=2``, producers with ``acks=all`` and idempotence, as compose runs them
with KAFKA_REPLICATION=3. While three portal writers register and change cadres, the leader
of the busiest ``roster.events`` partition is SIGKILLed, left dead for a while, then
restarted. Nothing may be lost, nothing applied twice, and every cadre's events must be
applied in order, by our own non-idempotent subscriber and by scoring's roster mirror.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cadrekit.testing.kafka import KafkaBroker, KafkaNode
from cadrekit.testing.plugin import free_port
from deploy.launcher import SERVICES, Layout, System
from services.roster.app import MIGRATIONS as ROSTER_MIGRATIONS
from services.scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from tests.e2e.support import token
from tests.reliability.support import (
    Figures,
    build_subscriber,
    effects,
    pg_fetch,
    produced_events,
    subscriber_database,
    wait_for,
)
from tests.reliability.test_broker_outage import Portal

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


@pytest.fixture
async def cluster_system(
    tmp_path_factory: pytest.TempPathFactory, database_factories: Any
) -> AsyncIterator[tuple[System, KafkaBroker]]:
    kafka = KafkaBroker(tmp_path_factory.mktemp("kafka"), size=3)
    dbs = {
        "ROSTER_DATABASE_URL": await database_factories(ROSTER_MIGRATIONS).fresh("postgres"),
        "SCORING_DATABASE_URL": await database_factories(SCORING_MIGRATIONS).fresh("postgres"),
    }
    layout = Layout(
        var=tmp_path_factory.mktemp("var"),
        ports={n: free_port() for n in ("gateway", *SERVICES)},
        broker_port=free_port(),
        env={**dbs, "CADRE_OUTBOX_POLL_SECONDS": "0.1", "GATEWAY_RATE_LIMIT_ENABLED": "false", **kafka.process_env()},
    )
    system = System(layout, broker=kafka)
    await asyncio.to_thread(system.start)
    try:
        yield system, kafka
    finally:
        await asyncio.to_thread(system.stop)
        kafka.close()


async def _busiest_leader(kafka: KafkaBroker, topic: str) -> tuple[int, KafkaNode, int]:
    """(partition, its leader, its message count) for the partition holding most messages."""
    options = kafka.client_options()
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders = {p["partition"]: p["leader"] for p in described[0]["partitions"]}
    reader = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        ends = await reader.end_offsets([TopicPartition(topic, p) for p in leaders])
    finally:
        await reader.stop()
    partition, count = max(((tp.partition, n) for tp, n in ends.items()), key=lambda x: x[1])
    node = next(n for n in kafka.cluster.nodes if n.node_id == leaders[partition])
    return partition, node, count


async def test_a_leader_killed_mid_write_loses_nothing_and_applies_nothing_twice(
    cluster_system: tuple[System, KafkaBroker], database_factories: Any
) -> None:
    system, kafka = cluster_system
    lay = system.layout
    roster_db, scoring_db = lay.env["ROSTER_DATABASE_URL"], lay.env["SCORING_DATABASE_URL"]
    sub_db = await subscriber_database(database_factories)
    subscriber = build_subscriber(sub_db, kafka.client_settings("matching"))
    await subscriber.start()
    try:
        async with httpx.AsyncClient(base_url=lay.gateway_url, timeout=30) as client:
            auth = {"Authorization": f"Bearer {await token(client, system)}"}
            unit = await client.post(
                "/api/v1/roster/units", headers=auth, json={"name": "平湖市委组织部", "kind": "city_organ"}
            )
            assert unit.status_code == 201, unit.text
            portal = Portal(client, auth, unit.json()["id"])
            writers = [asyncio.create_task(portal.writer(w)) for w in range(3)]
            try:

                async def flowing() -> bool:
                    return len((await effects(sub_db)).rows) >= 20

                await wait_for(flowing, timeout=90, what="events flowing before the kill")
                partition, victim, count = await _busiest_leader(kafka, "roster.events")
                killed_at = time.monotonic()
                await asyncio.to_thread(kafka.cluster.kill, victim)
                portal.outage = True
                await asyncio.sleep(12)  # past the broker session timeout: a new leader is elected
                portal.outage = False
                await asyncio.to_thread(kafka.cluster.start, victim)
                dead_for = time.monotonic() - killed_at
                written_at_restart = portal.ok

                async def more_written() -> bool:
                    return portal.ok >= written_at_restart + 20

                await wait_for(more_written, what="writes after the restart")
            finally:
                portal.stop.set()
                await asyncio.gather(*writers)
            assert not portal.failures, portal.failures[:5]

        produced = await produced_events(roster_db)
        ids = {e["id"] for e in produced}
        roster_versions = {r[0]: r[1] for r in await pg_fetch(roster_db, "SELECT id, version FROM cadres")}

        async def all_applied() -> bool:
            return set((await effects(sub_db)).per_event) >= ids

        await wait_for(all_applied, timeout=180, what="every event applied after the broker came back")

        async def scoring_caught_up() -> bool:
            rows = await pg_fetch(scoring_db, "SELECT cadre_id, version FROM mirror_cadres")
            return {r[0]: r[1] for r in rows} == roster_versions

        await wait_for(scoring_caught_up, timeout=120, what="scoring's mirror equal to roster")
        applied = await effects(sub_db)
    finally:
        await subscriber.stop()

    figures = Figures(
        "Apache Kafka leader killed (3 brokers, RF 3, min ISR 2, acks=all)",
        produced=len(produced),
        delivered=len(set(applied.per_event) & ids),
        applied=len(applied.rows),
        duplicated=applied.duplicated,
        lost=len(ids - set(applied.per_event)),
        notes={
            "writes": portal.ok,
            "writes while the broker was dead": portal.during_outage,
            "killed": f"node {victim.node_id}, leader of roster.events/{partition} ({count} messages)",
            "dead for": f"{dead_for:.1f} s",
            "redelivered and dropped": subscriber.consumers[0].state["duplicates"],
        },
    )
    figures.report()
    assert figures.lost == 0 and figures.duplicated == 0 and len(applied.rows) == len(ids)
    assert portal.during_outage > 0
    assert applied.versions_by_cadre() == {c: list(range(1, v + 1)) for c, v in roster_versions.items()}
