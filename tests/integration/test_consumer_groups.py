"""A consumer group after a client stopped while the broker was down: nothing of it stays.

Seen once on Apache Kafka: a subscriber read half its partitions for 90 s after an outage.
With the broker down, aiokafka's ``stop()`` cancels its fetcher's retry sleep and then raises
that CancelledError before it reaches the group coordinator, so the old member's heartbeat
kept running: once the broker was back, the old member, and the partitions assigned to it,
stayed in the group with no one fetching them. The consumer now abandons such a client for
good (its heartbeat cancelled, its connections closed); the group must empty once the
session timeout has passed.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from cadrekit.testing.kafka import KafkaBroker
from tests.integration.conftest import Subscriber, eventually

pytestmark = pytest.mark.kafka  # the group's members are read with DescribeGroups


async def members(broker: KafkaBroker, group: str) -> list[str]:
    admin = AIOKafkaAdminClient(**broker.client_options())
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    # aiokafka answers with the raw DescribeGroups response: groups of
    # (error_code, group, state, protocol_type, protocol, members, …), members led by their id.
    (described,) = [g for g in response.groups if g[1] == group]
    return [str(m[0]) for m in described[5]]


async def test_a_consumer_stopped_while_the_broker_is_down_leaves_no_member_behind(
    subscriber: Subscriber, broker: KafkaBroker
) -> None:
    consumer = subscriber.consumer

    async def joined() -> bool:
        return bool(consumer.state.get("assigned")) and len(await members(broker, consumer.name)) == 1

    await eventually(joined, timeout=60, what="the subscriber in its group")
    broker.stop()
    await asyncio.sleep(3)  # the fetcher is retrying by now
    await consumer.stop()  # neither raises nor leaves its client running
    assert consumer.state["status"] == "stopped"
    broker.start()

    async def group_empty() -> bool:
        try:
            return await members(broker, consumer.name) == []
        except Exception:  # the broker is still coming up
            return False

    # The session timeout is 10 s; a member still heartbeating would stay for ever.
    await eventually(group_empty, timeout=40, what="the stopped consumer gone from its group")
