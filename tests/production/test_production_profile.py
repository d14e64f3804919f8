"""The production path as processes (no container engine here): every service on its own
PostgreSQL database and role, two replicas of scoring and matching, topics of 6 partitions
on the broker. Replicas share the partitions, a replica killed mid-stream loses nothing and
applies nothing twice, and a relay failover keeps each cadre's events in order.

``make test-prod`` runs only this; ``make test`` includes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from cadrekit.testing.kafka import KafkaBroker
from cadrekit.testing.plugin import free_port, pg_url
from contracts.envelope import parse
from deploy.launcher import SERVICES, Layout, System
from tests.e2e.support import token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e

NAMES = (*SERVICES, "gateway")
PARTITIONS = 6


def _admin_dsn() -> str:
    return pg_url().replace("postgresql+asyncpg://", "postgresql://")


async def _create_databases(prefix: str) -> dict[str, str]:
    """One role and one database per service; the database's owner is its role and no one
    else may connect to it."""
    admin = await asyncpg.connect(_admin_dsn())
    base = _admin_dsn().rsplit("@", 1)[1].rsplit("/", 1)[0]
    urls = {}
    try:
        for name in NAMES:
            db = role = f"{prefix}_{name}"
            await admin.execute(f'CREATE ROLE "{role}" LOGIN')
            await admin.execute(f'CREATE DATABASE "{db}" OWNER "{role}"')
            await admin.execute(f'REVOKE CONNECT ON DATABASE "{db}" FROM PUBLIC')
            await admin.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"')
            urls[name] = f"postgresql+asyncpg://{role}@{base}/{db}"
    finally:
        await admin.close()
    return urls


async def _drop_databases(prefix: str) -> None:
    admin = await asyncpg.connect(_admin_dsn())
    try:
        for name in NAMES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{prefix}_{name}"')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def prod(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """On Apache Kafka in ``make test`` (authenticated, topics and ACLs from the kafka-setup
    job's code, as compose runs it), on Tansu with ``--broker tansu``."""
    prefix = f"cadre_prod_{uuid.uuid4().hex[:8]}"
    kafka = KafkaBroker(tmp_path_factory.mktemp("kafka")) if request.config.getoption("--broker") == "kafka" else None
    env = {"CADRE_TOPIC_PARTITIONS": str(PARTITIONS), "GATEWAY_RATE_LIMIT_ENABLED": "false"}
    if kafka is not None:
        env.update(kafka.process_env(PARTITIONS))
    urls = asyncio.run(_create_databases(prefix))
    layout = Layout(
        var=tmp_path_factory.mktemp("prod"),
        ports={n: free_port() for n in ("gateway", *SERVICES)},
        broker_port=free_port(),
        database_urls=urls,
        replicas={"scoring": [free_port()], "matching": [free_port()]},
        env=env,
    )
    system = System(layout, broker=kafka)
    system.start()
    try:
        yield system
    finally:
        system.stop()
        if kafka is not None:
            kafka.close()
        asyncio.run(_drop_databases(prefix))


def _reach(prod: System) -> dict[str, Any]:
    """A test's own Kafka client options: the operator's on Apache Kafka."""
    if isinstance(prod.broker, KafkaBroker):
        return prod.broker.client_options()
    return {"bootstrap_servers": f"127.0.0.1:{prod.layout.broker_port}"}


def _port(system: System, process: str) -> int:
    return next(port for name, _, port in system.layout.processes() if name == process)


async def _health(client: httpx.AsyncClient, system: System, process: str) -> dict[str, Any]:
    resp = await client.get(f"http://127.0.0.1:{_port(system, process)}/health", timeout=5)
    return resp.json()  # type: ignore[no-any-return]


async def _eventually(check: Any, timeout: float = 90, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        await asyncio.sleep(0.5)


async def test_no_service_can_open_another_services_database(prod: System) -> None:
    urls = prod.layout.database_urls
    scoring_role = urls["scoring"].split("//", 1)[1].split("@", 1)[0]
    roster_db = urls["roster"].rsplit("/", 1)[1]
    host = _admin_dsn().rsplit("@", 1)[1].rsplit("/", 1)[0]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(f"postgresql://{scoring_role}@{host}/{roster_db}")
    own = await asyncpg.connect(urls["scoring"].replace("postgresql+asyncpg://", "postgresql://"))
    await own.close()


async def test_replicas_share_the_partitions(prod: System) -> None:
    async with httpx.AsyncClient() as client:
        for service, consumer in (("scoring", "scoring.roster-mirror"), ("matching", "matching.inbound")):

            async def split(s: str = service, c: str = consumer) -> tuple[set[str], set[str]] | None:
                one = set((await _health(client, prod, s))["consumers"][c].get("assigned") or [])
                two = set((await _health(client, prod, f"{s}#2"))["consumers"][c].get("assigned") or [])
                return (one, two) if one and two else None

            one, two = await _eventually(split, what=f"both {service} replicas holding partitions")
            assert not one & two, f"{service}: a partition assigned twice"
            roster_partitions = {p for p in one | two if p.startswith("roster.events:")}
            assert len(roster_partitions) == PARTITIONS


async def _mirror(prod: System, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(prod.layout.database_urls["scoring"].replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_a_replica_killed_mid_stream_loses_nothing_and_applies_nothing_twice(prod: System) -> None:
    async with _restarted(prod, "scoring#2"), httpx.AsyncClient(base_url=prod.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, prod)}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "市交通局", "kind": "city_organ"})
        ).json()
        ids = []
        for i in range(60):
            if i == 20:
                prod.kill("scoring#2")  # a crash: no shutdown, no final offset commits
            # A birth date each: generated ID numbers then never collide.
            body = cadre_body(unit["id"], birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=i))
            made = await client.post("/api/v1/roster/cadres", headers=admin, json=body)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])

        async def all_mirrored() -> bool:
            rows = await _mirror(prod, "SELECT count(*) AS n FROM mirror_cadres WHERE unit_id = $1", unit["id"])
            return bool(rows[0]["n"] == len(ids))

        await _eventually(all_mirrored, what="every cadre in scoring's mirror after the kill")
        applied = await _mirror(
            prod,
            "SELECT event_id, count(*) AS n FROM inbox WHERE consumer = 'scoring.roster-mirror' GROUP BY event_id",
        )
        assert all(r["n"] == 1 for r in applied)
        versions = await _mirror(prod, "SELECT version FROM mirror_cadres WHERE unit_id = $1", unit["id"])
        assert {r["version"] for r in versions} == {1}
        print(f"\nreplica kill: produced {len(ids)} cadres, applied {len(versions)}, duplicated 0, lost 0")


