"""Scoring approvals benchmark: the approve path over HTTP against bare asyncpg, and the
delay from an approval to its ``scoring.score.changed`` event on Kafka.

Run from the repository root::

    .venv/bin/python -m bench.scoring_throughput [--quick] [--profile]

One run starts the Tansu broker, migrates a template PostgreSQL database, seeds it
in-process (a roster mirror of N cadres, the default catalogue published for 2025, two
pending entries per cadre proposed by ``hr-1`` through the API) and clones it per phase:

1. approvals/s with ONE service process: the real service under uvicorn
   (``python -m uvicorn services.scoring.app:create_app --factory``, PostgreSQL, Kafka on,
   the outbox relay publishing), tokens checked against a JWKS this script serves; the
   pending entries, shuffled, approved by ``officer-a`` from concurrent clients (httpx
   over aiohttp, as the gateway's proxy); the service's CPU time per approval is shown;
2. the same with TWO service processes, the client alternating between their ports;
3. references on bare asyncpg (one connection, sequential): a single-row INSERT + COMMIT,
   the approval's writes (lock the total, update the entry, update the total, two outbox
   rows) and the same with the read the service makes first; for context, the
   writes on as many connections as the HTTP clients;
4. the delay from an approval's HTTP response to a Kafka consumer in this process seeing
   its ``scoring.score.changed`` (matched on ``data.cause_entry_id``), approvals sent one
   at a time at a moderate rate, with one and with two service processes.

``--profile`` adds a one-process run with the service under cProfile for the timed window.
Targets (informational; the exit status is 0 unless approvals fail): >= 600 approvals/s
with one process, p99 delay < 100 ms. Every database it creates is dropped at the end.
The admin connection is ``BENCH_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``).
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import io
import json
import os
import pstats
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/scoring_throughput.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from httpx_aiohttp import AiohttpTransport

from bench.results import Figures
from cadrekit.migrate import upgrade
from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.testing.plugin import Signer, TansuBroker, free_port
from contracts import scoring, topics
from contracts.envelope import dumps, envelope
from services.scoring.app import MIGRATIONS, create_app
from services.scoring.models import mirror
from services.scoring.settings import ScoringSettings

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
API = "/api/v1/scoring"
YEAR = 2025
RULES = ("P01", "P02")  # 0.6 points each, no cap, no sanction: the plain approval
TOPIC = topics.SCORING
SCORE_CHANGED = scoring.ScoreChanged.TYPE
TARGET_PER_S = 600.0
TARGET_P99_MS = 100.0
ISSUE_REFERENCES = (  # per second, from the issue
    ("the approval's transaction shape, bare asyncpg", 1300),
    ("the same through SQLAlchemy Core", 540),
    ("the same through the ORM", 450),
    ("pgbench, 4 clients", 4100),
)
# The delay probe's two consumers: aiokafka's default fetch wait (what cadrekit's consumers use)
# and a short one. Tansu answers a waiting fetch late when data arrives, so the wait shows.
FETCH_WAITS_MS = (500, 10)


# ------------------------------------------------------------------------------------------
# databases
def admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL)


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


class Databases:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return f"{admin_url().rpartition('/')[0]}/{name}"

    async def create(self, suffix: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{suffix}"
        conn = await asyncpg.connect(dsn(admin_url()))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            await conn.close()
        self.created.append(name)
        return name

    async def drop_all(self) -> None:
        conn = await asyncpg.connect(dsn(admin_url()))
        try:
            for name in reversed(self.created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()


async def pending_entries(url: str) -> list[tuple[str, str]]:
    """(entry id, cadre id) of every pending entry, shuffled the same way every run."""
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch("SELECT id, cadre_id FROM entries WHERE status = 'pending' ORDER BY id")
    finally:
        await conn.close()
    out = [(r["id"], r["cadre_id"]) for r in rows]
    random.Random(7).shuffle(out)
    return out


async def approved_counts(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn(url))
    try:
        approved = await conn.fetchval("SELECT count(*) FROM entries WHERE status = 'approved'")
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE type = $1", SCORE_CHANGED)
    finally:
        await conn.close()
    return approved, events


# ------------------------------------------------------------------------------------------
# seeding, in-process through the API (conftest's ScoringHarness does the same)
def unit_state(name: str, parent: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    unit_id = str(uuid.uuid4())
    return {
        "unit_id": unit_id,
        "name": name,
        "kind": kind,
        "region": "平湖",
        "body": None,
        "parent_id": parent["unit_id"] if parent else None,
        "path": (parent["path"] if parent else "/") + unit_id + "/",
        "version": 1,
    }


def cadre_state(i: int, unit: dict[str, Any]) -> dict[str, Any]:
    return {
        "cadre_id": str(uuid.uuid4()),
        "version": 1,
        "name": f"干部{i:05d}",
        "gender": "male" if i % 3 else "female",
        "birth_date": f"{1970 + i % 30}-05-01",
        "unit_id": unit["unit_id"],
        "post_title": "科员",
        "rank": None,
        "party_member": True,
        "education": None,
        "years_of_service": 10 + i % 20,
        "grassroots_periods": [],
        "grassroots_years": "0.0",
        "strengths": [],
        "post_wishes": [],
        "professional_field": None,
        "willingness": {},
        "leadership_status": "non_leading",
        "health": "healthy",
        "retirement_date": f"{2030 + i % 30}-05-01",
        "status": "active",
    }


async def seed(url: str, signer: Signer, n_cadres: int) -> None:
    settings = ScoringSettings(database_url=url, kafka_enabled=False, mode="test")
    app = create_app(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        async with app.state.context.runtime.sessions() as s:
            city = unit_state("平湖市", None, "city")
            units = [unit_state(f"单位{k:02d}", city, "city_organ") for k in range(20)]
            for u in (city, *units):
                await upsert_unit(s, mirror, u)
            cadres = [cadre_state(i, units[i % len(units)]) for i in range(n_cadres)]
            for c in cadres:
                await upsert_cadre(s, mirror, c)
            await s.commit()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring", timeout=60) as client:
            admin = signer.headers("admin", sub="admin-1", ttl=7200)
            draft = await client.post(f"{API}/catalogues/{YEAR}/drafts", headers=admin)
            pub = await client.post(f"{API}/catalogues/{draft.json()['id']}/publish", headers=admin)
            assert pub.status_code == 200, pub.text
            hr = signer.headers("officer", sub="hr-1", ttl=7200)
            gate = asyncio.Semaphore(16)

            async def propose(cadre_id: str, rule: str) -> None:
                body = {"cadre_id": cadre_id, "rule_code": rule, "year": YEAR, "occurred_on": f"{YEAR}-03-01"}
                async with gate:
                    resp = await client.post(f"{API}/entries", json={**body, "evidence": "会议纪要"}, headers=hr)
                assert resp.status_code == 201, resp.text

            await asyncio.gather(*(propose(c["cadre_id"], rule) for c in cadres for rule in RULES))


# ------------------------------------------------------------------------------------------
# the service processes
def serve_jwks(signer: Signer) -> tuple[ThreadingHTTPServer, str]:
    """The gateway's part: a JWKS with the signer's public key, as CADRE_JWKS_URL expects."""
    raw = signer.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    body = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": signer.kid, "alg": "EdDSA"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def service_env(db_url: str, jwks_url: str, bootstrap: str) -> dict[str, str]:
    """What the service reads (ScoringSettings: SCORING_* first, then CADRE_*)."""
    return {
        "SCORING_DATABASE_URL": db_url,
        "CADRE_MODE": "production",
        "CADRE_KAFKA_ENABLED": "true",
        "CADRE_KAFKA_BOOTSTRAP": bootstrap,
        "CADRE_JWKS_URL": jwks_url,
        "PYTHONUNBUFFERED": "1",
    }


# uvicorn as `python -m uvicorn ... --factory` runs it, with cProfile switched on and off by
# SIGUSR1 / SIGUSR2 (the second writes the stats), so only the timed window is profiled.
PROFILED_SERVICE = """
import cProfile, signal, sys, uvicorn
prof = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: (prof.disable(), prof.dump_stats(sys.argv[1])))
uvicorn.run("services.scoring.app:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[2]),
            access_log=False, timeout_graceful_shutdown=10, timeout_keep_alive=75)
