"""Re-sealing ID numbers after a key rotation, in the background.

Rotation adds a new key and makes it active (``ROSTER_ID_SEAL_KEYS=new:…,old:…``, the first
is active): new values are sealed with it at once, old ones still open with their own key.
This job re-seals the old ones in small batches, each row guarded by its old key id, so a
cadre whose number changes meanwhile (sealed under the active key) is never overwritten.
When ``pending`` reaches 0 the old key can be removed from the setting.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlmodel import col

from cadrekit.runtime import ServiceRuntime
from services.roster.models import Cadre
from services.roster.protection import IdSealer, Sealed

log = logging.getLogger("roster.resealing")


async def pending(runtime: ServiceRuntime, sealer: IdSealer) -> int:
    async with runtime.sessions() as s:
        stmt = select(func.count()).select_from(Cadre).where(col(Cadre.id_number_kid) != sealer.active)
        return int((await s.execute(stmt)).scalar_one())


async def reseal_batch(runtime: ServiceRuntime, sealer: IdSealer, limit: int = 500) -> int:
    """Re-seal up to ``limit`` values sealed under an older key; returns how many."""
    async with runtime.sessions() as s:
        rows = (
            await s.execute(
                select(col(Cadre.id), col(Cadre.id_number_kid), col(Cadre.id_number_sealed))
                .where(col(Cadre.id_number_kid) != sealer.active)
                .limit(limit)
            )
        ).all()
        done = 0
        for cadre_id, kid, blob in rows:
            if kid not in sealer.keys:
                log.error("ID number sealed under a key no longer configured", extra={"kid": kid})
                continue
            fresh = sealer.seal(sealer.open(Sealed(kid, blob)))
            result = await s.execute(
                update(Cadre)
                .where(col(Cadre.id) == cadre_id, col(Cadre.id_number_kid) == kid)
                .values(id_number_sealed=fresh.blob, id_number_kid=fresh.kid)
                .execution_options(synchronize_session=False)
            )
            done += cast(CursorResult[Any], result).rowcount
        await s.commit()
    return done


async def reseal_all(runtime: ServiceRuntime, sealer: IdSealer, limit: int = 500) -> int:
    total = 0
    while True:
        n = await reseal_batch(runtime, sealer, limit)
        total += n
        if n == 0:
            return total


async def run_forever(runtime: ServiceRuntime, sealer: IdSealer, interval: float) -> None:
    """The background loop: a pass now and then; quiet when nothing is left."""
    while True:
        try:
            n = await reseal_all(runtime, sealer)
        except Exception:  # a database outage: try again at the next pass
            log.exception("re-sealing pass failed")
        else:
            if n:
                log.info("re-sealed ID numbers under the active key", extra={"count": n, "kid": sealer.active})
        await asyncio.sleep(interval)
