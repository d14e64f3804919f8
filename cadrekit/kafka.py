"""Kafka client construction shared by relays and consumers (one place for broker quirks)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import ConnectionGroup
from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

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


class BrokerReplaced(ConnectionError):
    """A connection reached a broker without the relay's marker topic: a new, empty one."""


class MarkerFence:
    """Lets a producer use a connection only once that very connection has shown the marker
    topic, for a broker that forgets everything when it restarts (Tansu).

    aiokafka retries an undelivered batch by itself, reconnecting as often as it must; after a
    restart its retry would reach the new, empty broker before the relay has re-sent the events
    written before that batch. A restart always breaks the TCP connection, so checking each new
    connection is enough: the marker is created only after the relay has marked every retained
    event for re-sending (``OutboxRelay._check_broker_reset``), so a connection that shows it leads
    to a broker whose refill, in id order, comes before anything still unsent. A connection
    without it trips the fence: from then on this producer gets no connection at all, and the relay
    abandons it (``abandon``). The check asks for the marker with auto-creation off (Tansu creates
    any topic a metadata request names otherwise, and has no setting to stop it).

    It wraps ``AIOKafkaClient._get_conn``, the one place aiokafka 0.11–0.14 opens a connection
    for a request (produce and metadata alike); tests/integration/test_outbox_and_inbox.py
    restarts Tansu under a batch in flight and fails if that stops holding."""

    def __init__(self, marker_topic: str) -> None:
        self.marker_topic = marker_topic
        self.tripped = asyncio.Event()
        self._shown: weakref.WeakSet[AIOKafkaConnection] = weakref.WeakSet()
        self._lock = asyncio.Lock()

    def install(self, producer: AIOKafkaProducer) -> None:
        """Before ``producer.start()``, so no connection escapes the check."""
        client = producer.client
        get_conn = client._get_conn

        async def guarded(node_id: Any, *, group: Any = ConnectionGroup.DEFAULT, no_hint: bool = False) -> Any:
            # One caller at a time: a second must not get the connection while the first checks it.
            async with self._lock:
                if self.tripped.is_set():
                    return None
                conn = await get_conn(node_id, group=group, no_hint=no_hint)
                if conn is None or conn in self._shown:
                    return conn
                try:
                    shown = await self._shows_marker(conn)
                except (TimeoutError, KafkaError, OSError):
                    conn.close(reason=CloseReason.CONNECTION_BROKEN)
                    return None  # no answer is no proof either way: aiokafka retries, checked again
                if shown:
                    self._shown.add(conn)
                    return conn
                conn.close(reason=CloseReason.CONNECTION_BROKEN)
                self.trip()
                log.warning("a connection reached a broker without the marker topic; producer fenced")
                return None

        client._get_conn = guarded

    async def _shows_marker(self, conn: AIOKafkaConnection) -> bool:
        response = await conn.send(MetadataRequest([self.marker_topic], allow_auto_topic_creation=False))
        if response.API_VERSION < 4:  # before v4 the request cannot say "do not create it"
            raise RuntimeError("the broker answers metadata v0-v3 only: the marker cannot be checked")
        return any(error == 0 and name == self.marker_topic for error, name, *_ in response.topics)

    def trip(self) -> None:
        self.tripped.set()

    def abandon(self, producer: AIOKafkaProducer) -> None:
        """Give up every batch the producer holds, so stopping it sends nothing (``stop()``
        flushes first; fenced, the flush could only wait for batches to expire)."""
        self.trip()
        producer._message_accumulator.fail_all(BrokerReplaced("the producer was abandoned"))