"""


def spawn(env: dict[str, str], log_dir: Path, profile_to: Path | None = None) -> Service:
    """One service process, started the way deploy/launcher.py starts it (or the profiled twin)."""
    port = free_port()
    if profile_to is None:
        argv = [sys.executable, "-m", "uvicorn", "services.scoring.app:create_app", "--factory", "--host", "127.0.0.1"]
        argv += [
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "10",
            "--timeout-keep-alive",
            "75",
        ]
    else:
        argv = [sys.executable, "-c", PROFILED_SERVICE, str(profile_to), str(port)]
    with open(log_dir / f"scoring-{port}.log", "ab") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    return Service(proc, port)


@contextlib.asynccontextmanager
async def running_services(
    n: int, env: dict[str, str], log_dir: Path, profile_to: Path | None = None
) -> AsyncIterator[list[Service]]:
    services: list[Service] = []
    try:
        for _ in range(n):
            services.append(spawn(env, log_dir, profile_to))
        await wait_ready(services)
        yield services
    finally:
        for svc in services:
            svc.proc.send_signal(signal.SIGTERM)
        for svc in services:
            try:
                await asyncio.to_thread(svc.proc.wait, 20)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait()


async def wait_ready(services: list[Service], timeout: float = 60) -> None:
    """Each process ready (database migrated), and one relay holding the lease with the broker up."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        for svc in services:
            while True:
                if svc.proc.poll() is not None:
                    raise RuntimeError(f"the service on port {svc.port} exited ({svc.proc.returncode}); see its log")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{svc.url}/ready")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the service on port {svc.port} was not ready in {timeout:g} s")
                await asyncio.sleep(0.1)
        while time.monotonic() < deadline:
            relays = [(await client.get(f"{svc.url}/health")).json()["relay"] for svc in services]
            if any(r["active"] and r["broker"] == "up" for r in relays):
                return
            await asyncio.sleep(0.1)
    raise TimeoutError("no outbox relay connected to the broker")


