"""The ``kafka-setup`` job: SCRAM users, topics and ACLs from ``deploy/kafka_access.py``.

    cadre kafka-setup [--bootstrap HOST:PORT]

Run once after the broker is up (compose's one-shot ``kafka-setup``, a Kubernetes Job) and
again after any change; every step is idempotent. It connects as the ``admin`` super user
(``CADRE_KAFKA_ADMIN_PASSWORD``), whose SCRAM credential the broker's storage was formatted
with (``deploy/kafka/start.sh``). Each service's password comes from
``<SERVICE>_KAFKA_PASSWORD`` (the same variable the service itself reads).

confluent-kafka's admin client does this, not aiokafka's: aiokafka has no ACL or SCRAM
requests, and librdkafka's are Kafka's own, kept current with the broker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from contracts import topics as names
from deploy.kafka_access import ADMIN, PRINCIPALS, Principal

MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class TopicLayout:
    partitions: int = 6
    replication: int = 1
    dlq_retention_ms: int = 30 * 24 * 3600 * 1000
    # With a replication of 3, min.insync.replicas=2: acks=all survives one broker lost.
    min_insync_replicas: int | None = None


@dataclass
class SetupReport:
    users: list[str] = field(default_factory=list)
    topics_created: list[str] = field(default_factory=list)
    acls: int = 0


def admin_config(bootstrap: str, admin_password: str) -> dict[str, str | int | float | bool]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": MECHANISM,
        "sasl.username": ADMIN,
        "sasl.password": admin_password,
    }


def acl_bindings(principal: Principal) -> list[AclBinding]:
    """What one service may do, as Kafka ACL bindings (allow only; nothing else is allowed)."""
    user = f"User:{principal.name}"

    def allow(kind: ResourceType, name: str, op: AclOperation, pattern: ResourcePatternType) -> AclBinding:
        return AclBinding(kind, name, pattern, user, "*", op, AclPermissionType.ALLOW)

    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    out = []
    for topic in principal.writes:
        out += [allow(ResourceType.TOPIC, topic, op, literal) for op in (AclOperation.WRITE, AclOperation.DESCRIBE)]
    for topic in principal.consumes:
        out += [allow(ResourceType.TOPIC, topic, op, literal) for op in (AclOperation.READ, AclOperation.DESCRIBE)]
    # Its own dead-letter topic: seen (the relay checks it exists), neither read nor written.
    out.append(allow(ResourceType.TOPIC, names.dlq(principal.topic), AclOperation.DESCRIBE, literal))
    out.append(allow(ResourceType.GROUP, principal.group_prefix, AclOperation.READ, prefixed))
    out.append(allow(ResourceType.GROUP, principal.group_prefix, AclOperation.DESCRIBE, prefixed))
    # The idempotent producer (CADRE_KAFKA_IDEMPOTENCE) asks for a producer id.
    out.append(allow(ResourceType.BROKER, "kafka-cluster", AclOperation.IDEMPOTENT_WRITE, literal))
    return out


def apply(
    bootstrap: str,
    admin_password: str,
    passwords: Mapping[str, str],
    layout: TopicLayout | None = None,
    timeout: float = 30.0,
) -> SetupReport:
    """Make every user, topic and ACL the plan names; what exists already is left as it is
    (an existing topic keeps its partitions), a user's password is set to the one given."""
    layout = layout or TopicLayout()
    client = AdminClient(admin_config(bootstrap, admin_password))
    report = SetupReport()

    missing_passwords = [p.name for p in PRINCIPALS if not passwords.get(p.name)]
    if missing_passwords:
        raise ValueError(f"no Kafka password for {missing_passwords}")
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(
            p.name,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            passwords[p.name].encode(),
        )
        for p in PRINCIPALS
    ]
    for user, future in client.alter_user_scram_credentials(upserts, request_timeout=timeout).items():
        future.result()
        report.users.append(user)

    existing = set(client.list_topics(timeout=timeout).topics)
    new = []
    for p in PRINCIPALS:
        for name in (p.topic, names.dlq(p.topic)):
            if name in existing:
                continue
            config = {"retention.ms": str(layout.dlq_retention_ms)} if names.is_dlq(name) else {}
            if layout.min_insync_replicas is not None:
                config["min.insync.replicas"] = str(layout.min_insync_replicas)
            new.append(NewTopic(name, layout.partitions, layout.replication, config=config))
    if new:
        for name, future in client.create_topics(new, request_timeout=timeout).items():
            try:
                future.result()
            except Exception as exc:  # another run of this job made it meanwhile
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
            report.topics_created.append(name)

    bindings = [b for p in PRINCIPALS for b in acl_bindings(p)]
    for future in client.create_acls(bindings, request_timeout=timeout).values():
        future.result()
    report.acls = len(bindings)
    wait_until_in_force(client, bindings, timeout)
    return report


def wait_until_in_force(client: AdminClient, bindings: list[AclBinding], timeout: float) -> None:
    """An ACL the controller accepted takes a moment to reach the brokers' authorizers; the
    job ends only when every broker-side describe shows them all, so nothing started after it
    is refused for a while."""
    anything: Any = None  # a filter's None matches every name, principal and host
    everything = AclBindingFilter(
        ResourceType.ANY, anything, ResourcePatternType.ANY, anything, anything, AclOperation.ANY, AclPermissionType.ANY
    )
    wanted = {str(b) for b in bindings}
    deadline = time.monotonic() + timeout
    while True:
        seen = {str(b) for b in client.describe_acls(everything, request_timeout=timeout).result()}
        if wanted <= seen:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(wanted - seen)} ACLs not in force after {timeout:.0f} s")
        time.sleep(0.2)


def passwords_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {p.name: env.get(f"{p.name.upper()}_KAFKA_PASSWORD", "") for p in PRINCIPALS}


def layout_from_env(env: Mapping[str, str] | None = None) -> TopicLayout:
    env = os.environ if env is None else env
    isr = env.get("KAFKA_MIN_INSYNC_REPLICAS")
    return TopicLayout(
        partitions=int(env.get("KAFKA_PARTITIONS", "6")),
        replication=int(env.get("KAFKA_REPLICATION", "1")),
        dlq_retention_ms=int(env.get("KAFKA_DLQ_RETENTION_MS", str(TopicLayout.dlq_retention_ms))),
        min_insync_replicas=int(isr) if isr else None,
    )
