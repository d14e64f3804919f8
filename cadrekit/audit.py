"""Every plaintext read of personal data leaves a row: who, when, what and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession

from cadrekit import context
from cadrekit.auth import Principal
from cadrekit.db import KitTables, utcnow
from cadrekit.pagination import decode_cursor, encode_cursor


async def record_personal_data_read(
    session: SAAsyncSession,
    kit: KitTables,
    principal: Principal,
    *,
    action: str,
    subject_type: str,
    subject_ids: list[str],
    fields: list[str],
    reason: str,
) -> None:
    now = utcnow()
    rows = [
        {
            "at": now,
            "actor": principal.sub,
            "acting_client": principal.act or principal.client_id,
            "role": principal.role.value,
            "action": action,
            "subject_type": subject_type,
            "subject_id": sid,
            "fields": ",".join(fields),
            "reason": reason,
            "request_id": context.request_id.get(),
        }
        for sid in subject_ids
    ]
    if rows:
        await session.execute(kit.audit.insert(), rows)


AUDIT_FIELDS = (
    "at",
    "actor",
    "acting_client",
    "role",
    "action",
    "subject_type",
    "subject_id",
    "fields",
    "reason",
    "request_id",
)


async def list_reads(
    session: SAAsyncSession,
    kit: KitTables,
    *,
    subject_id: str | None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the personal-data audit log, newest first."""
    audit = kit.audit
    stmt = select(audit)
    if subject_id:
        stmt = stmt.where(audit.c.subject_id == subject_id)
    if actor:
        stmt = stmt.where(audit.c.actor == actor)
    if since is not None:
        stmt = stmt.where(audit.c.at >= since)
    after = decode_cursor(cursor, 1, (int,))
    if after:
        stmt = stmt.where(audit.c.id < after[0])
    rows = (await session.execute(stmt.order_by(audit.c.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # Each row's own cursor (the page after it) lets the gateway cut a merged page anywhere.
    items = [{**{k: getattr(row, k) for k in AUDIT_FIELDS}, "cursor": encode_cursor([row.id])} for row in rows]
    return {"items": items, "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None}