async def relay_backlog(services: list[Service]) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        return int((await client.get(f"{services[0].url}/health")).json()["relay"]["backlog"])


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def client_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


# ------------------------------------------------------------------------------------------
# 1, 2: approvals per second
@dataclass
class Throughput:
    processes: int
    approvals: int
    seconds: float
    failures: Counter[str]
    latencies_ms: list[float]
    service_cpu_s: float
    client_cpu_s: float
    machine_busy: float
    backlog_after: int
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.approvals / self.seconds


def http_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """httpx over aiohttp, as gateway/proxy.py does: httpx's own transport costs ~1.6 ms of CPU
    per request here (the bench would take a core from the service), aiohttp's ~0.25 ms."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, transport=AiohttpTransport(limits=limits), timeout=60)


async def approve_all(
    clients: list[httpx.AsyncClient], ids: list[str], headers: dict[str, str], concurrency: int
) -> tuple[Counter[str], list[float]]:
    """Approve every id from `concurrency` workers, alternating between the clients (ports)."""
    work: Iterator[tuple[int, str]] = iter(enumerate(ids))
    failures: Counter[str] = Counter()
    latencies: list[float] = []

    async def worker() -> None:
        for i, entry_id in work:
            t0 = time.perf_counter()
            resp = await clients[i % len(clients)].post(f"{API}/entries/{entry_id}/approve", headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            if resp.status_code != 200:
                failures[f"{resp.status_code} {resp.text[:120]}"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures, latencies


async def throughput(
    services: list[Service], ids: list[str], signer: Signer, concurrency: int, warmup: int, profiled: bool = False
) -> Throughput:
    headers = signer.headers("officer", sub="officer-a", ttl=7200)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(http_client(s.url, concurrency)) for s in services]
        await approve_all(clients, ids[:warmup], headers, concurrency)  # pools, caches, the JWKS fetch
        timed = ids[warmup:]
        cpu0, client0, (busy0, total0) = sum(s.cpu_seconds() for s in services), client_cpu(), machine_cpu()
        if profiled:
            services[0].proc.send_signal(signal.SIGUSR1)
        t0 = time.perf_counter()
        failures, latencies = await approve_all(clients, timed, headers, concurrency)
        seconds = time.perf_counter() - t0
        if profiled:
            services[0].proc.send_signal(signal.SIGUSR2)
        cpu1, client1, (busy1, total1) = sum(s.cpu_seconds() for s in services), client_cpu(), machine_cpu()
    return Throughput(
        processes=len(services),
        approvals=len(timed) - sum(failures.values()),
        seconds=seconds,
        failures=failures,
        latencies_ms=latencies,
        service_cpu_s=cpu1 - cpu0,
        client_cpu_s=client1 - client0,
        machine_busy=(busy1 - busy0) / max(total1 - total0, 1.0),
        backlog_after=await relay_backlog(services),
        peak_rss_mb=[s.peak_rss_mb() for s in services],
    )


# ------------------------------------------------------------------------------------------
# 3: bare asyncpg references
LOCK_TOTAL = (
    "INSERT INTO totals (cadre_id, year, total, positive, negative, seq, updated_at)"
    " VALUES ($1, $2, 0, 0, 0, 0, now()) ON CONFLICT (cadre_id, year) DO UPDATE SET seq = totals.seq"
    " RETURNING total, positive, negative, seq, catalogue_version"
)
CLAIM_ENTRY = (
    "UPDATE entries SET status = 'approved', decided_by = $2, decided_at = now(), decision_note = NULL,"
    " catalogue_version = 1, rule_points = 60, points = 60, capped = false, seq = $3, version = version + 1"
    " WHERE id = $1 AND status = 'pending'"
)
MOVE_TOTAL = (
    "UPDATE totals SET total = $3, positive = $4, negative = $5, seq = $6, catalogue_version = 1,"
    " updated_at = now() WHERE cadre_id = $1 AND year = $2"
)
OUTBOX_TWO = (
    "INSERT INTO outbox (event_id, topic, key, type, payload, created_at)"
    " VALUES ($1, $3, $4, 'scoring.entry.approved', $5, now()), ($2, $3, $4, 'scoring.score.changed', $6, now())"
)
# The service's one read (as of eecdbe8): the entry with the version in force, in one round trip.
READ_ENTRY = (
    "SELECT e.*, (SELECT max(version) FROM catalogues c WHERE c.year = e.year AND c.status = 'published')"
    " FROM entries e WHERE e.id = $1"
)


def event_payload(kind: str, entry_id: str, cadre_id: str) -> str:
    """The service's envelopes for one approval, built from the same models (before the clock starts)."""
    points = Decimal("0.60")
    model: scoring.EntryApproved | scoring.ScoreChanged
    if kind == "approved":
        model = scoring.EntryApproved(
            entry_id=entry_id,
            cadre_id=cadre_id,
            unit_id=cadre_id,
            year=YEAR,
            rule_code="P01",
            direction="positive",
            points=points,
            catalogue_version=1,
            occurred_on=dt.date(YEAR, 6, 30),
        )
    else:
        model = scoring.ScoreChanged(
            cadre_id=cadre_id,
            year=YEAR,
            total=points,
            previous_total=Decimal(0),
            delta=points,
            cause_entry_id=entry_id,
            cause="approval",
            catalogue_version=1,
        )
    return dumps(envelope("scoring", model.event())).decode()


