"""Gateway overhead benchmark: one read endpoint called directly on the roster service, through
the gateway, and through nginx as a reference proxy (where nginx is installed).

Run from the repository root::

    .venv/bin/python -m bench.gateway_overhead [--quick] [--profile]

One run starts the whole system the way ``make run`` does (``deploy.launcher.System``: the
Tansu broker, the four services and the gateway as uvicorn processes, the embedded SQLite
databases) in a temporary var directory on free ports, with the gateway's per-client rate
limit switched off through ``Layout.env`` (``GATEWAY_RATE_LIMIT_ENABLED=false``). It takes a
real token from the gateway's ``/api/v1/auth/token`` with the bootstrap admin client, seeds
a unit and a few cadres through the gateway, then loads ``GET /api/v1/roster/cadres/{id}``
(round robin over the seeded cadres; one joined read, the scope check, the response model,
an ETag) on each target in turn from a SECOND process on loopback: this same module run as
``python -m bench.gateway_overhead --load URL [URL ...] --connections 32 --seconds 10``,
an aiohttp client (uvloop) with a connector of 32 connections and 32 workers, which records
every request's latency and prints JSON for the parent. Authentication is on everywhere:
the roster checks the token against the gateway's JWKS, the gateway checks it too (and
asks its client table whether the client is still enabled).

Printed: requests/s, p50/p99 latency, the CPU milliseconds per request of each process
(from ``/proc/<pid>/stat``, steadier than requests/s on a shared machine) and the ratios
gateway/direct (and nginx/direct), next to the issue's targets and reference figures.
``--profile`` then restarts the gateway under cProfile (same port, same environment),
loads it once more and prints where its time goes. Targets are informational: the exit
status is non-zero only if requests fail.
"""

