"""Webhook latency benchmark: a scoring approval through the gateway → the subscriber's HTTP
server, beside approval → a plain Kafka consumer of the same event (the reference).

Run from the repository root::

    .venv/bin/python -m bench.webhook_latency [--quick]

One run starts the whole system the way ``make run`` does (``deploy.launcher.System``: the
Tansu broker, the four services and the gateway as uvicorn processes, the embedded SQLite
databases) in a temporary var directory on free ports, the gateway's rate limit switched off
through ``Layout.env``. Through the gateway, with the bootstrap admin client: a unit and a few
cadres (they reach scoring's mirror through ``roster.events``), the default catalogue for
2025 published, and the entries proposed. An officer client approves them.

This process then holds the subscriber: an aiohttp server on loopback, subscribed through
the gateway's API to ``scoring.score.changed``, answering 200 to every request (each one's
signature is checked), and two plain Kafka consumers of ``scoring.events`` (``group_id=None``,
every partition assigned at its end): one with the fetch wait the gateway's dispatcher uses
(``consumer_fetch_wait_ms``, the like-for-like reference), one with 10 ms (context).

The entries are approved one at a time, with random gaps around ``1/rate`` so the approvals
do not keep one phase against any poll. For each approval, from its HTTP response (the
approval is committed by then) to: the webhook request that carries its
``data.cause_entry_id`` arriving here, and each consumer seeing its event. Every clock is
this process's ``perf_counter``. The first approvals are a warm-up.

Printed: p50, p90, p99 and max of each delay, missing and repeated deliveries, the ratio
webhook ÷ consumer, PASS/MISS against the issue's goal (webhook p99 < 100 ms, informational).
The exit status is non-zero only if an approval fails, a delivery is missing or a signature
does not verify.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/webhook_latency.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

import httpx
import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.gateway_overhead import cadre_body, get_token, load_average, pct
from bench.results import Figures
from contracts import scoring, topics
from gateway.settings import GatewaySettings
from gateway.webhooks import signing

ROSTER = "/api/v1/roster"
SCORING = "/api/v1/scoring"
SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"
TOPIC = topics.SCORING
SCORE_CHANGED = scoring.ScoreChanged.TYPE
YEAR = 2025
RULES = ("P01", "P02")  # 0.6 points each, no cap: an approval is a plain approval
BENCH_ENV = {"GATEWAY_RATE_LIMIT_ENABLED": "false"}  # the seed's proposals come in a burst
CONTEXT_FETCH_WAIT_MS = 10
TARGET_P99_MS = 100.0


# ------------------------------------------------------------------------------------------
# the subscriber
class Receiver:
    """The outside subscriber: when each message's first request arrived, by cause entry."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[str, float] = {}
        self.requests = 0
        self.repeats = 0
        self.bad_signatures = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        body = await request.read()
        self.requests += 1
        try:
            signing.verify(self.secret, request.headers, body, now=int(time.time()))
        except signing.InvalidSignature:
            self.bad_signatures += 1
        entry_id = orjson.loads(body)["data"]["cause_entry_id"]
        if entry_id in self.arrived:
            self.repeats += 1  # at least once: a subscriber drops repeats by webhook-id
        self.arrived.setdefault(entry_id, at)
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


async def ready_consumer(bootstrap: str, fetch_wait_ms: int) -> AIOKafkaConsumer:
    """A consumer on every partition of the topic, positioned at its end before any approval."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest", fetch_max_wait_ms=fetch_wait_ms
    )
    await consumer.start()
    parts = None
    for _ in range(100):
        parts = consumer.partitions_for_topic(TOPIC) or None
        if parts:
            break
        await consumer.topics()  # refreshes the metadata
        await asyncio.sleep(0.1)
    if not parts:
        raise RuntimeError(f"{TOPIC} has no partitions")
    tps = [TopicPartition(TOPIC, p) for p in sorted(parts)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:
        await consumer.position(tp)
    return consumer


async def watch(consumer: AIOKafkaConsumer, seen: dict[str, float]) -> None:
    """When each approval's score.changed arrives (perf_counter, this process)."""
    async for msg in consumer:
        env = orjson.loads(msg.value) if msg.value else {}
        if env.get("type") == SCORE_CHANGED:
            seen.setdefault(env["data"]["cause_entry_id"], time.perf_counter())