async def approval_shape(
    conn: asyncpg.Connection, entry_id: str, cadre_id: str, payloads: tuple[str, str], reads: bool
) -> None:
    async with conn.transaction():
        if reads:
            await conn.fetchrow(READ_ENTRY, entry_id)
        held = await conn.fetchrow(LOCK_TOTAL, cadre_id, YEAR)
        seq = held["seq"] + 1
        status = await conn.execute(CLAIM_ENTRY, entry_id, "officer-a", seq)
        assert status == "UPDATE 1", status
        await conn.execute(MOVE_TOTAL, cadre_id, YEAR, held["total"] + 60, held["positive"] + 60, held["negative"], seq)
        await conn.execute(OUTBOX_TWO, str(uuid.uuid4()), str(uuid.uuid4()), TOPIC, cadre_id, *payloads)


@dataclass
class Reference:
    single_insert_per_s: float
    shape_per_s: float
    shape_reads_per_s: float
    shape_concurrent_per_s: float
    concurrency: int
    transactions: int


async def references(url: str, n: int, concurrency: int) -> Reference:
    todo = await pending_entries(url)
    n = min(n, (len(todo) - 20) // 3)
    payloads = {e: (event_payload("approved", e, c), event_payload("changed", e, c)) for e, c in todo}
    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute("CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, v text NOT NULL)")
        for i, (e, c) in enumerate(todo[3 * n : 3 * n + 20]):  # warm-up: prepared statements, caches
            await approval_shape(conn, e, c, payloads[e], reads=i % 2 == 0)
            await conn.execute("INSERT INTO bench_scratch (v) VALUES ($1)", "warm-up")
        t0 = time.perf_counter()
        for i in range(n):
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_scratch (v) VALUES ($1)", f"row {i}")
        single = n / (time.perf_counter() - t0)
        rates = []
        for reads, batch in ((False, todo[:n]), (True, todo[n : 2 * n])):
            t0 = time.perf_counter()
            for e, c in batch:
                await approval_shape(conn, e, c, payloads[e], reads)
            rates.append(n / (time.perf_counter() - t0))
    finally:
        await conn.close()
    pool = await asyncpg.create_pool(dsn(url), min_size=concurrency, max_size=concurrency)
    try:
        work = iter(todo[2 * n : 3 * n])

        async def worker() -> None:
            for e, c in work:
                async with pool.acquire() as pconn:
                    await approval_shape(pconn, e, c, payloads[e], False)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        concurrent = n / (time.perf_counter() - t0)
    finally:
        await pool.close()
    return Reference(single, rates[0], rates[1], concurrent, concurrency, n)


# ------------------------------------------------------------------------------------------
# 4: delay from approval to the event on Kafka
@dataclass
class Delay:
    processes: int
    delays_ms: dict[int, list[float]]  # by the consumer's fetch_max_wait_ms
    missing: dict[int, int]
    response_ms: list[float]
    relay_ms: list[float]  # outbox created_at -> published_at (broker acked), from the database


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


async def watch(consumer: AIOKafkaConsumer, seen: dict[str, float], expected: set[str], done: asyncio.Event) -> None:
    """When each approval's score.changed arrives (perf_counter, this process)."""
    async for msg in consumer:
        env = orjson.loads(msg.value) if msg.value else {}
        if env.get("type") == SCORE_CHANGED:
            seen.setdefault(env["data"]["cause_entry_id"], time.perf_counter())
            if expected <= seen.keys():
                done.set()


async def measure_delay(
    services: list[Service], ids: list[str], signer: Signer, bootstrap: str, rate: float, db_url: str
) -> Delay:
    """Approvals one at a time at `rate`/s; two consumers watch for their events side by side."""
    expected = set(ids)
    seen: dict[int, dict[str, float]] = {w: {} for w in FETCH_WAITS_MS}
    done = {w: asyncio.Event() for w in FETCH_WAITS_MS}
    consumers = {w: await ready_consumer(bootstrap, w) for w in FETCH_WAITS_MS}
    watchers = [asyncio.create_task(watch(c, seen[w], expected, done[w])) for w, c in consumers.items()]
    headers = signer.headers("officer", sub="officer-a", ttl=7200)
    answered: dict[str, float] = {}
    response_ms = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(http_client(s.url, 1)) for s in services]
            for c in clients:  # connections, off the clock
                await c.get("/ready")
            start = time.perf_counter()
            for i, entry_id in enumerate(ids):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                t0 = time.perf_counter()
                resp = await clients[i % len(clients)].post(f"{API}/entries/{entry_id}/approve", headers=headers)
                answered[entry_id] = time.perf_counter()
                response_ms.append((answered[entry_id] - t0) * 1000)
                assert resp.status_code == 200, resp.text
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(d.wait() for d in done.values())), timeout=10)
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for c in consumers.values():
            await c.stop()
    delays = {w: [(got[e] - t) * 1000 for e, t in answered.items() if e in got] for w, got in seen.items()}
    missing = {w: len(answered) - len(d) for w, d in delays.items()}
    return Delay(len(services), delays, missing, response_ms, await relay_times(db_url, expected))