# ruff: noqa: E402
from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pstats
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/gateway_overhead.py` puts bench/ first, not the root
    sys.path.insert(0, str(ROOT))

import aiohttp
import httpx

from bench.results import Figures

ROSTER = "/api/v1/roster"
AUTH_ENV = "BENCH_AUTHORIZATION"  # the load process reads the Authorization header here, not from argv
# Passed to every process through Layout.env (applied last by Layout.process_env).
BENCH_ENV = {"GATEWAY_RATE_LIMIT_ENABLED": "false"}
TARGET_RATIO = 0.5
GOAL_RATIO = 0.6
TARGET_P99_MS = 30.0
ISSUE_REFERENCES = (  # (what, requests/s, p99 ms or None), from the issue; measured with wrk
    ("direct", 7000, 9.0),
    ("FastAPI proxy, shared httpx client", 700, 228.0),
    ("the same proxy on aiohttp", 3900, None),
    ("the aiohttp proxy, EdDSA verified on every request", 2300, None),
)


# ------------------------------------------------------------------------------------------
# /proc readings (Linux)
def process_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds; NaN once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# ------------------------------------------------------------------------------------------
# the load process: `python -m bench.gateway_overhead --load URL ...`
async def generate_load(
    urls: list[str], connections: int, seconds: float, warmup: float, pids: list[int], profiled: int | None = None
) -> dict[str, Any]:
    """`connections` workers on a connector of `connections` keep-alive connections, each
    sending GETs back to back (round robin over `urls`) for `warmup` + `seconds`. Only the
    responses that complete inside the timed window count. `profiled` gets SIGUSR1 and
    SIGUSR2 at the window's start and end (its profiler on and off)."""
    authorization = os.environ.get(AUTH_ENV, "")
    headers = {"Authorization": authorization} if authorization else {}
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    t_start = time.perf_counter()
    w0, w1 = t_start + warmup, t_start + warmup + seconds
    marks: dict[str, Any] = {}

    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:

        async def worker(k: int) -> None:
            i = k
            while True:
                t0 = time.perf_counter()
                if t0 >= w1:
                    return
                url = urls[i % len(urls)]
                i += 1
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        status = str(resp.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                t1 = time.perf_counter()
                if w0 <= t1 < w1:
                    latencies.append((t1 - t0) * 1000)
                    statuses[status] += 1

        async def clock() -> None:
            await asyncio.sleep(max(0.0, w0 - time.perf_counter()))
            if profiled:
                os.kill(profiled, signal.SIGUSR1)
            marks["start"] = (time.perf_counter(), self_cpu(), {p: process_cpu(p) for p in pids}, machine_cpu())
            await asyncio.sleep(max(0.0, w1 - time.perf_counter()))
            marks["end"] = (time.perf_counter(), self_cpu(), {p: process_cpu(p) for p in pids}, machine_cpu())
            if profiled:
                os.kill(profiled, signal.SIGUSR2)

        await asyncio.gather(clock(), *(worker(k) for k in range(connections)))

    (t0, cpu0, procs0, (busy0, total0)), (t1, cpu1, procs1, (busy1, total1)) = marks["start"], marks["end"]
    ok = statuses.get("200", 0)
    return {
        "connections": connections,
        "urls": len(urls),
        "seconds": t1 - t0,
        "ok": ok,
        "statuses": dict(statuses),
        "per_s": ok / (t1 - t0),
        "p50_ms": pct(latencies, 0.50),
        "p90_ms": pct(latencies, 0.90),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "client_cpu_s": cpu1 - cpu0,
        "process_cpu_s": {str(p): procs1[p] - procs0[p] for p in pids},
        "machine_busy": (busy1 - busy0) / max(total1 - total0, 1.0),
    }


def load_main(args: argparse.Namespace) -> int:
    import uvloop

    result = uvloop.run(
        generate_load(args.load, args.connections, args.seconds, args.warmup, args.pids, args.signal_pid)
    )
    print(json.dumps(result))
    return 0


# ------------------------------------------------------------------------------------------
# the parent: the system, the seed, the targets
@dataclass
class Target:
    name: str
    base_url: str
    pids: dict[str, int]  # the processes on the request path, by role


@dataclass
class Run:
    target: Target
    result: dict[str, Any]
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per request, by role and "client"

    @property
    def per_s(self) -> float:
        return float(self.result["per_s"])

    @property
    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.result["statuses"].items() if k != "200"}


def run_load(
    target: Target, paths: list[str], authorization: str, args: argparse.Namespace, profiled: int | None = None
) -> Run:
    """The load from a second process; its JSON result read from its stdout."""
    argv = [sys.executable, "-m", "bench.gateway_overhead", "--load", *(target.base_url + p for p in paths)]
    argv += ["--connections", str(args.connections), "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    pids = [pid for pid in target.pids.values()]
    if pids:
        argv += ["--pids", *map(str, pids)]
    if profiled:
        argv += ["--signal-pid", str(profiled)]
    env = {**os.environ, AUTH_ENV: authorization}
    proc = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.seconds + args.warmup + 120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the load process failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    n = max(int(result["ok"]) + sum(v for k, v in result["statuses"].items() if k != "200"), 1)
    by_pid = {int(p): s for p, s in result["process_cpu_s"].items()}
    cpu_ms = {role: by_pid[pid] * 1000 / n for role, pid in target.pids.items()}
    cpu_ms["client"] = float(result["client_cpu_s"]) * 1000 / n
    return Run(target, result, cpu_ms)


async def get_token(client: httpx.AsyncClient, creds: dict[str, str]) -> str:
    resp = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def cadre_body(unit_id: str, i: int) -> dict[str, Any]:
    """A complete cadre record with a valid GB 11643 number (odd sex digit: male)."""
    from services.roster.domain.id_numbers import with_check_digit

    birth = f"19{70 + i % 20}0{1 + i % 9}1{i % 9}"
    return {
        "name": f"干部{i:03d}",
        "gender": "male",
        "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
        "id_number": with_check_digit(f"330482{birth}{i % 100:02d}1"),
        "unit_id": unit_id,
        "post_title": "科长",
        "rank": "正科",
        "party_member": True,
        "education": "本科",
        "years_of_service": 20,
        "strengths": ["招商引资", "文字材料"],
        "post_wishes": ["经济管理", "城建交通"],
        "professional_field": "经济",
        "willingness": {"town": True, "heavy_task": False, "mentor": True},
        "leadership_status": "second_line",
        "health": "healthy",
    }


async def seed(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[str]:
    """A unit and `n` cadres through the gateway; the cadres' ids."""
    resp = await client.post(
        f"{ROSTER}/units", headers=headers, json={"name": "平湖市委组织部", "kind": "city_organ", "region": "平湖"}
    )
    assert resp.status_code == 201, resp.text
    unit_id = resp.json()["id"]
    ids = []
    for i in range(n):
        body = cadre_body(unit_id, i)
        resp = await client.post(
            f"{ROSTER}/cadres", headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, json=body
        )
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    return ids


async def check_targets(targets: list[Target], paths: list[str], authorization: str) -> None:
    """Each target answers the same body with the token, and 401 without it (authentication on)."""
    bodies = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for t in targets:
            ok = await client.get(t.base_url + paths[0], headers={"Authorization": authorization})
            if ok.status_code != 200:
                raise RuntimeError(f"{t.name}: {ok.status_code} {ok.text[:300]}")
            bodies[t.name] = ok.json()
            anonymous = await client.get(t.base_url + paths[0])
            if anonymous.status_code != 401:
                raise RuntimeError(f"{t.name} answers {anonymous.status_code} without a token: authentication is off?")
    if len({json.dumps(b, sort_keys=True) for b in bodies.values()}) != 1:
        raise RuntimeError(f"the targets answer different bodies: {bodies}")


# ------------------------------------------------------------------------------------------
# nginx, the reference proxy (where installed)
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream roster {{
        server 127.0.0.1:{upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://roster;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(binary: str, tmp: Path, upstream_port: int, port: int) -> Any:
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=port))
    with open(tmp / "stdout.log", "ab") as log:
        proc = subprocess.Popen(
            [binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while not child_pids(proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start; see {tmp / 'error.log'}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------
# --profile: the gateway under cProfile (SIGUSR1 on, SIGUSR2 off and write), as uvicorn runs it.
# The profile's clock is the event-loop thread's CPU time: on a busy machine wall time would
# charge preemption to whatever ran; aiosqlite's worker thread is not in it (its CPU is in
# the per-request figure of the main table).
PROFILED_GATEWAY = """
import cProfile, signal, sys, time, uvicorn
prof = cProfile.Profile(time.thread_time)  # CPU time of the event-loop thread, not wall time
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
signal.signal(signal.SIGUSR2, lambda *_: (prof.disable(), prof.dump_stats(sys.argv[1])))
uvicorn.run("gateway.app:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[2]),
            access_log=False, timeout_graceful_shutdown=10)
"""
AREAS = (  # (label, path fragments), first match wins
    ("SQLAlchemy, aiosqlite (client table lookup)", ("/sqlalchemy/", "/sqlmodel/", "/aiosqlite/")),
    ("httpx, httpx_aiohttp (proxy client)", ("/httpx/", "/httpx_aiohttp/", "/httpcore/")),
    ("aiohttp (proxy transport)", ("/aiohttp/", "/multidict/", "/yarl/")),
    ("FastAPI, Starlette, pydantic", ("/fastapi/", "/starlette/", "/pydantic", "/anyio/")),
    ("uvicorn, httptools", ("/uvicorn/", "/httptools/", "/h11/")),
    ("logging", ("/logging/", "/cadrekit/logs.py")),
    ("prometheus_client", ("/prometheus_client/",)),
    ("jwt, cryptography", ("/jwt/", "/cryptography/")),
    ("cadrekit", ("/cadrekit/",)),
    ("gateway", ("/gateway/",)),
    ("asyncio, uvloop", ("/asyncio/", "/uvloop/")),
    ("built-ins and C methods (socket I/O ...)", ("~",)),
)


def start_profiled_gateway(system: Any, prof: Path) -> subprocess.Popen[bytes]:
    """Stops the launcher's gateway and starts its cProfile twin on the same port and env."""
    from deploy.launcher import port_open, ready, wait_until

    lay = system.layout
    old = system.procs.pop("gateway")
    old.send_signal(signal.SIGTERM)
    old.wait(20)
    wait_until(lambda: not port_open(lay.host, lay.ports["gateway"]), 10, "the gateway's port to close")
    with open(system.log_dir / "gateway-profiled.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", PROFILED_GATEWAY, str(prof), str(lay.ports["gateway"])],
            cwd=ROOT,
            env=lay.process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    system.procs["gateway"] = proc  # System.stop() stops it
    wait_until(lambda: ready(f"{lay.gateway_url}/ready"), 60, "the profiled gateway")
    return proc


def print_profile(path: Path, run: Run) -> None:
    stats = pstats.Stats(str(path))
    areas: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, tottime, _, _) in raw.items():
        label = next((lab for lab, frags in AREAS if any(f in filename for f in frags)), "other")
        areas[label] += tottime
    total = sum(areas.values())
    n = run.result["ok"]
    print(f"\n=== --profile: the gateway under cProfile, {n} timed requests ===")
    print(f"{run.per_s:.0f} requests/s under the profiler; the gateway's own time (event-loop thread) by area:")
    for label, seconds in areas.most_common():
        print(f"  {label:<46}{seconds:7.2f} s  {seconds / total:5.1%}  {seconds * 1000 / max(n, 1):6.3f} ms/request")
    for order, count in (("tottime", 25), ("cumulative", 40)):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(order).print_stats(count)
        print(out.getvalue())


# ------------------------------------------------------------------------------------------
# the report
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_run(run: Run) -> None:
    r = run.result
    cpu = "  ".join(f"{role} {ms:.3f}" for role, ms in run.cpu_ms.items())
    print(
        f"  {run.target.name:<9}{run.per_s:9.0f}{r['p50_ms']:9.2f}{r['p90_ms']:9.2f}{r['p99_ms']:9.2f}"
        f"{r['max_ms']:9.1f}   {sum(run.failures.values()):>6}   {r['machine_busy']:5.0%}   {cpu}"
    )


def cpu_ceiling(run: Run, cores: int = 2) -> float:
    """Requests/s the machine could serve with nothing else on it: no process beyond one core
    (each is one event loop; aiosqlite's thread mostly waits), all of them within `cores`."""
    per_request = run.cpu_ms
    limits = [1000 / ms for role, ms in per_request.items() if role != "client" and ms > 0]
    limits.append(cores * 1000 / sum(per_request.values()))
    return min(limits)


def figures(runs: list[Run]) -> Figures:
    out = Figures("gateway_overhead")
    direct = runs[0]
    for run in runs:
        cpu = ", ".join(f"{role} {ms:.3f}" for role, ms in run.cpu_ms.items())
        is_direct = run is direct
        out.add(
            f"GET roster cadre, {run.target.name}, req/s",
            run.per_s,
            "req/s",
            reference=None if is_direct else "direct to the roster, same run",
            reference_value=None if is_direct else direct.per_s,
            note=f"p99 {run.result['p99_ms']:.2f} ms; CPU ms/request: {cpu}"
            + ("" if is_direct else f"; target ≥ {TARGET_RATIO}x"),
        )
        if not is_direct:
            out.add(
                f"GET roster cadre, {run.target.name}, p99",
                run.result["p99_ms"],
                "ms",
                reference="direct p99, same run",
                reference_value=direct.result["p99_ms"],
            )
    gateway = next((r for r in runs if r.target.name == "gateway"), None)
    if gateway is not None and "gateway" in gateway.cpu_ms:
        out.add(
            "the gateway's own CPU per request",
            gateway.cpu_ms["gateway"],
            "ms",
            reference="the roster's CPU per request, direct",
            reference_value=direct.cpu_ms["roster"],
        )
    return out


def report(args: argparse.Namespace, runs: list[Run], n_cadres: int, load_start: str, nginx_note: str) -> None:
    direct = runs[0]
    print()
    print("=== gateway overhead: GET /api/v1/roster/cadres/{id}, direct vs through the gateway ===")
    print(f"machine       {load_start} at start; {load_average()} at end")
    print("system        deploy.launcher.System as `make run` starts it: embedded SQLite (one file per service),")
    print("              Tansu broker, 4 services + gateway as uvicorn processes (--no-access-log, JSON request")
    print("              log lines at INFO to files), GATEWAY_RATE_LIMIT_ENABLED=false through Layout.env")
    print(f"endpoint      GET {ROSTER}/cadres/{{id}}, round robin over {n_cadres} seeded cadres; bootstrap admin token")
    print("              (EdDSA) from /api/v1/auth/token, checked by the roster (JWKS) and by the gateway")
    print(
        f"load          a second process on loopback: aiohttp + uvloop, {args.connections} connections, "
        f"{args.connections} workers, {args.seconds:g} s per target after {args.warmup:g} s warm-up"
    )
    print()
    print("  target      req/s   p50 ms   p90 ms   p99 ms   max ms   errors    busy   CPU ms per request")
    for run in runs:
        print_run(run)
        if run.failures:
            print(f"    FAILURES: {run.failures}")
    print(f"  {nginx_note}")
    print()
    for run in runs[1:]:
        ratio = run.per_s / direct.per_s
        line = f"{run.target.name} / direct throughput      {ratio:5.2f}x"
        if run.target.name == "gateway":
            line += f"   target >= {TARGET_RATIO}x: {verdict(ratio >= TARGET_RATIO)}"
            line += f"   goal >= {GOAL_RATIO}x: {verdict(ratio >= GOAL_RATIO)}"
        print(line)
        print(
            f"{run.target.name} / direct p50, p99         {run.result['p50_ms'] / direct.result['p50_ms']:5.2f}x, "
            f"{run.result['p99_ms'] / direct.result['p99_ms']:.2f}x"
        )
    for run in runs:
        p99 = run.result["p99_ms"]
        print(
            f"p99 < {TARGET_P99_MS:.0f} ms at {args.connections} connections, {run.target.name:<8}"
            f"  {p99:6.2f} ms  {verdict(p99 < TARGET_P99_MS)}"
        )
    floor = args.connections / TARGET_P99_MS * 1000
    print(
        f"closed loop: mean latency = {args.connections} connections / throughput ("
        + ", ".join(f"{r.target.name} {args.connections * 1000 / r.per_s:.1f} ms" for r in runs)
        + f"); a p99 under {TARGET_P99_MS:.0f} ms needs more than {floor:.0f} req/s"
    )
    gateway = next((r for r in runs if r.target.name == "gateway"), None)
    if gateway is not None:
        extra = gateway.cpu_ms.get("gateway", float("nan"))
        roster_delta = gateway.cpu_ms["roster"] - direct.cpu_ms["roster"]
        print(
            f"the gateway's own CPU per request         {extra:.3f} ms "
            f"(the roster's {direct.cpu_ms['roster']:.3f} ms direct, {gateway.cpu_ms['roster']:.3f} ms behind it: "
            f"{roster_delta:+.3f})"
        )
    ceilings = {run.target.name: cpu_ceiling(run) for run in runs}
    print(
        "CPU-bound ceiling on 2 idle cores (each process <= 1 core; from the CPU per request above): "
        + ", ".join(f"{name} {c:.0f} req/s" for name, c in ceilings.items())
        + "".join(
            f"; {name} / direct {c / ceilings['direct']:.2f}x" for name, c in ceilings.items() if name != "direct"
        )
    )
    print("reference figures from the issue (this hardware, wrk as the load; not measured here):")
    for label, rate, p99_ref in ISSUE_REFERENCES:
        p99_text = f", p99 {p99_ref:.0f} ms" if p99_ref else ""
        print(f"  {label:<54}{rate:6d} req/s{p99_text:<14}  ({rate / ISSUE_REFERENCES[0][1]:.2f}x direct)")
    print("(informational: the exit status only reflects whether the requests succeeded)")


# ------------------------------------------------------------------------------------------
async def prepare(system: Any, n_cadres: int) -> tuple[str, list[str]]:
    lay = system.layout
    async with httpx.AsyncClient(base_url=lay.gateway_url, timeout=30) as client:
        token = await get_token(client, json.loads(lay.bootstrap_file.read_text()))
        authorization = f"Bearer {token}"
        ids = await seed(client, {"Authorization": authorization}, n_cadres)
    return authorization, [f"{ROSTER}/cadres/{i}" for i in ids]


def bench(args: argparse.Namespace, tmp: Path) -> int:
    from cadrekit.testing.plugin import free_port
    from deploy.launcher import SERVICES, Layout, System

    load_start = load_average()
    layout = Layout(
        var=tmp / "var", ports={n: free_port() for n in ("gateway", *SERVICES)}, broker_port=free_port(), env=BENCH_ENV
    )
    system = System(layout, log_dir=tmp / "logs")
    failed = False
    try:
        t0 = time.perf_counter()
        system.start()
        authorization, paths = asyncio.run(prepare(system, args.cadres))
        print(f"system started and {len(paths)} cadres seeded in {time.perf_counter() - t0:.1f} s", flush=True)
        roster_pid, gateway_pid = system.procs["roster"].pid, system.procs["gateway"].pid
        host = layout.host
        targets = [
            Target("direct", f"http://{host}:{layout.ports['roster']}", {"roster": roster_pid}),
            Target("gateway", layout.gateway_url, {"roster": roster_pid, "gateway": gateway_pid}),
        ]
        asyncio.run(check_targets(targets, paths, authorization))
        runs = []
        for target in targets:
            print(f"loading {target.name} ({target.base_url}) for {args.seconds:g} s ...", flush=True)
            runs.append(run_load(target, paths, authorization, args))
        binary = shutil.which("nginx")
        if binary is None:
            nginx_note = "nginx not installed: reference skipped"
            print(nginx_note, flush=True)
        else:
            port = free_port()
            with nginx(binary, tmp / "nginx", layout.ports["roster"], port) as proc:
                workers = child_pids(proc.pid)
                target = Target("nginx", f"http://{host}:{port}", {"roster": roster_pid, "nginx": workers[0]})
                asyncio.run(check_targets([targets[0], target], paths, authorization))
                print(f"loading nginx ({target.base_url}, {binary}) for {args.seconds:g} s ...", flush=True)
                runs.append(run_load(target, paths, authorization, args))
            nginx_note = f"nginx: {binary}, 1 worker, keepalive upstream"
        failed = any(r.failures for r in runs)
        report(args, runs, len(paths), load_start, nginx_note)
        result = figures(runs)
        result.extra["ok"] = not failed
        result.write(args.json)

        if args.profile:
            prof = tmp / "gateway.prof"
            proc = start_profiled_gateway(system, prof)
            target = Target("gateway", layout.gateway_url, {"roster": roster_pid, "gateway": proc.pid})
            asyncio.run(check_targets([target], paths, authorization))
            print("\nloading the gateway under cProfile ...", flush=True)
            run = run_load(target, paths, authorization, args, profiled=proc.pid)
            deadline = time.monotonic() + 30
            while not prof.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # dump_stats finishing its write
            print_profile(prof, run)
    finally:
        system.stop()
    print(f"stopped the system (logs were in {system.log_dir})")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per target (and 0.5 s warm-up)")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per target")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed seconds of load before each window")
    parser.add_argument("--connections", type=int, default=32, help="connections and concurrent workers")
    parser.add_argument("--cadres", type=int, default=20, help="cadres seeded and read round robin")
    parser.add_argument("--profile", action="store_true", help="also load the gateway once under cProfile")
    parser.add_argument("--log-dir", type=Path, help="keep the var directory and process logs here")
    parser.add_argument("--load", nargs="+", metavar="URL", help="(internal) be the load process for these URLs")
    parser.add_argument("--pids", nargs="*", type=int, default=[], help="(internal) processes whose CPU to read")
    parser.add_argument("--signal-pid", type=int, help="(internal) SIGUSR1/SIGUSR2 at the timed window's ends")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    if args.load:
        return load_main(args)
    if args.quick:
        args.seconds, args.warmup = 3.0, 0.5
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        return bench(args, args.log_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="gateway_bench_") as tmp:
        return bench(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
