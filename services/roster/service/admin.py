"""Operations: re-publishing and snapshots of events, ID-number sealing and normal form."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from contracts.envelope import Event
from services.roster import events, rederiving, renormalising, resealing
from services.roster.models import Cadre, Unit
from services.roster.schemas import (
    EventsRepublished,
    EventsSnapshot,
    IdNumberTwins,
    Rederived,
    Renormalised,
    Resealed,
    SealingStatus,
    SnapshotSubjects,
)
from services.roster.service.context import Context


async def republish(ctx: Context, since: dt.datetime) -> EventsRepublished:
    """``since``: in UTC."""
    return EventsRepublished(republishing=await ctx.runtime.relay.mark_for_republish(since))


async def snapshot(ctx: Context, only: SnapshotSubjects | None = None) -> EventsSnapshot:
    """Current state as events, so a late subscriber or a lost read model catches up;
    ``only``: just those units and cadres (a mirror's open gaps)."""
    async with ctx.uow() as uow:
        made, found = await snapshot_events(uow.session, only)
        uow.record_all(made)
        await uow.commit()
    asked = [] if only is None else [*only.unit_ids, *only.cadre_ids]
    return EventsSnapshot(events=len(made), not_found=[i for i in asked if i not in found])


async def snapshot_events(s: AsyncSession, only: SnapshotSubjects | None) -> tuple[list[Event], set[str]]:
    """The snapshot's events (units first, by path) and the ids found; the caller writes them
    (the API in a unit of work, the reaction to a mirror's gap in the inbox transaction)."""
    units = select(Unit).order_by(col(Unit.path))
    cadres = select(Cadre).order_by(col(Cadre.created_at), col(Cadre.id))
    if only is not None:
        units = units.where(col(Unit.id).in_(only.unit_ids))
        cadres = cadres.where(col(Cadre.id).in_(only.cadre_ids))
    made: list[Event] = []
    found: set[str] = set()
    for unit in (await s.execute(units)).scalars():
        made.append(events.unit_created(unit, snapshot=True))
        found.add(unit.id)
    for cadre in (await s.execute(cadres)).scalars():
        made.append(events.cadre_registered(cadre, snapshot=True))
        found.add(cadre.id)
    return made, found


async def sealing(ctx: Context) -> SealingStatus:
    return SealingStatus(active_kid=ctx.sealer.active, pending=await resealing.pending(ctx.runtime, ctx.sealer))


async def reseal(ctx: Context) -> Resealed:
    done = await resealing.reseal_all(ctx.runtime, ctx.sealer)
    pending = await resealing.pending(ctx.runtime, ctx.sealer)
    return Resealed(resealed=done, active_kid=ctx.sealer.active, pending=pending)


async def id_number_twins(ctx: Context) -> IdNumberTwins:
    # Names and units from the whole roster: not for a token limited to some units.
    return IdNumberTwins(pending=await renormalising.pending(ctx), twins=await renormalising.twins(ctx))


async def renormalise(ctx: Context) -> Renormalised:
    done = await renormalising.renormalise_all(ctx)
    return Renormalised(
        checked=done.checked,
        renormalised=done.renormalised,
        twins=done.twins,
        failed=done.failed,
        released=done.released,
        pending=await renormalising.pending(ctx),
    )


async def rederive_retirement(ctx: Context) -> Rederived:
    done = await rederiving.rederive_all(ctx)
    return Rederived(
        law=ctx.retirement.key, looked_at=done.looked_at, changed=done.changed, pending=await rederiving.pending(ctx)
    )