# ------------------------------------------------------------------------------------------
# the seed, through the gateway as a portal would
async def client_headers(client: httpx.AsyncClient, admin: dict[str, str], role: str, name: str) -> dict[str, str]:
    made = await client.post("/api/v1/auth/clients", headers=admin, json={"name": name, "role": role})
    assert made.status_code == 201, made.text
    creds = {"client_id": made.json()["client_id"], "client_secret": made.json()["client_secret"]}
    return {"Authorization": f"Bearer {await get_token(client, creds)}"}


async def propose(client: httpx.AsyncClient, admin: dict[str, str], cadre_id: str, rule: str) -> str:
    body = {"cadre_id": cadre_id, "rule_code": rule, "year": YEAR, "occurred_on": f"{YEAR}-03-01", "evidence": "纪要"}
    for _ in range(150):  # the cadre reaches scoring through roster events: until its mirror has it
        resp = await client.post(f"{SCORING}/entries", headers=admin, json=body)
        if resp.status_code != 422 or resp.json()["errors"][0]["field"] != "cadre_id":
            break
        await asyncio.sleep(0.2)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def seed(client: httpx.AsyncClient, admin: dict[str, str], n_cadres: int, n_entries: int) -> list[str]:
    """A unit, `n_cadres` cadres, the year's catalogue and `n_entries` pending entries; their ids."""
    unit = await client.post(f"{ROSTER}/units", headers=admin, json={"name": "平湖市发改局", "kind": "city_organ"})
    assert unit.status_code == 201, unit.text
    cadres = []
    for i in range(n_cadres):
        made = await client.post(f"{ROSTER}/cadres", headers=admin, json=cadre_body(unit.json()["id"], i))
        assert made.status_code == 201, made.text
        cadres.append(made.json()["id"])
    draft = await client.post(f"{SCORING}/catalogues/{YEAR}/drafts", headers=admin)
    assert draft.status_code == 201, draft.text
    published = await client.post(f"{SCORING}/catalogues/{draft.json()['id']}/publish", headers=admin)
    assert published.status_code == 200, published.text
    return [await propose(client, admin, cadres[i % n_cadres], RULES[i % len(RULES)]) for i in range(n_entries)]


# ------------------------------------------------------------------------------------------
# the measurement
@dataclass
class Delays:
    webhook_ms: list[float]
    consumer_ms: dict[int, list[float]]  # by fetch_max_wait_ms
    approval_ms: list[float]  # the approval's own request, through the gateway
    missing: dict[str, int]
    receiver: Receiver
    failures: list[str] = field(default_factory=list)


