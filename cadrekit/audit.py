"""Every plaintext read of personal data leaves a row: who, when, what and why."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession

from cadrekit import context
from cadrekit.auth import Principal
from cadrekit.db import KitTables, utcnow


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