async def relay_times(url: str, ids: set[str]) -> list[float]:
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT payload, created_at, published_at FROM outbox WHERE type = $1 AND published_at IS NOT NULL",
            SCORE_CHANGED,
        )
    finally:
        await conn.close()
    return [
        (r["published_at"] - r["created_at"]).total_seconds() * 1000
        for r in rows
        if orjson.loads(r["payload"])["data"]["cause_entry_id"] in ids
    ]


# ------------------------------------------------------------------------------------------
# --profile: one more one-process run with the service under cProfile
AREAS = (  # (label, path fragments), first match wins
    ("SQLAlchemy", ("/sqlalchemy/", "/sqlmodel/")),
    ("asyncpg", ("/asyncpg/",)),
    ("FastAPI, Starlette, pydantic", ("/fastapi/", "/starlette/", "/pydantic", "/anyio/")),
    ("uvicorn, httptools", ("/uvicorn/", "/httptools/", "/h11/")),
    ("logging", ("/logging/", "/cadrekit/logs.py")),
    ("aiokafka", ("/aiokafka/", "/kafka/")),
    ("jwt, cryptography", ("/jwt/", "/cryptography/")),
    ("cadrekit", ("/cadrekit/",)),
    ("services.scoring", ("/services/",)),
    ("asyncio, uvloop", ("/asyncio/", "/uvloop/")),
    ("built-ins and C methods (socket I/O ...)", ("~",)),
)


