"""Revocation at every service: a client the gateway disabled is refused here too.

The gateway publishes its client changes on ``gateway.events`` (``gateway.client.disabled``,
``gateway.client.enabled``, …, keyed by the client id). Every service consumes them (consumer
``<service>.revocations``) into a small table of its own, ``client_revocations``: one row per
client ever disabled, with its current state and the gateway's time of the change. The table,
not memory, is the record: a restarted service refuses a disabled client from its first
request, and replicas sharing the consumer group (each sees only its partitions) all read
the same rows.

Token verification asks :class:`Revocations` on every use, also for a token the verifier had
cached: a token is refused when its ``client_id`` or its ``act`` (the portal that exchanged
it for one of its people) is disabled. The set of disabled ids is read from the table at most
every ``revocation_refresh_seconds`` (1 s) and at once after the consumer committed a change,
so a disable reaches every replica of every service about a second after the gateway's commit.

Events are applied only when newer than the stored state (``changed_at``), so a re-sent or
late event never undoes a later change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Column, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cadrekit.auth import Principal
from cadrekit.db import UTCDateTime, utcnow
from cadrekit.inbox import Handler, after_commit
from cadrekit.problems import ServiceUnavailable, Unauthorized
from contracts import gateway, topics

if TYPE_CHECKING:
    from cadrekit.runtime import ServiceRuntime

log = logging.getLogger("cadrekit.revocation")

TABLE = "client_revocations"


# the table ----------------------------------------------------------------------------------
def define_revocation_table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("client_id", String(100), primary_key=True),
        Column("disabled", Boolean, nullable=False),
        # The gateway's time of the change: an event older than the stored one is dropped.
        Column("changed_at", UTCDateTime, nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("applied_at", UTCDateTime, nullable=False),
    )


_CACHE: dict[int, Table] = {}


def revocation_table_of(metadata: MetaData) -> Table:
    """The table in a service's own metadata, defined once per metadata (models.py)."""
    key = id(metadata)
    if key not in _CACHE:
        _CACHE[key] = metadata.tables[TABLE] if TABLE in metadata.tables else define_revocation_table(metadata)
    return _CACHE[key]


def create_revocation_table() -> None:
    """For a service migration, like cadrekit.migrate.create_kit_tables."""
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_revocation_table(metadata)
    metadata.create_all(op.get_bind())


def drop_revocation_table() -> None:
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_revocation_table(metadata)
    metadata.drop_all(op.get_bind())


# applying the gateway's events ----------------------------------------------------------------
def client_change(envelope: dict[str, Any]) -> tuple[str, bool, dt.datetime]:
    """(client id, disabled, changed at) of a ``gateway.client.disabled``/``enabled`` event."""
    model = gateway.ClientDisabled if envelope.get("type") == gateway.ClientDisabled.TYPE else gateway.ClientEnabled
    d = model.of(envelope)
    when = d.changed_at if d.changed_at.tzinfo else d.changed_at.replace(tzinfo=dt.UTC)
    return d.client_id, model is gateway.ClientDisabled, when


async def apply_client_change(session: AsyncSession, table: Table, dialect: str, envelope: dict[str, Any]) -> None:
    client_id, disabled, changed_at = client_change(envelope)
    values = {
        "client_id": client_id,
        "disabled": disabled,
        "changed_at": changed_at,
        "event_id": str(envelope["id"]),
        "applied_at": utcnow(),
    }
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.client_id],
            set_={k: stmt.excluded[k] for k in ("disabled", "changed_at", "event_id", "applied_at")},
            where=table.c.changed_at <= stmt.excluded.changed_at,
        )
    )


def handlers(table: Table, dialect: str, on_change: Callable[[], None] = lambda: None) -> dict[str, Handler]:
    async def apply(session: AsyncSession, envelope: dict[str, Any]) -> None:
        await apply_client_change(session, table, dialect, envelope)
        # Read again once the change is committed (the inbox commits after the handler).
        after_commit(session, on_change)

    return {gateway.ClientDisabled.TYPE: apply, gateway.ClientEnabled.TYPE: apply}


# the check at every request ---------------------------------------------------------------------
class Revocations:
    """The disabled clients of one service, as its table says, re-read at most every
    ``refresh_seconds`` (and on the next check after :meth:`invalidate`). Until the table was
    read once, a request is answered 503 rather than let through unchecked; a failed re-read
    later keeps the set last read."""

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        *,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.table = table
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._disabled: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._stale = True
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """A change was applied: read the table again at the next check."""
        self._stale = True

    def _due(self) -> bool:
        return self._stale or self._read_at is None or self.clock() - self._read_at >= self.refresh_seconds

    async def disabled(self) -> frozenset[str]:
        if self._due():
            async with self._lock:
                if self._due():
                    await self._read()
        return self._disabled

    async def _read(self) -> None:
        self._stale = False
        try:
            async with self.engine.connect() as conn:
                rows = await conn.execute(select(self.table.c.client_id).where(self.table.c.disabled.is_(True)))
                self._disabled = frozenset(r[0] for r in rows)
        except Exception as exc:
            if self._read_at is None:
                self._stale = True
                raise ServiceUnavailable("cannot tell which clients are disabled; try again") from exc
            log.warning("reading disabled clients failed; keeping the last set", extra={"error": str(exc)})
        self._read_at = self.clock()

    async def check(self, principal: Principal) -> None:
        disabled = await self.disabled()
        if not disabled:
            return
        for client in (principal.client_id, principal.act):
            if client is not None and client in disabled:
                raise Unauthorized("this client is disabled")


def install(runtime: ServiceRuntime) -> Revocations:
    """The service's consumer of the gateway's client changes and the check its token
    verifier asks; the table comes from the service's own migration."""
    table = revocation_table_of(runtime.metadata)
    revocations = Revocations(runtime.engine, table, refresh_seconds=runtime.settings.revocation_refresh_seconds)
    runtime.add_consumer(
        f"{runtime.settings.service_name}.revocations",
        [topics.GATEWAY],
        handlers(table, runtime.engine.dialect.name, revocations.invalidate),
    )
    return revocations
