"""A consumer process killed with SIGKILL in the middle of a batch, then restarted:
every produced event is applied, and none twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cadrekit.testing.plugin import Broker
from tests.conftest import RosterHarness
from tests.factories import cadre_body
from tests.reliability.support import ROOT, Figures, effects, inbox_ids, produced_events, subscriber_database, wait_for

UPDATES = 4  # per cadre: 1 registration + 4 updates
DELAY = 0.03  # seconds per effect: a batch of 150 takes ~5 s to apply


async def _burst(roster: RosterHarness, cadres: int) -> None:
    unit = await roster.unit()

    async def one(i: int) -> None:
        body = cadre_body(unit["id"], birth_date=f"19{60 + i % 30}-0{1 + i % 9}-1{i % 9}")
        created = await roster.client.post("/api/v1/roster/cadres", headers=roster.auth(), json=body)
        assert created.status_code == 201, created.text
        url = f"/api/v1/roster/cadres/{created.json()['id']}"
        for v in range(1, UPDATES + 1):
            resp = await roster.client.patch(
                url, headers={**roster.auth(), "If-Match": f'"v{v}"'}, json={"post_title": f"岗位{v}"}
            )
            assert resp.status_code == 200, resp.text

    sem = asyncio.Semaphore(5)

    async def bounded(i: int) -> None:
        async with sem:
            await one(i)

    await asyncio.gather(*(bounded(i) for i in range(cadres)))


def _spawn(url: str, kafka: str, state: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.subscriber_process", url, kafka, str(state), str(DELAY)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.parametrize("cadres", [30, pytest.param(120, marks=pytest.mark.soak)])
async def test_a_consumer_killed_mid_batch_applies_nothing_twice(
    pg_roster: RosterHarness, broker: Broker, database_factories: Any, tmp_path: Path, cadres: int
) -> None:
    sub_db = await subscriber_database(database_factories)
    await _burst(pg_roster, cadres)
    relay = pg_roster.app.state.runtime.relay

    async def all_sent() -> bool:
        return await relay.backlog() == 0

    await wait_for(all_sent, what="the burst on the broker")
    produced = await produced_events(pg_roster.settings.database_url)
    assert len(produced) == cadres * (UPDATES + 1)

    state = tmp_path / "subscriber.json"
    proc = _spawn(sub_db, json.dumps(broker.client_settings("matching")), state, tmp_path / "subscriber.log")
    try:

        async def some_applied() -> bool:
            return len((await effects(sub_db)).rows) >= 10

        await wait_for(some_applied, what="the subscriber under way")
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        at_kill = len((await effects(sub_db)).rows)
        # Killed in the middle: some of the one batch applied, some not.
        assert 0 < at_kill < len(produced), at_kill

        proc = _spawn(sub_db, json.dumps(broker.client_settings("matching")), state, tmp_path / "subscriber.log")

        async def all_applied() -> bool:
            return set((await effects(sub_db)).per_event) >= {e["id"] for e in produced}

        await wait_for(all_applied, timeout=90, what="every event applied after the restart")

        async def state_written() -> bool:
            return state.exists() and json.loads(state.read_text())["applied"] + at_kill >= len(produced)

        await wait_for(state_written, what="the restarted subscriber's counters")
        counters = json.loads(state.read_text())
    finally:
        proc.kill()
        await asyncio.to_thread(proc.wait, 10)

    applied = await effects(sub_db)
    inbox = await inbox_ids(sub_db, "matching.reliability-subscriber")
    ids = {e["id"] for e in produced}
    figures = Figures(
        "consumer SIGKILL mid-batch",
        produced=len(produced),
        delivered=at_kill + counters["applied"] + counters["duplicates"],
        applied=len(applied.rows),
        duplicated=applied.duplicated,
        lost=len(ids - set(applied.per_event)),
        notes={"applied before the kill": at_kill, "redelivered and dropped by the inbox": counters["duplicates"]},
    )
    figures.report()
    assert figures.duplicated == 0 and figures.lost == 0
    assert len(applied.rows) == len(produced) and sorted(inbox) == sorted(ids)
    # per cadre, in version order, each version once
    assert all(v == list(range(1, UPDATES + 2)) for v in applied.versions_by_cadre().values())
