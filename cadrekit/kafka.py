"""Kafka client construction shared by relays and consumers (one place for broker quirks)."""

from __future__ import annotations

import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from cadrekit.settings import BaseServiceSettings

log = logging.getLogger("cadrekit.kafka")

# A broker that comes back empty must be noticed soon; the default of 5 minutes hides it.
METADATA_MAX_AGE_MS = 5_000


def new_producer(settings: BaseServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-relay",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=10_000,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        linger_ms=5,
    )


def new_admin(settings: BaseServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-admin",
        request_timeout_ms=10_000,
    )


async def ensure_topics(admin: AIOKafkaAdminClient, settings: BaseServiceSettings, names: list[str]) -> list[str]:
    """Create the topics that are missing; returns the ones it created."""
    existing = set(await admin.list_topics())
    missing = [n for n in names if n not in existing]
    if not missing:
        return []
    topics = [NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in missing]
    with contextlib.suppress(TopicAlreadyExistsError):
        await admin.create_topics(topics)
    log.info("created topics", extra={"topics": missing})
    return missing