async def measure(
    client: httpx.AsyncClient,
    officer: dict[str, str],
    ids: list[str],
    receiver: Receiver,
    bootstrap: str,
    fetch_waits: tuple[int, ...],
    rate: float,
    warmup: int,
) -> Delays:
    seen: dict[int, dict[str, float]] = {w: {} for w in fetch_waits}
    consumers = {w: await ready_consumer(bootstrap, w) for w in fetch_waits}
    watchers = [asyncio.create_task(watch(c, seen[w])) for w, c in consumers.items()]
    gaps = random.Random(18)
    answered: dict[str, float] = {}
    approval_ms: list[float] = []
    failures: list[str] = []
    try:
        for i, entry_id in enumerate(ids):
            await asyncio.sleep(gaps.uniform(0.5, 1.5) / rate)
            t0 = time.perf_counter()
            resp = await client.post(f"{SCORING}/entries/{entry_id}/approve", headers=officer)
            t1 = time.perf_counter()
            if resp.status_code != 200:
                failures.append(f"{resp.status_code} {resp.text[:200]}")
            elif i >= warmup:
                answered[entry_id] = t1
                approval_ms.append((t1 - t0) * 1000)
        expected = set(answered)
        deadline = time.perf_counter() + 15  # more than one poll of the slowest path
        while time.perf_counter() < deadline:
            if expected <= receiver.arrived.keys() and all(expected <= got.keys() for got in seen.values()):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a late repeat would still be counted
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for c in consumers.values():
            await c.stop()

    def delays(got: dict[str, float]) -> list[float]:
        return [(got[e] - t) * 1000 for e, t in answered.items() if e in got]

    webhook = delays(receiver.arrived)
    by_wait = {w: delays(got) for w, got in seen.items()}
    missing = {"webhook": len(answered) - len(webhook)} | {
        f"consumer {w} ms": len(answered) - len(d) for w, d in by_wait.items()
    }
    return Delays(webhook, by_wait, approval_ms, missing, receiver, failures)


async def run(layout: Any, args: argparse.Namespace, fetch_waits: tuple[int, ...]) -> Delays:
    receiver = Receiver()
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=layout.gateway_url, timeout=30) as client:
            creds = json.loads(layout.bootstrap_file.read_text())
            admin = {"Authorization": f"Bearer {await get_token(client, creds)}"}
            officer = await client_headers(client, admin, "officer", "干部科审核员")
            t0 = time.perf_counter()
            ids = await seed(client, admin, args.cadres, args.warmup + args.approvals)
            print(f"seeded {args.cadres} cadres and {len(ids)} pending entries in {time.perf_counter() - t0:.1f} s")
            made = await client.post(
                SUBSCRIPTIONS, headers=admin, json={"url": receiver.url, "event_types": [SCORE_CHANGED]}
            )
            assert made.status_code == 201, made.text
            receiver.secret = made.json()["secret"]
            print(f"approving {len(ids)} entries one at a time at ~{args.rate:g}/s ...", flush=True)
            return await measure(
                client,
                officer,
                ids,
                receiver,
                f"{layout.host}:{layout.broker_port}",
                fetch_waits,
                args.rate,
                args.warmup,
            )
    finally:
        await receiver.stop()


# ------------------------------------------------------------------------------------------
# the report
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def spread(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 0.5):7.1f}  p90 {pct(values, 0.9):7.1f}  p99 {pct(values, 0.99):7.1f}"
        f"  max {max(values, default=float('nan')):7.1f} ms"
    )


def report(args: argparse.Namespace, d: Delays, gateway_wait: int, load_start: str) -> None:
    settings = GatewaySettings()
    print()
    print("=== webhook latency: scoring approval → subscriber's HTTP server, beside a plain Kafka consumer ===")
    print(f"machine       {load_start} at start; {load_average()} at end")
    print("system        deploy.launcher.System as `make run` starts it: embedded SQLite, Tansu, 4 services + gateway")
    print(
        f"gateway       consumer_fetch_wait_ms={gateway_wait}, webhook_poll_seconds={settings.webhook_poll_seconds:g}, "
        f"webhook_concurrency={settings.webhook_concurrency} (as the processes read them)"
    )
    print(
        f"approvals     {len(d.approval_ms)} timed after {args.warmup} warm-up, one at a time at ~{args.rate:g}/s; "
        f"the approval request itself: p50 {pct(d.approval_ms, 0.5):.1f} ms, p99 {pct(d.approval_ms, 0.99):.1f} ms"
    )
    print("delay from the approval's HTTP response to:")
    print(f"  the webhook request arriving              {spread(d.webhook_ms)}")
    for wait, values in d.consumer_ms.items():
        label = f"a plain consumer, fetch wait {wait} ms"
        print(f"  {label:<42}{spread(values)}")
    ref = d.consumer_ms[gateway_wait]
    print(
        f"webhook / consumer (fetch wait {gateway_wait} ms, the dispatcher's): "
        f"p50 {pct(d.webhook_ms, 0.5) / pct(ref, 0.5):.2f}x, p99 {pct(d.webhook_ms, 0.99) / pct(ref, 0.99):.2f}x"
    )
    r = d.receiver
    print(
        f"missing {d.missing}; webhook requests {r.requests} ({r.repeats} repeats), bad signatures {r.bad_signatures}"
    )
    p99 = pct(d.webhook_ms, 0.99)
    print(f"goal: webhook p99 < {TARGET_P99_MS:.0f} ms   {p99:.1f} ms   {verdict(p99 < TARGET_P99_MS)}")
    for failure in d.failures:
        print(f"  FAILED APPROVAL: {failure}")
    print("(the goal is informational: the exit status reflects failed approvals, lost deliveries, bad signatures)")