def print_profile(path: Path, run: Throughput) -> None:
    stats = pstats.Stats(str(path))
    areas: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        label = next((lab for lab, frags in AREAS if any(f in filename for f in frags)), "other")
        areas[label] += tottime
    total = sum(areas.values())
    print(f"\n=== --profile: the service under cProfile, {run.approvals} timed approvals ===")
    print(f"{run.per_s:.0f} approvals/s under the profiler; own time by area (the timed window only):")
    for label, seconds in areas.most_common():
        print(f"  {label:<44}{seconds:7.2f} s  {seconds / total:5.1%}")
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


# ------------------------------------------------------------------------------------------
# the report
def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_throughput(run: Throughput) -> None:
    label = f"{run.processes} process{'es' if run.processes > 1 else ''}"
    print(f"approvals/s, {label:<12}            {run.per_s:8.0f}   ({run.approvals} in {run.seconds:.2f} s)")
    lat = run.latencies_ms
    print(f"  request ms p50 / p99 / max            {pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} / {max(lat):.1f}")
    print(
        f"  CPU ms per approval: service {run.service_cpu_s * 1000 / run.approvals:.2f}, "
        f"bench client {run.client_cpu_s * 1000 / run.approvals:.2f}; machine busy {run.machine_busy:.0%}"
    )
    print(f"  peak RSS of the service process(es)    {', '.join(f'{m:.0f} MB' for m in run.peak_rss_mb)}")
    print(f"  outbox backlog right after the run     {run.backlog_after}")
    if run.failures:
        print(f"  FAILURES: {dict(run.failures)}")


def print_delay(d: Delay) -> None:
    label = f"{d.processes} process{'es' if d.processes > 1 else ''}"
    for wait, delays in d.delays_ms.items():
        p99 = pct(delays, 0.99)
        print(
            f"delay approval -> consumer, {label:<11} fetch wait {wait:>3} ms: p50 {pct(delays, 0.5):6.1f} ms  "
            f"p99 {p99:6.1f} ms  max {max(delays, default=float('nan')):6.1f} ms  ({d.missing[wait]} missing)"
            f"  target p99 < {TARGET_P99_MS:.0f} ms: {verdict(p99 < TARGET_P99_MS and not d.missing[wait])}"
        )
    print(
        f"  outbox row -> broker ack (database)   p50 {pct(d.relay_ms, 0.5):6.1f} ms  p99 {pct(d.relay_ms, 0.99):6.1f} ms"
        f"   approval response p50 {pct(d.response_ms, 0.5):.1f} ms, p99 {pct(d.response_ms, 0.99):.1f} ms"
    )


