"""``cadre``: the operator's command line.

    cadre clients create --name 门户 --role portal [--unit-scope UNIT ...] [--client-id ID]
    cadre clients list
    cadre clients disable CLIENT_ID | enable CLIENT_ID | rotate-secret CLIENT_ID
    cadre delegations register PORTAL_CLIENT_ID PERSON_ID [--unit-scope UNIT ...]
    cadre delegations list PORTAL_CLIENT_ID [--include-revoked]
    cadre delegations revoke PORTAL_CLIENT_ID PERSON_ID
    cadre dlq list TOPIC [--consumer NAME] [--since WHEN]
    cadre dlq replay TOPIC [--consumer NAME] [--since WHEN] [--dry-run]
    cadre kafka-setup [--bootstrap HOST:PORT]
    cadre catalogues publish-default YEAR [--gateway URL] [--credentials FILE]

``clients`` works on the gateway's database directly (GATEWAY_DATABASE_URL /
CADRE_DATABASE_URL, as the gateway reads them), so the first admin client exists before
anyone can call the API. Secrets are printed once, as JSON, and stored only as scrypt hashes.
``delegations`` registers, on the same database, the persons a portal client may act for as
officers (gateway/delegations.py): without ``--unit-scope``, the whole tree, which only a
portal with the whole tree may give.

``kafka-setup`` makes the services' Kafka users, topics and ACLs (deploy/kafka_setup.py).

``catalogues publish-default`` drafts the default points catalogue for a year that has none and
publishes it, through the gateway (CADRE_GATEWAY_URL or --gateway) as an API client
(--credentials, or CADRE_CLIENT_ID and CADRE_CLIENT_SECRET); it refuses a year that has a
catalogue already (deploy/catalogues.py, docs/catalogues.md).

``dlq`` and ``kafka-setup`` work on the broker (CADRE_KAFKA_BOOTSTRAP, or --bootstrap) as
the ``admin`` principal when CADRE_KAFKA_SECURITY_PROTOCOL is not PLAINTEXT
(CADRE_KAFKA_ADMIN_PASSWORD). ``dlq`` reads
``TOPIC.dlq`` and, for ``replay``, sends each dead-lettered event back to the topic it came
from (its ``dlq_topic`` header) with its key, value and original headers. Events that more
than one consumer dead-lettered are sent once; consumers that had applied them drop them
in their inboxes, so a replay is safe to repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cadrekit.auth import Role
from cadrekit.errors import DomainError
from cadrekit.problems import NotFound, Problem, ServiceUnavailable
from contracts import topics as names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cadre", description="Operate the Cadre Placement Platform.")
    sub = p.add_subparsers(dest="group", required=True)
    clients = sub.add_parser("clients", help="API clients of the gateway").add_subparsers(dest="action", required=True)
    create = clients.add_parser("create", help="create a client; its secret is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--unit-scope", nargs="*", default=None, metavar="UNIT_ID")
    create.add_argument("--client-id", default=None)
    clients.add_parser("list", help="list clients (never their secrets)")
    for action in ("disable", "enable", "rotate-secret"):
        clients.add_parser(action).add_argument("client_id")
    delegations = sub.add_parser("delegations", help="the persons a portal may act for as officers").add_subparsers(
        dest="action", required=True
    )
    register = delegations.add_parser("register", help="register a person the portal may act for as an officer")
    register.add_argument("client_id", help="the portal client")
    register.add_argument("person_id", help="the person's id in the portal")
    register.add_argument("--unit-scope", nargs="+", default=None, metavar="UNIT_ID", help="default: the whole tree")
    listing = delegations.add_parser("list", help="the persons registered with a portal")
    listing.add_argument("client_id")
    listing.add_argument("--include-revoked", action="store_true")
    revoke = delegations.add_parser("revoke", help="revoke a registration; the person's officer tokens stop")
    revoke.add_argument("client_id")
    revoke.add_argument("person_id")
    dlq = sub.add_parser("dlq", help="dead-lettered events: list them, replay them after a fix").add_subparsers(
        dest="action", required=True
    )
    for action, text in (
        ("list", "list the events in TOPIC.dlq with their errors"),
        ("replay", "send the events in TOPIC.dlq back to the topic they came from"),
    ):
        a = dlq.add_parser(action, help=text)
        a.add_argument("topic", help="the original topic (roster.events) or its DLQ (roster.events.dlq)")
        a.add_argument("--consumer", default=None, help="only events this consumer (group) dead-lettered")
        a.add_argument(
            "--since", type=_since, default=None, help="only events dead-lettered since: ISO 8601 time or 30m, 2h, 1d"
        )
        a.add_argument("--bootstrap", default=None, help="broker (default CADRE_KAFKA_BOOTSTRAP or 127.0.0.1:9092)")
        if action == "replay":
            a.add_argument("--dry-run", action="store_true", help="show what would be sent; send nothing")
    setup = sub.add_parser("kafka-setup", help="the services' Kafka users, topics and ACLs (idempotent)")
    setup.add_argument("--bootstrap", default=None, help="broker (default CADRE_KAFKA_BOOTSTRAP or 127.0.0.1:9092)")
    catalogues = sub.add_parser("catalogues", help="the yearly points catalogue, through the gateway")
    publish = catalogues.add_subparsers(dest="action", required=True).add_parser(
        "publish-default", help="draft the default catalogue for YEAR and publish it; refused if YEAR has one"
    )
    publish.add_argument("year", type=_year, metavar="YEAR")
    publish.add_argument("--gateway", default=None, help="gateway URL (default CADRE_GATEWAY_URL or :8000 here)")
    publish.add_argument(
        "--credentials",
        default=None,
        metavar="FILE",
        help="JSON with client_id and client_secret (default CADRE_CLIENT_ID and CADRE_CLIENT_SECRET)",
    )
    return p


def _year(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 9999:
        raise argparse.ArgumentTypeError(f"not a year: {value!r}")
    return int(value)


def kafka_options(bootstrap: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """aiokafka options for the operator: the ``admin`` principal where the broker wants SASL."""
    env = dict(os.environ) if env is None else env
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "client_id": "cadre-cli"}
    protocol = env.get("CADRE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    if protocol != "PLAINTEXT":
        password = env.get("CADRE_KAFKA_ADMIN_PASSWORD")
        if not password:
            raise Problem(f"CADRE_KAFKA_SECURITY_PROTOCOL is {protocol}: set CADRE_KAFKA_ADMIN_PASSWORD")
        options.update(
            security_protocol=protocol,
            sasl_mechanism=env.get("CADRE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            sasl_plain_username=env.get("CADRE_KAFKA_ADMIN_USERNAME", "admin"),
            sasl_plain_password=password,
        )
    return options


_DURATION = re.compile(r"^(\d+)([smhd])$")


def _since(value: str) -> dt.datetime:
    m = _DURATION.match(value.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(m.group(1))})
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time or a duration (30m, 2h, 1d): {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


async def _run(args: argparse.Namespace) -> Any:
    if args.group == "catalogues":
        from deploy import catalogues

        return await catalogues.run(args.year, gateway=args.gateway, credentials_file=args.credentials)
    if args.group == "kafka-setup":
        from deploy import kafka_setup

        bootstrap = args.bootstrap or os.environ.get("CADRE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        password = os.environ.get("CADRE_KAFKA_ADMIN_PASSWORD")
        if not password:
            raise Problem("set CADRE_KAFKA_ADMIN_PASSWORD (the admin principal the broker was formatted with)")
        try:
            report = await asyncio.to_thread(
                kafka_setup.apply,
                bootstrap,
                password,
                kafka_setup.passwords_from_env(),
                kafka_setup.layout_from_env(),
            )
        except ValueError as exc:
            raise Problem(str(exc)) from exc
        except Exception as exc:  # librdkafka's KafkaException, timeouts
            raise ServiceUnavailable(f"broker {bootstrap}: {type(exc).__name__}: {exc}") from exc
        return {"users": report.users, "topics_created": report.topics_created, "acls": report.acls}
    if args.group == "dlq":
        bootstrap = args.bootstrap or os.environ.get("CADRE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        from aiokafka.errors import KafkaError

        try:
            found = await read_dlq(bootstrap, args.topic, consumer=args.consumer, since=args.since)
            if args.action == "list":
                return [m.describe() for m in found]
            return await replay_dlq(bootstrap, found, dry_run=args.dry_run)
        except (KafkaError, OSError) as exc:
            raise ServiceUnavailable(f"broker {bootstrap}: {type(exc).__name__}: {exc}") from exc
    from cadrekit.runtime import ServiceRuntime
    from gateway import clients
    from gateway.app import MIGRATIONS
    from gateway.models import metadata
    from gateway.settings import GatewaySettings

    runtime = ServiceRuntime(GatewaySettings(), metadata, MIGRATIONS)
    try:
        if args.group == "delegations":
            return await _delegations(runtime, args)
        if args.action == "create":
            return await clients.create_client(
                runtime,
                name=args.name,
                role=args.role,
                unit_scope=args.unit_scope or None,
                created_by="cli",
                client_id=args.client_id,
            )
        if args.action == "list":
            return await clients.list_clients(runtime)
        if args.action in ("disable", "enable"):
            return await clients.set_disabled(runtime, args.client_id, args.action == "disable")
        return await clients.rotate_secret(runtime, args.client_id)
    finally:
        await runtime.engine.dispose()


async def _delegations(runtime: Any, args: argparse.Namespace) -> Any:
    from gateway import delegations

    if args.action == "register":
        made = await delegations.register(
            runtime,
            portal_client_id=args.client_id,
            person_id=args.person_id,
            unit_scope=args.unit_scope,
            created_by="cli",
        )
        return made.model_dump(mode="json")
    if args.action == "list":
        page = await delegations.list_for(runtime, args.client_id, include_revoked=args.include_revoked)
        return [d.model_dump(mode="json") for d in page.items]
    return (await delegations.revoke(runtime, args.client_id, args.person_id, revoked_by="cli")).model_dump(mode="json")


# dead-letter queues -----------------------------------------------------------------------
@dataclass
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", "replace")
        return None

    @property
    def origin(self) -> str:
        return self.header("dlq_topic") or names.of_dlq(self.dlq_topic)

    @property
    def event_id(self) -> str | None:
        found = self.header("ce_id")
        if found:
            return found
        try:
            value = json.loads(self.value)
        except ValueError:
            return None
        return str(value.get("id")) if isinstance(value, dict) and value.get("id") else None

    def describe(self) -> dict[str, Any]:
        attempts = self.header("dlq_attempts")
        return {
            "dlq": f"{self.dlq_topic}/{self.partition}@{self.offset}",
            "dead_lettered_at": dt.datetime.fromtimestamp(self.timestamp_ms / 1000, dt.UTC).isoformat(),
            "event_id": self.event_id,
            "type": self.header("ce_type"),
            "key": self.key.decode("utf-8", "replace") if self.key is not None else None,
            "consumer": self.header("dlq_consumer"),
            "error": self.header("dlq_error"),
            "attempts": int(attempts) if attempts and attempts.isdigit() else None,
            "from": f"{self.origin}/{self.header('dlq_partition')}@{self.header('dlq_offset')}",
        }


async def read_dlq(
    bootstrap: str, topic: str, *, consumer: str | None = None, since: dt.datetime | None = None
) -> list[DeadLetter]:
    """Every message in the topic's DLQ up to its current end, filtered, in DLQ order.
    It reads without a consumer group: nothing is committed, the DLQ stays as it is."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    dlq_topic = topic if names.is_dlq(topic) else names.dlq(topic)
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap), request_timeout_ms=10_000)
    await admin.start()
    try:
        if dlq_topic not in await admin.list_topics():
            raise NotFound(f"no dead-letter topic {dlq_topic} on {bootstrap}")
        described = await admin.describe_topics([dlq_topic])
    finally:
        await admin.close()
    parts = sorted(p["partition"] for d in described for p in d.get("partitions", []))
    reader = AIOKafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False)
    await reader.start()
    found: list[DeadLetter] = []
    try:
        tps = [TopicPartition(dlq_topic, p) for p in parts]
        if not tps:
            return []
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        since_ms = None if since is None else int(since.timestamp() * 1000)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp, messages in (await reader.getmany(*pending, timeout_ms=1000)).items():
                for m in messages:
                    if m.offset >= ends[tp]:
                        continue
                    letter = DeadLetter(
                        dlq_topic, m.partition, m.offset, m.timestamp, m.key, m.value, list(m.headers or [])
                    )
                    if consumer is not None and letter.header("dlq_consumer") != consumer:
                        continue
                    if since_ms is not None and m.timestamp < since_ms:
                        continue
                    found.append(letter)
            pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
    finally:
        await reader.stop()
    return sorted(found, key=lambda m: (m.timestamp_ms, m.partition, m.offset))


