"""PostgreSQL connections dropped under a running service: a clear 503 problem (never a
500), nothing half-written, and the service recovers by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadrekit.testing.plugin import Signer
from services.roster.app import create_app as create_roster
from tests.conftest import RosterHarness, roster_settings
from tests.factories import cadre_body
from tests.reliability.support import pg_fetch, terminate_backends


@pytest.fixture
async def roster_pg(pg_roster_db: str, signer: Signer, tmp_path: Path) -> AsyncIterator[RosterHarness]:
    app = create_roster(
        roster_settings(pg_roster_db, tmp_path / "keys"), key_source=signer.key_source, configure_logs=False
    )
    async with (
        app.router.lifespan_context(app),
        # as a server does: the error handler's answer reaches the client, the exception the log
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://roster"
        ) as client,
    ):
        yield RosterHarness(app, client, signer, app.state.runtime.settings)


def _assert_problem_503(resp: httpx.Response) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text)
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 503 and body["type"].endswith("/unavailable") and body["request_id"]
    assert "Traceback" not in resp.text and resp.headers["retry-after"]


async def test_a_dropped_pooled_connection_fails_one_request_with_503_then_recovers(roster_pg: RosterHarness) -> None:
    unit = await roster_pg.unit()
    url = f"/api/v1/roster/units/{unit['id']}"
    assert (await roster_pg.client.get(url, headers=roster_pg.auth())).status_code == 200  # a pooled connection
    assert await terminate_backends(roster_pg.settings.database_url) >= 1
    statuses = []
    for _ in range(5):
        resp = await roster_pg.client.get(url, headers=roster_pg.auth())
        statuses.append(resp.status_code)
        if resp.status_code == 503:
            _assert_problem_503(resp)
    # The dead connection fails at most the request that found it; the pool reconnects.
    assert statuses.count(503) <= 1 and statuses[1:] == [200] * 4, statuses


@pytest.mark.parametrize(("cut_off", "writes"), [(5, 40), pytest.param(60, 600, marks=pytest.mark.soak)])
async def test_connections_dropped_mid_request_leave_nothing_half_written(
    roster_pg: RosterHarness, cut_off: int, writes: int
) -> None:
    unit = await roster_pg.unit()
    db = roster_pg.settings.database_url
    results: list[tuple[str, httpx.Response]] = []
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            key = f"w{w}-{i}"
            body = cadre_body(unit["id"], birth_date=f"19{60 + (w * 7 + i) % 30}-0{1 + i % 9}-1{w % 9}")
            resp = await roster_pg.client.post(
                "/api/v1/roster/cadres", headers={**roster_pg.auth(), "Idempotency-Key": key}, json=body
            )
            results.append((key, resp))
            bodies[key] = body

    bodies: dict[str, dict[str, Any]] = {}
    writers = [asyncio.create_task(writer(w)) for w in range(6)]
    killed = 0
    try:
        # Keep dropping the connections until several requests were cut off (bounded).
        for _ in range(20 * cut_off):
            await asyncio.sleep(0.1)
            killed += await terminate_backends(db)
            if sum(1 for _, r in results if r.status_code == 503) >= cut_off and len(results) >= writes:
                break
    finally:
        stop.set()
        await asyncio.gather(*writers)
    statuses = [r.status_code for _, r in results]
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    failed = [(k, r) for k, r in results if r.status_code == 503]
    assert failed, "no request was cut off: the test proved nothing"
    for _, r in failed:
        _assert_problem_503(r)

    # The service recovers by itself, and a retry with the same key completes each failed write.
    retried = {}
    for key, _ in failed:
        resp = await roster_pg.client.post(
            "/api/v1/roster/cadres", headers={**roster_pg.auth(), "Idempotency-Key": key}, json=bodies[key]
        )
        retried[key] = resp.status_code
    assert set(retried.values()) == {201}, retried

    # Nothing half-written: every cadre has exactly its registration event and history, and
    # there is one cadre per write the clients made.
    cadres = {r[0] for r in await pg_fetch(db, "SELECT id FROM cadres")}
    events = await pg_fetch(db, "SELECT key, count(*) FROM outbox WHERE type = 'roster.cadre.registered' GROUP BY key")
    assert {r[0]: r[1] for r in events} == dict.fromkeys(cadres, 1)
    assert len(cadres) == len({k for k, _ in results})
    print(
        f"\n[PostgreSQL connections dropped] {len(results)} writes, {killed} connections terminated, "
        f"{len(failed)} answered 503 (then retried: 201), 0 answered 500, {len(cadres)} cadres with "
        f"{sum(r[1] for r in events)} events, 0 half-written"
    )