def figures(runs: list[Throughput], ref: Reference, delays: list[Delay]) -> Figures:
    out = Figures("scoring_throughput")
    for run in runs:
        label = f"{run.processes} process{'es' if run.processes > 1 else ''}"
        out.add(
            f"scoring approvals/s, {label}",
            run.per_s,
            "/s",
            reference="bare asyncpg, the approval's writes, 1 connection",
            reference_value=ref.shape_per_s,
            note=f"p99 {pct(run.latencies_ms, 0.99):.1f} ms; "
            f"service CPU {run.service_cpu_s * 1000 / max(run.approvals, 1):.2f} ms/approval",
        )
    out.add(
        "bare asyncpg single-row INSERT + COMMIT (context)",
        ref.single_insert_per_s,
        "/s",
    )
    for d in delays:
        label = f"{d.processes} process{'es' if d.processes > 1 else ''}"
        for wait, delays_ms in d.delays_ms.items():
            out.add(
                f"event delay p99, approval → consumer, {label}, fetch wait {wait} ms",
                pct(delays_ms, 0.99),
                "ms",
                reference="issue target p99 (quoted)",
                reference_value=TARGET_P99_MS,
                note=f"p50 {pct(delays_ms, 0.5):.1f} ms; {d.missing[wait]} missing",
            )
        out.add(
            f"outbox row → broker ack p99, {label}",
            pct(d.relay_ms, 0.99),
            "ms",
            note=f"p50 {pct(d.relay_ms, 0.5):.1f} ms",
        )
    return out


def report(
    args: argparse.Namespace, runs: list[Throughput], ref: Reference, delays: list[Delay], load_start: str
) -> None:
    one = runs[0]
    defaults = ScoringSettings()
    print()
    print("=== scoring approvals benchmark (PostgreSQL, uvicorn processes, Kafka on via Tansu) ===")
    print(f"machine                                 {load_start} at start; {load()} at end")
    print(f"cadres x pending entries                {args.cadres} x {len(RULES)} ({', '.join(RULES)}, year {YEAR})")
    print(f"HTTP clients                            {args.concurrency} concurrent, warm-up {args.warmup} per process")
    print(
        f"service settings                        outbox_poll_seconds={defaults.outbox_poll_seconds} "
        f"outbox_batch_size={defaults.outbox_batch_size} broker_check_seconds={defaults.broker_check_seconds} "
        f"(defaults), log level {defaults.log_level} JSON, uvicorn --no-access-log"
    )
    for run in runs:
        print_throughput(run)
    if len(runs) > 1:
        print(f"  two processes / one                   {runs[1].per_s / one.per_s:.2f}x")
    print(f"target: >= {TARGET_PER_S:.0f} approvals/s, one process     {verdict(one.per_s >= TARGET_PER_S)}")
    print()
    print(f"bare asyncpg, one connection, sequential ({ref.transactions} transactions each, same run):")
    rows = (
        ("single-row INSERT + COMMIT", ref.single_insert_per_s),
        ("approval's writes (lock, entry, total, 2 outbox rows)", ref.shape_per_s),
        ("the same + its read of the entry and version in force", ref.shape_reads_per_s),
        (f"approval's writes on {ref.concurrency} connections (context)", ref.shape_concurrent_per_s),
    )
    for label, rate in rows:
        ratio = "  ".join(f"{r.processes}p {r.per_s / rate:.2f}x" for r in runs)
        print(f"  {label:<56}{rate:8.0f}/s   approvals/s / this: {ratio}")
    print("reference figures from the issue (not measured here):")
    for label, rate in ISSUE_REFERENCES:
        print(f"  {label:<56}{rate:8.0f}/s   approvals/s (1p) / this: {one.per_s / rate:.2f}x")
    print()
    print(f"delay probe: {args.delay_approvals} approvals one at a time at {args.delay_rate:.0f}/s; two consumers")
    print("  (group_id=None, every partition assigned at its end) differing only in fetch_max_wait_ms")
    for d in delays:
        print_delay(d)
    print("(targets are informational: the exit status only reflects whether the approvals worked)")