async def replay_dlq(bootstrap: str, letters: list[DeadLetter], *, dry_run: bool) -> dict[str, Any]:
    """Send each dead-lettered event once to the topic it came from, without the dlq_ headers
    and with ``dlq_replayed_from`` naming where it was kept."""
    from aiokafka import AIOKafkaProducer

    chosen: list[DeadLetter] = []
    seen: set[tuple[str, str]] = set()
    for letter in letters:
        ident = (letter.origin, letter.event_id or f"{letter.partition}@{letter.offset}")
        if ident not in seen:
            seen.add(ident)
            chosen.append(letter)
    result: dict[str, Any] = {
        "matched": len(letters),
        "replayed": 0,
        "dry_run": dry_run,
        "events": [{**m.describe(), "to": m.origin} for m in chosen],
    }
    if dry_run or not chosen:
        return result
    producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all")
    await producer.start()
    try:
        for m in chosen:
            headers = [(k, v) for k, v in m.headers if not k.startswith("dlq_")]
            headers.append(("dlq_replayed_from", f"{m.dlq_topic}/{m.partition}@{m.offset}".encode()))
            await producer.send_and_wait(m.origin, value=m.value, key=m.key, headers=headers)
            result["replayed"] += 1
    finally:
        await producer.stop()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = asyncio.run(_run(args))
    except (Problem, DomainError) as exc:  # the gateway's use cases raise domain errors
        print(f"cadre: {exc.detail}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
