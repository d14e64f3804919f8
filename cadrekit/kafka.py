"""Kafka client construction shared by relays and consumers (one place for broker quirks)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from cadrekit.settings import BaseServiceSettings

log = logging.getLogger("cadrekit.kafka")

# A broker that comes back empty must be noticed soon; the default of 5 minutes hides it.
METADATA_MAX_AGE_MS = 5_000


class TopicsMissing(RuntimeError):
    """Topics the service needs and may not create: the topics job has not run."""


def connection_options(settings: BaseServiceSettings) -> dict[str, Any]:
    """Where the broker is and who this client is: every client of a service says the same."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol != "PLAINTEXT":
        assert settings.kafka_password is not None  # the settings refuse SASL without one
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_principal,
            sasl_plain_password=settings.kafka_password.get_secret_value(),
        )
    return options


def new_producer(settings: BaseServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **connection_options(settings),
        client_id=f"{settings.service_name}-relay",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=10_000,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        linger_ms=5,
    )


def new_admin(settings: BaseServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        **connection_options(settings),
        client_id=f"{settings.service_name}-admin",
        request_timeout_ms=10_000,
    )


def new_consumer(settings: BaseServiceSettings, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**connection_options(settings), **options)


async def ensure_topics(admin: AIOKafkaAdminClient, settings: BaseServiceSettings, names: list[str]) -> list[str]:
    """Create the topics that are missing; returns the ones it created. Where the topics job
    owns them (``kafka_create_topics`` off), a missing one is an error naming it."""
    existing = set(await admin.list_topics())
    missing = [n for n in names if n not in existing]
    if not missing:
        return []
    if not settings.kafka_create_topics:
        raise TopicsMissing(f"topics {missing} do not exist; the kafka-setup job creates them (deploy/README.md)")
    topics = [NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in missing]
    with contextlib.suppress(TopicAlreadyExistsError):
        await admin.create_topics(topics)
    log.info("created topics", extra={"topics": missing})
    return missing
