"""Latest version wins: the one way every read model built from events applies a state.

Events carry their subject's version (a cadre's ``version``, a cadre-year's ``sequence``).
A replay, a redelivery or a dead letter sent back after newer events may bring an older state
than the one held; it must change nothing. One statement does the check and the write, so
two consumers applying at once cannot interleave between them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def keep_latest(
    session: AsyncSession,
    table: Table,
    key: dict[str, Any],
    values: dict[str, Any],
    *,
    version: str,
    ties_apply: bool = False,
) -> bool:
    """Insert the row of ``key``, or update it with ``values`` when their ``version`` is newer
    than the stored one; an older one (an equal one too, unless ``ties_apply``) changes
    nothing. A version of ``None`` on either side (events, rows from before the field) is
    applied as before it existed: the last arrival wins. True when the row was written."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**key, **values)
    stored, incoming = table.c[version], stmt.excluded[version]
    newer = stored <= incoming if ties_apply else stored < incoming
    upsert = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={name: stmt.excluded[name] for name in values},
        where=or_(incoming.is_(None), stored.is_(None), newer),
    )
    result = await session.execute(upsert)
    return bool(result.rowcount)  # type: ignore[attr-defined]
