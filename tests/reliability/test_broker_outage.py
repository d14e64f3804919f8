"""The broker stopped while the portal keeps writing through the gateway, then restarted
empty: every write succeeds, the outbox holds the events meanwhile, the relays refill the
new broker, every event arrives in per-cadre order, none is lost and none applied twice.

The whole system runs as processes (as ``make run`` starts it), roster and scoring on
PostgreSQL; a subscriber of our own applies roster's cadre events through the kit's inbox
with a non-idempotent effect, and scoring's roster mirror must end equal to roster."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cadrekit.testing.kafka import KafkaBroker
from cadrekit.testing.plugin import free_port
from deploy.launcher import SERVICES, Layout, System
from services.roster.app import MIGRATIONS as ROSTER_MIGRATIONS
from services.scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from tests.e2e.support import token
from tests.factories import cadre_body
from tests.reliability.support import (
    CADRE_EVENTS,
    Figures,
    build_subscriber,
    effects,
    pg_fetch,
    produced_events,
    read_all,
    subscriber_database,
    wait_for,
)

pytestmark = pytest.mark.e2e

WRITERS = 3


@pytest.fixture
async def pg_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database_factories: Any
) -> AsyncIterator[System]:
    """Apache Kafka in ``make test`` (restarted with its log, as a real outage ends), Tansu
    with ``--broker tansu`` (restarted empty, so the relay refills it)."""
    kafka = KafkaBroker(tmp_path_factory.mktemp("kafka")) if request.config.getoption("--broker") == "kafka" else None
    dbs = {
        "ROSTER_DATABASE_URL": await database_factories(ROSTER_MIGRATIONS).fresh("postgres"),
        "SCORING_DATABASE_URL": await database_factories(SCORING_MIGRATIONS).fresh("postgres"),
    }
    layout = Layout(
        var=tmp_path_factory.mktemp("var"),
        ports={n: free_port() for n in ("gateway", *SERVICES)},
        broker_port=free_port(),
        env={
            **dbs,
            "CADRE_BROKER_CHECK_SECONDS": "0.5",
            "CADRE_OUTBOX_POLL_SECONDS": "0.1",
            **(kafka.process_env() if kafka else {}),
        },
    )
    system = System(layout, broker=kafka)
    await asyncio.to_thread(system.start)
    try:
        yield system
    finally:
        await asyncio.to_thread(system.stop)
        if kafka is not None:
            kafka.close()


class Portal:
    """Writers through the gateway: each registers cadres and changes them with If-Match."""

    def __init__(self, client: httpx.AsyncClient, auth: dict[str, str], unit_id: str) -> None:
        self.client, self.auth, self.unit_id = client, auth, unit_id
        self.ok = 0
        self.failures: list[tuple[int, str]] = []
        self.stop = asyncio.Event()
        self.during_outage = 0
        self.outage = False

    async def _write(self, method: str, url: str, **kw: Any) -> httpx.Response | None:
        resp = await self.client.request(method, url, **kw)
        if resp.status_code >= 300:
            self.failures.append((resp.status_code, resp.text[:300]))
            return None
        self.ok += 1
        self.during_outage += self.outage
        return resp

    async def writer(self, w: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            await asyncio.sleep(0.1)  # pacing: a portal's pace, well under the gateway's rate limit
            body = cadre_body(self.unit_id, birth_date=f"19{60 + (w * 11 + n) % 35}-{1 + n % 12:02d}-{1 + w:02d}")
            created = await self._write(
                "POST", "/api/v1/roster/cadres", headers={**self.auth, "Idempotency-Key": f"w{w}-{n}"}, json=body
            )
            if created is None:
                continue
            url, version = f"/api/v1/roster/cadres/{created.json()['id']}", 1
            for j in range(4):
                if self.stop.is_set():
                    break
                await asyncio.sleep(0.1)
                changed = await self._write(
                    "PATCH", url, headers={**self.auth, "If-Match": f'"v{version}"'}, json={"post_title": f"岗位{j}"}
                )
                if changed is not None:
                    version += 1


async def run_outage(system: System, database_factories: Any, outage_seconds: float) -> Figures:
    lay = system.layout
    roster_db = lay.env["ROSTER_DATABASE_URL"]
    scoring_db = lay.env["SCORING_DATABASE_URL"]
    kafka = system.broker if isinstance(system.broker, KafkaBroker) else None
    bootstrap = f"{lay.host}:{lay.broker_port}"
    sub_db = await subscriber_database(database_factories)
    subscriber = build_subscriber(sub_db, kafka.client_settings("matching") if kafka else bootstrap)
    await subscriber.start()
    roster_url = f"http://{lay.host}:{lay.ports['roster']}"
    try:
        async with httpx.AsyncClient(base_url=lay.gateway_url, timeout=30) as client:
            auth = {"Authorization": f"Bearer {await token(client, system)}"}
            unit = await client.post(
                "/api/v1/roster/units", headers=auth, json={"name": "平湖市委组织部", "kind": "city_organ"}
            )
            assert unit.status_code == 201, unit.text
            portal = Portal(client, auth, unit.json()["id"])
            writers = [asyncio.create_task(portal.writer(w)) for w in range(WRITERS)]
            try:

                async def flowing() -> bool:
                    return len((await effects(sub_db)).rows) >= 5

                await wait_for(flowing, what="events flowing before the outage")
                await asyncio.to_thread(system.stop_broker)
                stopped_at = dt.datetime.now(dt.UTC)
                portal.outage = True
                await asyncio.sleep(outage_seconds)  # the outage itself, while the writers go on
                held, written_since, sent_since = (
                    await pg_fetch(
                        roster_db,
                        "SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FILTER (WHERE created_at > $1),"
                        " count(*) FILTER (WHERE created_at > $1 AND published_at IS NOT NULL) FROM outbox",
                        stopped_at,
                    )
                )[0]
                await asyncio.to_thread(system.start_broker)  # Tansu: a new broker, empty; Kafka: with its log
                portal.outage = False
                written_at_restart = portal.ok

                async def more_written() -> bool:
                    return portal.ok >= written_at_restart + 10

                await wait_for(more_written, what="writes after the restart")
            finally:
                portal.stop.set()
                await asyncio.gather(*writers)
            assert not portal.failures, portal.failures[:5]
            # every event written while the broker was away waits in the outbox
            assert portal.during_outage > 0 and written_since > 0 and sent_since == 0

        produced = await produced_events(roster_db)
        ids = {e["id"] for e in produced}
        roster_versions = {r[0]: r[1] for r in await pg_fetch(roster_db, "SELECT id, version FROM cadres")}

        async def all_applied() -> bool:
            return set((await effects(sub_db)).per_event) >= ids

        await wait_for(all_applied, timeout=120, what="every event applied after the restart")

        async def scoring_caught_up() -> bool:
            rows = await pg_fetch(scoring_db, "SELECT cadre_id, version FROM mirror_cadres")
            return {r[0]: r[1] for r in rows} == roster_versions

        await wait_for(scoring_caught_up, timeout=120, what="scoring's mirror equal to roster")
        async with httpx.AsyncClient(base_url=roster_url, timeout=10) as client:
            relay = (await client.get("/health")).json()["relay"]
        # Tansu forgets everything, so the relay re-sends; Apache Kafka keeps its log, so it must not.
        assert relay["backlog"] == 0 and (relay["refills"] == 0 if kafka else relay["refills"] >= 1), relay

        on_topic = [
            e
            for _, e in await read_all(kafka.client_options() if kafka else bootstrap, "roster.events")
            if e["type"] in CADRE_EVENTS
        ]
        topic_versions: dict[str, list[int]] = {}
        for e in on_topic:
            topic_versions.setdefault(e["data"]["cadre_id"], []).append(e["data"]["version"])
        delivered = {e["id"] for e in on_topic}
        applied = await effects(sub_db)
        scoring_inbox = {
            r[0]
            for r in await pg_fetch(scoring_db, "SELECT event_id FROM inbox WHERE consumer = 'scoring.roster-mirror'")
        }
    finally:
        await subscriber.stop()

    # Tansu came back empty: its topic holds the refill and what followed, each version once, in
    # order; a batch the relay had in flight must not land ahead of the refill (cadrekit.kafka's
    # MarkerFence). Apache Kafka kept its log: a batch re-sent after a lost ack may repeat, in order.
    out_of_order = {
        cadre: seen
        for cadre, v in roster_versions.items()
        if not _as_expected(seen := topic_versions.get(cadre, []), list(range(1, v + 1)), log_kept=kafka is not None)
    }
    figures = Figures(
        f"{'Apache Kafka' if kafka else 'Tansu'} stopped {outage_seconds:g} s",
        produced=len(produced),
        delivered=len(delivered & ids),
        applied=len(applied.rows),
        duplicated=applied.duplicated,
        lost=len(ids - set(applied.per_event)),
        notes={
            "writes": portal.ok,
            "writes during the outage": portal.during_outage,
            "held in the outbox": held,
            "redelivered and dropped": subscriber.consumers[0].state["duplicates"],
            "refills": relay["refills"],
            "cadres out of order on the topic": len(out_of_order),
        },
    )
    figures.report()
    assert figures.delivered == len(ids) and figures.lost == 0 and figures.duplicated == 0
    assert len(applied.rows) == len(ids)
    # Per-cadre order as applied: versions 1, 2, … n, each once.
    assert applied.versions_by_cadre() == {c: list(range(1, v + 1)) for c, v in roster_versions.items()}
    assert not out_of_order, dict(list(out_of_order.items())[:5])
    assert ids <= scoring_inbox
    return figures


async def test_a_short_broker_outage_loses_nothing(pg_system: System, database_factories: Any) -> None:
    await run_outage(pg_system, database_factories, outage_seconds=6)


@pytest.mark.soak
async def test_a_thirty_second_broker_outage_loses_nothing(pg_system: System, database_factories: Any) -> None:
    await run_outage(pg_system, database_factories, outage_seconds=30)


def _as_expected(seen: list[int], wanted: list[int], *, log_kept: bool) -> bool:
    return _in_order(seen, wanted) if log_kept else seen == wanted


def _in_order(seen: list[int], wanted: list[int]) -> bool:
    """``wanted`` is a subsequence of ``seen``."""
    it = iter(seen)
    return all(any(x == w for x in it) for w in wanted)