# ------------------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, tmp: Path) -> int:
    dbs = Databases(f"bench_scoring_{os.getpid()}")
    signer = Signer(Ed25519PrivateKey.generate(), "bench-key")
    broker = TansuBroker(tmp)
    jwks, jwks_url = serve_jwks(signer)
    load_start = load()
    failed = False
    try:
        broker.start()
        tmpl = await dbs.create("tmpl")
        t0 = time.perf_counter()
        await asyncio.to_thread(upgrade, MIGRATIONS, dbs.url(tmpl))
        await seed(dbs.url(tmpl), signer, args.cadres)
        print(f"migrated and seeded {tmpl} ({args.cadres} cadres) in {time.perf_counter() - t0:.1f} s", flush=True)
        names = ("one", "two", "ref", "delay1", "delay2") + (("prof",) if args.profile else ())
        urls = {name: dbs.url(await dbs.create(name, tmpl)) for name in names}
        ids = [e for e, _ in await pending_entries(urls["one"])]  # the same ids in every clone

        runs = []
        for n in (1, 2):
            env = service_env(urls["one" if n == 1 else "two"], jwks_url, broker.bootstrap)
            async with running_services(n, env, tmp) as services:
                print(f"approving {len(ids)} entries with {n} service process(es) ...", flush=True)
                run = await throughput(services, ids, signer, args.concurrency, args.warmup * n)
            approved, events = await approved_counts(urls["one" if n == 1 else "two"])
            expected = len(ids) - sum(run.failures.values())
            if run.failures or approved != expected or events != expected:
                print(f"WRONG: {approved} approved and {events} score events for {expected} approvals")
                failed = True
            runs.append(run)
            print(f"  {run.per_s:.0f} approvals/s", flush=True)

        print("bare asyncpg references ...", flush=True)
        ref = await references(urls["ref"], args.ref_txns, args.concurrency)

        delays = []
        for n in (1, 2):
            url = urls[f"delay{n}"]
            async with running_services(n, service_env(url, jwks_url, broker.bootstrap), tmp) as services:
                print(f"delay probe with {n} service process(es) ...", flush=True)
                delays.append(
                    await measure_delay(
                        services, ids[: args.delay_approvals], signer, broker.bootstrap, args.delay_rate, url
                    )
                )

        report(args, runs, ref, delays, load_start)
        result = figures(runs, ref, delays)
        result.extra["ok"] = not failed
        result.write(args.json)
        if args.profile:
            prof = tmp / "scoring.prof"
            env = service_env(urls["prof"], jwks_url, broker.bootstrap)
            async with running_services(1, env, tmp, profile_to=prof) as services:
                print("approving under cProfile ...", flush=True)
                run = await throughput(services, ids, signer, args.concurrency, args.warmup, profiled=True)
            print_profile(prof, run)
    finally:
        jwks.shutdown()
        broker.stop()
        await dbs.drop_all()
        print(f"dropped the benchmark databases ({dbs.prefix}_*)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run: 300 cadres, 100 delay probes")
    parser.add_argument("--cadres", type=int, default=2000, help="cadres; each has two pending entries")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent HTTP requests")
    parser.add_argument("--warmup", type=int, default=100, help="untimed approvals per service process")
    parser.add_argument("--ref-txns", type=int, default=1000, help="transactions per bare asyncpg reference")
    parser.add_argument("--delay-approvals", type=int, default=500)
    parser.add_argument("--delay-rate", type=float, default=50.0, help="approvals per second in the delay probe")
    parser.add_argument("--profile", action="store_true", help="also run one service process under cProfile")
    parser.add_argument("--log-dir", type=Path, help="keep the service and broker logs here (default: a temp dir)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.cadres, args.ref_txns, args.delay_approvals, args.warmup = 300, 200, 100, 40
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(bench(args, args.log_dir.resolve()))
    with tempfile.TemporaryDirectory(prefix="scoring_bench_") as tmp:
        return asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
