"""A poison event (valid envelope, impossible data) goes to ``<topic>.dlq`` with its error,
consumption goes on behind it, and after a fix ``cadre dlq replay`` sends it back to its
topic, where it is applied once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from cadrekit.testing.plugin import Broker
from contracts.envelope import Event, dumps, envelope
from tests.reliability.support import ROOT, Figures, build_subscriber, effects, read_all, subscriber_database, wait_for


def _registered(cadre_id: str, birth_date: str, version: int = 1) -> dict[str, Any]:
    data = {
        "cadre_id": cadre_id,
        "version": version,
        "name": "王某",
        "unit_id": str(uuid.uuid4()),
        "birth_date": birth_date,
        "leadership_status": "second_line",
        "status": "active",
        "party_member": True,
    }
    kind = "roster.cadre.registered" if version == 1 else "roster.cadre.updated"
    return envelope("roster", Event(kind, f"cadre/{cadre_id}", cadre_id, data))


def cadre_cli(*argv: str, kafka: dict[str, str]) -> tuple[int, Any, str]:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *argv],
        cwd=ROOT,
        env={**os.environ, **kafka},
        capture_output=True,
        timeout=60,
        check=False,
    )
    out = done.stdout.decode()
    return done.returncode, json.loads(out) if done.returncode == 0 else None, done.stderr.decode()


@pytest.mark.parametrize("behind", [5, pytest.param(200, marks=pytest.mark.soak)])
async def test_a_poison_event_is_dead_lettered_then_replayed_after_a_fix(
    broker: Broker, database_factories: Any, behind: int
) -> None:
    db = await subscriber_database(database_factories)
    fixed = False

    def check(data: dict[str, Any]) -> None:
        # Before the fix the consumer insists on a real calendar date; the fix keeps the
        # event and leaves an impossible date out instead of refusing the whole event.
        try:
            dt.date.fromisoformat(data["birth_date"])
        except ValueError:
            if not fixed:
                raise

    runtime = build_subscriber(db, broker.client_settings("matching"), check=check)
    runtime.settings.consumer_max_attempts = 3
    await runtime.start()
    consumer = runtime.consumers[0]
    try:
        cadre = str(uuid.uuid4())
        poison = _registered(cadre, "1975-02-30")  # February has no 30th
        queued = [_registered(cadre, "1975-02-28", version=v) for v in range(2, 2 + behind)]
        producer = AIOKafkaProducer(**broker.client_options(), acks="all")
        await producer.start()
        try:
            # one key: one partition, the good events queue behind the poison
            for e in [poison, *queued]:
                headers = [("ce_id", e["id"].encode()), ("ce_type", e["type"].encode())]
                await producer.send_and_wait("roster.events", value=dumps(e), key=cadre.encode(), headers=headers)
        finally:
            await producer.stop()

        async def the_rest_applied() -> bool:
            return set((await effects(db)).per_event) >= {e["id"] for e in queued}

        await wait_for(the_rest_applied, what="the events behind the poison applied")
        assert consumer.state["dead_lettered"] == 1
        assert poison["id"] not in (await effects(db)).per_event

        code, listed, err = await asyncio.to_thread(cadre_cli, "dlq", "list", "roster.events", kafka=broker.cli_env())
        assert code == 0, err
        assert [m["event_id"] for m in listed] == [poison["id"]]
        letter = listed[0]
        assert letter["consumer"] == "matching.reliability-subscriber" and letter["attempts"] == 3
        assert "ValueError" in letter["error"] and letter["type"] == "roster.cadre.registered"
        assert letter["key"] == cadre and letter["from"].startswith("roster.events/")

        # filters that match nothing
        for extra in (["--consumer", "someone-else"], ["--since", "2999-01-01T00:00:00Z"]):
            code, nothing, err = await asyncio.to_thread(
                cadre_cli, "dlq", "replay", "roster.events", *extra, kafka=broker.cli_env()
            )
            assert code == 0 and nothing["matched"] == 0 and nothing["replayed"] == 0, err

        before = len(await read_all(broker.client_options(), "roster.events"))
        code, dry, err = await asyncio.to_thread(
            cadre_cli, "dlq", "replay", "roster.events", "--consumer", "matching.reliability-subscriber", "--since", "10m",
            "--dry-run", kafka=broker.cli_env(),
        )  # fmt: skip
        assert code == 0, err
        assert dry["matched"] == 1 and dry["replayed"] == 0 and dry["events"][0]["to"] == "roster.events"
        assert len(await read_all(broker.client_options(), "roster.events")) == before  # a dry run sends nothing

        fixed = True  # the fix is deployed
        code, done, err = await asyncio.to_thread(
            cadre_cli, "dlq", "replay", "roster.events.dlq", "--consumer", "matching.reliability-subscriber",
            kafka=broker.cli_env(),
        )  # fmt: skip
        assert code == 0 and done["replayed"] == 1, err

        async def poison_applied() -> bool:
            return poison["id"] in (await effects(db)).per_event

        await wait_for(poison_applied, what="the replayed event applied")
        topic = await read_all(broker.client_options(), "roster.events")
        replayed = [m for m, e in topic if e["id"] == poison["id"] and "dlq_replayed_from" in dict(m.headers)]
        assert len(replayed) == 1 and replayed[0].key == cadre.encode()
        assert not any(k.startswith("dlq_error") for k, _ in replayed[0].headers)

        # A second replay is harmless: the inbox drops what was applied.
        code, again, err = await asyncio.to_thread(cadre_cli, "dlq", "replay", "roster.events", kafka=broker.cli_env())
        assert code == 0 and again["replayed"] == 1, err

        async def dropped() -> bool:
            return bool(consumer.state["duplicates"] >= 1)

        await wait_for(dropped, what="the second replay dropped as a duplicate")
        code, _, err = await asyncio.to_thread(cadre_cli, "dlq", "list", "nosuch.events", kafka=broker.cli_env())
        assert code == 1 and "no dead-letter topic nosuch.events.dlq" in err
        code, _, err = await asyncio.to_thread(
            cadre_cli, "dlq", "list", "roster.events", kafka={"CADRE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
        )
        assert code == 1 and "cadre: broker 127.0.0.1:1" in err
    finally:
        await runtime.stop()

    applied = await effects(db)
    sent = [poison, *queued]
    figures = Figures(
        "poison event, DLQ and replay",
        produced=len(sent),
        delivered=len(sent) + 2,  # + the replay, + the repeated replay
        applied=len(applied.rows),
        duplicated=applied.duplicated,
        lost=len({e["id"] for e in sent} - set(applied.per_event)),
        notes={"dead-lettered": consumer.state["dead_lettered"], "replayed": 2},
    )
    figures.report()
    assert figures.applied == len(sent) and figures.duplicated == 0 and figures.lost == 0
