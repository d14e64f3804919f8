"""A bounded mixed load through the gateway for 60 s (loopback only), as the portal would
put it: reads and writes across the services. Prints the error rate, p50/p99, and each
process's memory in the first and the last 20 s; fails on any server error or on memory
that keeps growing. ``make soak`` runs it; ``make test`` runs a 10 s version.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadrekit.testing.plugin import free_port
from deploy.launcher import SERVICES, Layout, System
from tests.e2e.support import token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e
CLIENTS = 16


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _load(system: System, seconds: float) -> dict[str, Any]:
    births = itertools.count()
    latencies: list[float] = []
    codes: dict[int, int] = {}
    rss: dict[str, list[float]] = {name: [] for name in system.procs if name != "broker"}
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {await token(client, system)}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=auth, json={"name": "压测局", "kind": "city_organ"})
        ).json()
        draft = (await client.post("/api/v1/scoring/catalogues/2025/drafts", headers=auth)).json()
        await client.post(f"/api/v1/scoring/catalogues/{draft['id']}/publish", headers=auth)
        cadres: list[str] = []
        start = time.monotonic()
        stop = start + seconds

        async def call(method: str, url: str, **kw: Any) -> httpx.Response:
            t = time.perf_counter()
            resp = await client.request(method, url, headers=auth, **kw)
            latencies.append((time.perf_counter() - t) * 1000)
            codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
            return resp

        async def worker(n: int) -> None:
            step = 0
            while time.monotonic() < stop:
                step += 1
                kind = (n + step) % 6
                if kind == 0 or not cadres:
                    birth = dt.date(1960, 1, 1) + dt.timedelta(days=next(births))
                    made = await call("POST", "/api/v1/roster/cadres", json=cadre_body(unit["id"], birth_date=birth))
                    if made.status_code == 201:
                        cadres.append(made.json()["id"])
                elif kind == 1:
                    await call("GET", "/api/v1/roster/cadres", params={"unit_id": unit["id"], "limit": 20})
                elif kind == 2:
                    await call("GET", f"/api/v1/roster/cadres/{cadres[step % len(cadres)]}")
                elif kind == 3:
                    await call("GET", "/api/v1/scoring/rankings", params={"year": 2025, "limit": 20})
                elif kind == 4:
                    body = {
                        "cadre_id": cadres[step % len(cadres)],
                        "rule_code": "P01",
                        "year": 2025,
                        "occurred_on": "2025-06-01",
                    }
                    await call("POST", "/api/v1/scoring/entries", json=body)  # 422 until scoring has the cadre
                else:
                    await call("GET", "/api/v1/matching/campaigns")

        async def sample() -> None:
            while time.monotonic() < stop:
                for name, proc in system.procs.items():
                    if name in rss and proc.poll() is None:
                        rss[name].append(_rss_mb(proc.pid))
                await asyncio.sleep(1)

        await asyncio.gather(sample(), *(worker(i) for i in range(CLIENTS)))
        elapsed = time.monotonic() - start
    latencies.sort()
    third = max(1, len(next(iter(rss.values()))) // 3)
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "codes": codes,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "memory": {n: (sum(v[:third]) / third, sum(v[-third:]) / third) for n, v in rss.items() if v},
    }


def _report(result: dict[str, Any], seconds: float) -> None:
    errors = sum(n for c, n in result["codes"].items() if c >= 500)
    print(
        f"\nmixed load {seconds:g} s, {CLIENTS} clients: {result['requests']} requests "
        f"({result['per_second']:.0f}/s), status {dict(sorted(result['codes'].items()))}, "
        f"server errors {errors} ({errors / result['requests']:.2%}), p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms"
    )
    for name, (first, last) in sorted(result["memory"].items()):
        print(f"  {name:12} RSS first third {first:6.1f} MB, last third {last:6.1f} MB ({last - first:+.1f})")


async def _run(tmp_path: Path, seconds: float) -> dict[str, Any]:
    layout = Layout(
        var=tmp_path,
        ports={n: free_port() for n in ("gateway", *SERVICES)},
        broker_port=free_port(),
        env={"GATEWAY_RATE_LIMIT_ENABLED": "false"},
    )
    system = System(layout)
    await asyncio.to_thread(system.start)
    try:
        return await _load(system, seconds)
    finally:
        await asyncio.to_thread(system.stop)


def _check(result: dict[str, Any]) -> None:
    assert not [c for c in result["codes"] if c >= 500], result["codes"]
    assert set(result["codes"]) <= {200, 201, 422}, result["codes"]
    for name, (first, last) in result["memory"].items():
        # Caches warm up early; a leak keeps climbing. 25 % over the first third is the bound.
        assert last <= first * 1.25 + 5, f"{name}: {first:.1f} MB → {last:.1f} MB"


async def test_a_short_mixed_load_has_no_server_error(tmp_path: Path) -> None:
    result = await _run(tmp_path, 10)
    _report(result, 10)
    _check(result)


@pytest.mark.soak
async def test_sixty_seconds_of_mixed_load(tmp_path: Path) -> None:
    result = await _run(tmp_path, 60)
    _report(result, 60)
    _check(result)
