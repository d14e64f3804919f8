"""Roster's reaction to confirmed placements (domain.md "placement").

On a ``standing`` post the cadre's unit and post change, with history and a
``roster.cadre.moved`` event; on a ``phased`` or ``training`` post the cadre keeps the home
post and is on assignment until the term ends (``on_assignment_until``, which the
availability rule reads). Applied in the inbox transaction, so a redelivery changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.inbox import Handler
from contracts import matching, topics
from services.roster import events
from services.roster.models import Cadre, CadreChange, Unit
from services.roster.service.context import Context
from services.roster.service.rules import claim_version, follow_unit

TOPICS = [topics.MATCHING]
ACTOR = "matching-service"
log = logging.getLogger("roster.reactions.matching")


def handlers(ctx: Context) -> dict[str, Handler]:
    async def placement_confirmed(session: AsyncSession, event: dict[str, Any]) -> None:
        d = matching.PlacementConfirmed.of(event)
        cadre = await session.get(Cadre, d.cadre_id)
        if cadre is None or cadre.status == "left":
            log.warning("placement for an unknown or departed cadre ignored", extra={"cadre_id": d.cadre_id})
            return
        reason = f"placement confirmed in matching campaign {d.campaign_id}"
        starts_on = d.starts_on
        if starts_on is None:
            # matching always sends the day the placement takes effect; the day this event
            # happens to arrive is no business date.
            raise ValueError("a confirmed placement needs starts_on")
        if d.post_kind == "standing":
            unit = await session.get(Unit, d.host_unit_id)
            if unit is None:
                raise ValueError(f"host unit {d.host_unit_id} is not in the roster")
            title = d.post_title or cadre.post_title
            if cadre.unit_id == unit.id and cadre.post_title == title:
                return  # already there: a repeated confirmation changes nothing
            old_unit, old_post = cadre.unit_id, cadre.post_title
            await claim_version(session, cadre, cadre.version)
            cadre.unit_id, cadre.post_title = unit.id, title
            changes = {
                "unit_id": [old_unit, unit.id],
                "post_title": [old_post, title],
                "effective_on": starts_on.isoformat(),
                "campaign_id": d.campaign_id,
            }
            old_retirement = cadre.retirement_date
            retired = follow_unit(ctx, cadre, unit.kind)
            if "retirement_date" in retired:
                changes["retirement_date"] = [old_retirement.isoformat(), cadre.retirement_date.isoformat()]
            session.add(CadreChange(cadre_id=cadre.id, actor=ACTOR, kind="moved", changes=changes, reason=reason))
            out = [events.cadre_moved(cadre, old_unit, starts_on, reason)]
            if retired:  # the category follows the unit's kind (services/roster/service/cadres.py move_cadre)
                cadre.version += 1
                out.append(events.cadre_updated(cadre, retired))
            await ctx.runtime.emit_from_handler(session, out)
            return
        until = d.ends_on
        if until is None:
            raise ValueError("a phased or training placement needs ends_on")
        if cadre.on_assignment_until == until:
            return
        old = cadre.on_assignment_until
        await claim_version(session, cadre, cadre.version)
        cadre.on_assignment_until = until
        changes = {
            "on_assignment_until": [old.isoformat() if old else None, until.isoformat()],
            "host_unit_id": d.host_unit_id,
            "campaign_id": d.campaign_id,
        }
        session.add(CadreChange(cadre_id=cadre.id, actor=ACTOR, kind="updated", changes=changes, reason=reason))
        await ctx.runtime.emit_from_handler(session, [events.cadre_updated(cadre, {"on_assignment_until": until})])

    return {matching.PlacementConfirmed.TYPE: placement_confirmed}
