"""Throwaway servers the suite and the benchmarks start for themselves: PostgreSQL and Redis.

Each runs from the machine's own binaries (Debian's ``postgresql-15`` and ``redis-server``;
``make test-deps`` installs them where they are missing) on a free loopback port, in a
temporary directory that is removed when it stops. Nothing is read from a fixed port, so a
developer's own server on 5432 or 6379 is neither needed nor touched.

PostgreSQL's ``initdb`` and ``postgres`` refuse to run as root, and this project's machines
run everything as root: there they run as the ``postgres`` user, in a directory it owns.
"""

from __future__ import annotations

import abc
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

INSTALL_HINT = "run `make test-deps` (installs Debian's postgresql-15 and redis-server), or set {var}"


class ServerUnavailable(RuntimeError):
    """A server binary is missing or the server would not start; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class _Server(abc.ABC):
    proc: subprocess.Popen[bytes] | None = None

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


# PostgreSQL ------------------------------------------------------------------------------
def postgres_bin_dir() -> Path:
    """The newest installed server's bin directory (Debian keeps them off PATH)."""
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    on_path = shutil.which("postgres")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    raise ServerUnavailable("no PostgreSQL server binaries found; " + INSTALL_HINT.format(var="TEST_POSTGRES_URL"))


class PostgresServer(_Server):
    """A PostgreSQL cluster made by ``initdb`` for this run only: trust auth on loopback,
    superuser ``postgres``, durability off (a test database is never recovered)."""

    def __init__(self, *, max_connections: int = 400) -> None:
        self.bin = postgres_bin_dir()
        self.port = free_port()
        self.max_connections = max_connections
        self.root: Path | None = None
        self._as_user: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _owner(self) -> tuple[str | None, int, int]:
        if os.geteuid() != 0:
            return None, os.getuid(), os.getgid()
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ServerUnavailable(
                "running as root needs the `postgres` user; " + INSTALL_HINT.format(var="TEST_POSTGRES_URL")
            ) from exc
        return "postgres", entry.pw_uid, entry.pw_gid

    def start(self) -> None:
        user, uid, gid = self._owner()
        self._as_user = user
        # Not under pytest's tmp dirs: those are 0700 and root's, so `postgres` could not enter.
        self.root = Path(tempfile.mkdtemp(prefix="cadre-pg-"))
        data, sockets = self.root / "data", self.root / "run"
        for d in (data, sockets):
            d.mkdir()
        for d in (self.root, data, sockets):
            os.chown(d, uid, gid)
        log = self.root / "server.log"
        log.touch()
        os.chown(log, uid, gid)
        init = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            user=user, group=gid if user else None, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if init.returncode != 0:
            raise ServerUnavailable(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
                 "-c", f"max_connections={self.max_connections}", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "shared_buffers=256MB", "-c", "log_min_messages=warning"],
                user=user, group=gid if user else None, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        _wait_for_port(self.port, self.proc, log, "PostgreSQL")
        self._wait_ready(log)

    def _wait_ready(self, log: Path, timeout: float = 30) -> None:
        # The port opens before recovery ends; pg_isready says when connections are accepted.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                check=False,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise ServerUnavailable(f"PostgreSQL did not accept connections:\n{_tail(log)}")

    def stop(self) -> None:
        # SIGINT is PostgreSQL's fast shutdown: open sessions are ended, nothing is flushed.
        _stop(self.proc, signal.SIGINT)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


# Redis ------------------------------------------------------------------------------------
def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise ServerUnavailable("redis-server not found; " + INSTALL_HINT.format(var="TEST_REDIS_URL"))
    return found


class RedisServer(_Server):
    """A redis-server with no persistence on a free loopback port."""

    def __init__(self) -> None:
        self.binary = redis_binary()
        self.port = free_port()
        self.root: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cadre-redis-"))
        log = self.root / "server.log"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait_for_port(self.port, self.proc, log, "redis-server")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@contextlib.contextmanager
def postgres_url(env: str = "TEST_POSTGRES_URL") -> Iterator[str]:
    """The URL in ``env`` when set (a developer's own server), else a throwaway server's."""
    given = os.environ.get(env)
    if given:
        yield given
        return
    with PostgresServer() as server:
        yield server.url
