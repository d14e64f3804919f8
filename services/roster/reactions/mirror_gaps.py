"""Roster's answer to a mirror's gap (``contracts.mirror_gaps``): another service's roster
mirror found a version of a cadre or unit it never applied, so roster publishes that
subject's whole state again, as a snapshot of it (``roster.cadre.registered`` or
``roster.unit.created`` with ``snapshot: true``), in the inbox transaction. Every mirror
applies it as the newest state, and the one that asked marks its gap healed.

A subject roster does not hold is logged and left: the gap stays open in the mirror's
``/health``. An asked snapshot never causes a gap itself (it is a whole state), so no loop.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.inbox import Handler
from contracts import mirror_gaps
from services.roster.schemas import SnapshotSubjects
from services.roster.service.admin import snapshot_events
from services.roster.service.context import Context

TOPICS = [model.TOPIC for model in mirror_gaps.OF_SERVICE.values()]
log = logging.getLogger("roster.reactions.mirror_gaps")


def handlers(ctx: Context) -> dict[str, Handler]:
    async def gap_found(session: AsyncSession, event: dict[str, Any]) -> None:
        d = mirror_gaps.MirrorGapFound.of(event)
        if d.subject_kind == "cadre":
            only = SnapshotSubjects(cadre_ids=[d.subject_id], unit_ids=[])
        else:
            only = SnapshotSubjects(unit_ids=[d.subject_id], cadre_ids=[])
        made, found = await snapshot_events(session, only)
        if not found:
            log.warning("a mirror asked for a subject roster does not hold", extra={"subject_id": d.subject_id})
            return
        await ctx.runtime.emit_from_handler(session, made)

    return {model.TYPE: gap_found for model in mirror_gaps.OF_SERVICE.values()}
