"""Who may do what on Apache Kafka: the declaration in deploy/kafka_access.py matches what
each app does, and the broker refuses everyone outside it.

The outside probe that found the hole: a client joined ``scoring.roster-mirror``, committed
end offsets and left, and scoring never mirrored the cadres registered meanwhile. With
SASL/SCRAM and the ACLs the kafka-setup job makes, that client cannot log in without a
principal, and with one (a foreign principal, or another service's) it can neither join the
group nor write the topic.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from cadrekit.testing.kafka import KafkaBroker
from cadrekit.testing.plugin import Broker, Signer
from deploy.kafka_access import PRINCIPALS, by_name
from deploy.kafka_setup import admin_config, wait_until_in_force
from tests.access.test_role_matrix import SERVICES, _app


@pytest.mark.parametrize("name", SERVICES)
async def test_each_app_uses_only_the_kafka_access_declared_for_it(
    name: str, database_factories: Any, signer: Signer, tmp_path: Path
) -> None:
    app = await _app(name, database_factories, signer, tmp_path)
    runtime = app.state.runtime
    declared = by_name(name)
    assert runtime.settings.topic == declared.topic
    consumed: set[str] = set()
    for consumer in runtime.consumers:
        assert consumer.name.startswith(declared.group_prefix), consumer.name
        consumed |= set(consumer.topics)
    # Equal, not a subset: a topic declared and never read is access no one needs.
    assert consumed == set(declared.consumes)


def test_every_process_is_declared() -> None:
    assert {p.name for p in PRINCIPALS} == set(SERVICES)


async def test_a_consumer_named_outside_its_service_is_refused(
    database_factories: Any, signer: Signer, tmp_path: Path
) -> None:
    runtime = (await _app("scoring", database_factories, signer, tmp_path)).state.runtime
    with pytest.raises(ValueError, match=r"scoring\.<what it does>"):
        runtime.add_consumer("roster.reactions", ["roster.events"], {})


def _as(broker: KafkaBroker, user: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": broker.bootstrap,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
        "request_timeout_ms": 10_000,
    }


def _make_user(broker: KafkaBroker, user: str, password: str) -> None:
    admin = AdminClient(admin_config(broker.bootstrap, broker.cluster.admin_password))
    upsert = UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password.encode()
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result()


def _grant_read(broker: KafkaBroker, user: str, topic: str) -> None:
    admin = AdminClient(admin_config(broker.bootstrap, broker.cluster.admin_password))
    binding = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        f"User:{user}",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in admin.create_acls([binding]).values():
        future.result()
    wait_until_in_force(admin, [binding], timeout=30)


async def _join(options: dict[str, Any], group: str, topic: str) -> None:
    consumer = AIOKafkaConsumer(topic, group_id=group, enable_auto_commit=False, **options)
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=3000)
        # A group member commits; an outsider's commit is what skipped scoring's mirror.
        await consumer.commit({TopicPartition(topic, 0): 0})
    finally:
        await consumer.stop()


async def _write(options: dict[str, Any], topic: str) -> None:
    producer = AIOKafkaProducer(acks="all", **options)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"{}", key=b"k")
    finally:
        await producer.stop()


@pytest.mark.kafka
async def test_a_foreign_principal_can_neither_join_a_service_group_nor_write_its_topic(broker: Broker) -> None:
    assert isinstance(broker, KafkaBroker)
    password = uuid.uuid4().hex
    _make_user(broker, "intruder", password)
    intruder = _as(broker, "intruder", password)
    with pytest.raises(TopicAuthorizationFailedError):
        await _join(intruder, "intruder.probe", "roster.events")  # it may not even read
    # Even a principal trusted to read roster's events (a reporting tool, say) cannot join
    # scoring's group and commit offsets there, as the probe did.
    _grant_read(broker, "intruder", "roster.events")
    with pytest.raises(GroupAuthorizationFailedError):
        await _join(intruder, "scoring.roster-mirror", "roster.events")
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(intruder, "roster.events")
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(intruder, "roster.events.dlq")


@pytest.mark.kafka
async def test_a_service_is_held_to_its_own_topic_and_groups(broker: Broker) -> None:
    assert isinstance(broker, KafkaBroker)
    matching = _as(broker, "matching", broker.cluster.passwords["matching"])
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(matching, "roster.events")  # roster's topic
    with pytest.raises(GroupAuthorizationFailedError):
        await _join(matching, "scoring.roster-mirror", "roster.events")  # scoring's group
    # What it is granted works: its own topic, the DLQ of what it reads, its own group.
    await _write(matching, "matching.events")
    await _write(matching, "roster.events.dlq")
    await _join(matching, f"matching.probe-{uuid.uuid4().hex[:6]}", "roster.events")


@pytest.mark.kafka
async def test_no_one_gets_in_without_a_principal(broker: Broker) -> None:
    assert isinstance(broker, KafkaBroker)
    with pytest.raises((KafkaConnectionError, KafkaError)):
        await _write({"bootstrap_servers": broker.bootstrap, "request_timeout_ms": 5000}, "roster.events")
    with pytest.raises(KafkaError):
        await _write(_as(broker, "scoring", "not-the-password"), "scoring.events")