@contextlib.asynccontextmanager
async def _restarted(prod: System, *processes: str) -> AsyncIterator[None]:
    """Whatever a test kills is running again after it, passed or failed."""
    try:
        yield
    finally:
        for name in processes:
            if name not in prod.procs:
                prod.start_service(name)
                await _eventually(lambda n=name: _ready(prod, n), what=f"{name} back")


async def _ready(prod: System, process: str) -> bool:
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(f"http://127.0.0.1:{_port(prod, process)}/ready", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False


async def test_a_relay_failover_keeps_each_cadres_events_in_order(prod: System) -> None:
    async with (
        _restarted(prod, "scoring", "scoring#2"),
        httpx.AsyncClient(base_url=prod.layout.gateway_url, timeout=30) as client,
    ):
        admin = {"Authorization": f"Bearer {await token(client, prod)}"}
        made = await client.post("/api/v1/auth/clients", headers=admin, json={"name": "审核", "role": "officer"})
        c = made.json()
        got = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
        )
        officer = {"Authorization": f"Bearer {got.json()['access_token']}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "市水利局", "kind": "city_organ"})
        ).json()
        cadre = (await client.post("/api/v1/roster/cadres", headers=admin, json=cadre_body(unit["id"]))).json()["id"]
        draft = (await client.post("/api/v1/scoring/catalogues/2025/drafts", headers=admin)).json()
        await client.post(f"/api/v1/scoring/catalogues/{draft['id']}/publish", headers=admin)

        async def proposed() -> list[str] | None:
            out = []
            for _ in range(12):
                body = {"cadre_id": cadre, "rule_code": "P01", "year": 2025, "occurred_on": "2025-05-01"}
                resp = await client.post("/api/v1/scoring/entries", headers=admin, json=body)
                if resp.status_code != 201:
                    return None  # the cadre has not reached scoring yet
                out.append(resp.json()["id"])
            return out

        entries = await _eventually(proposed, what="the cadre in scoring")

        # Which replica's relay holds the lease? Approve on the other one, kill the holder.
        async with httpx.AsyncClient() as probe:
            holder = "scoring" if (await _health(probe, prod, "scoring"))["relay"]["active"] else "scoring#2"
        other = "scoring#2" if holder == "scoring" else "scoring"
        base = f"http://127.0.0.1:{_port(prod, other)}"
        for i, entry in enumerate(entries):
            if i == 4:
                prod.kill(holder)
            resp = await client.post(f"{base}/api/v1/scoring/entries/{entry}/approve", headers=officer)
            assert resp.status_code == 200, resp.text

    changes = await _read_changes(prod, cadre, want=len(entries))
    totals = [(c["previous_total"], c["total"]) for c in changes]
    assert [t for _, t in totals] == [f"{0.6 * (i + 1):.2f}" for i in range(len(entries))]
    assert all(prev == totals[i - 1][1] for i, (prev, _) in enumerate(totals) if i)
    print(f"\nrelay failover: produced {len(entries)} score changes, delivered {len(changes)} in order, lost 0")


async def _read_changes(prod: System, cadre: str, want: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        "scoring.events",
        **_reach(prod),
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    seen: dict[str, dict[str, Any]] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 90
        while len(seen) < want and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for m in batch:
                    event = parse(m.value)
                    if event["type"] == "scoring.score.changed" and event["data"]["cadre_id"] == cadre:
                        # At least once: a relay that crashed between publishing and marking
                        # may have its rows published again by the next; the id tells.
                        seen.setdefault(event["id"], event["data"])
    finally:
        await consumer.stop()
    return list(seen.values())