def figures(d: Delays, gateway_wait: int) -> Figures:
    out = Figures("webhook_latency")
    ref = d.consumer_ms[gateway_wait]
    reference = f"approval → plain Kafka consumer, fetch wait {gateway_wait} ms (the dispatcher's), same run"
    p99 = pct(d.webhook_ms, 0.99)
    out.add(
        "webhook delay p99, approval → subscriber's server, embedded",
        p99,
        "ms",
        reference=reference,
        reference_value=pct(ref, 0.99),
        note=f"goal p99 < {TARGET_P99_MS:.0f} ms: {verdict(p99 < TARGET_P99_MS)}; {d.missing['webhook']} missing",
    )
    out.add(
        "webhook delay p50, approval → subscriber's server, embedded",
        pct(d.webhook_ms, 0.5),
        "ms",
        reference=reference,
        reference_value=pct(ref, 0.5),
    )
    for wait, values in d.consumer_ms.items():
        if wait != gateway_wait:
            out.add(
                f"approval → plain Kafka consumer p99, fetch wait {wait} ms (context)",
                pct(values, 0.99),
                "ms",
                note=f"p50 {pct(values, 0.5):.1f} ms",
            )
    return out


# ------------------------------------------------------------------------------------------
def bench(args: argparse.Namespace, tmp: Path) -> int:
    from cadrekit.testing.plugin import free_port
    from deploy.launcher import SERVICES, Layout, System

    load_start = load_average()
    gateway_wait = GatewaySettings().consumer_fetch_wait_ms
    fetch_waits = tuple(dict.fromkeys((gateway_wait, CONTEXT_FETCH_WAIT_MS)))
    layout = Layout(
        var=tmp / "var", ports={n: free_port() for n in ("gateway", *SERVICES)}, broker_port=free_port(), env=BENCH_ENV
    )
    system = System(layout, log_dir=tmp / "logs")
    try:
        t0 = time.perf_counter()
        system.start()
        print(f"system started in {time.perf_counter() - t0:.1f} s", flush=True)
        d = asyncio.run(run(layout, args, fetch_waits))
    finally:
        system.stop()
    print(f"stopped the system (logs were in {system.log_dir})")
    report(args, d, gateway_wait, load_start)
    failed = bool(d.failures or any(d.missing.values()) or d.receiver.bad_signatures)
    result = figures(d, gateway_wait)
    result.extra["ok"] = not failed
    result.write(args.json)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 timed approvals")
    parser.add_argument("--approvals", type=int, default=300, help="timed approvals")
    parser.add_argument("--warmup", type=int, default=10, help="untimed approvals first")
    parser.add_argument("--rate", type=float, default=10.0, help="approvals per second, on average")
    parser.add_argument("--cadres", type=int, default=10, help="cadres the entries are spread over")
    parser.add_argument("--log-dir", type=Path, help="keep the var directory and process logs here")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.approvals = 100
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        return bench(args, args.log_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="webhook_bench_") as tmp:
        return bench(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
