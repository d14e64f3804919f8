"""What roster does when secondments start, are extended and end (issue 6).

A started secondment makes the cadre ``seconded`` until its planned end (availability is
derived from ``seconded_until``); an extension moves that date; the end clears it and, when
the cadre served in a town or village, adds the days served to the cadre's grassroots
periods so ``grassroots_years`` accrues. A grassroots cadre seconded up to a city organ is
away from the grassroots: the open grassroots period pauses the day before the start and
goes on the day after the end (issue 17). Each change is a line of the cadre's history and a
``roster.cadre.updated`` event, written in the handler's transaction. The inbox already
drops redelivered events; an event older than the newest applied of its secondment (by the
secondment's ``version``: a start dead-lettered and replayed after the end) changes nothing;
and the handlers leave a cadre alone when the change is in place, so a re-published event
changes nothing either.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.inbox import Handler
from cadrekit.latest import keep_latest
from contracts import secondment, topics
from services.roster import events
from services.roster.domain.people import Period, paused_for_secondment, resumed_after_secondment
from services.roster.models import Cadre, CadreChange, SecondmentSeen
from services.roster.service.context import Context
from services.roster.service.rules import claim_version, grassroots_years_of, plain_periods

TOPICS = [topics.SECONDMENT]
GRASSROOTS_KINDS = ("town", "village")
UP = "grassroots_to_city"
ACTOR = "secondment-service"
log = logging.getLogger("roster.reactions.secondment")


def _periods(cadre: Cadre) -> list[Period]:
    return [
        Period(dt.date.fromisoformat(p["start"]), _date(p.get("end")), p.get("unit_name"))
        for p in cadre.grassroots_periods
    ]


def _stored(periods: list[Period]) -> list[dict[str, Any]]:
    return plain_periods({"start": p.start, "end": p.end, "unit_name": p.unit_name} for p in periods)


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


async def newest(session: AsyncSession, d: secondment.Placement) -> bool:
    """Whether ``d`` is the newest state of its secondment seen yet, recording it if so (an
    event from before versions, with none, is applied as it was then)."""
    if d.version is None:
        return True
    return await keep_latest(
        session,
        SecondmentSeen.__table__,  # type: ignore[attr-defined]
        {"secondment_id": d.secondment_id},
        {"version": d.version},
        version="version",
    )


def handlers(ctx: Context) -> dict[str, Handler]:
    async def change(session: AsyncSession, d: secondment.Placement, kind: str, reason: str, apply: Any) -> None:
        if not await newest(session, d):
            log.info("older secondment event: nothing changes", extra={"secondment_id": d.secondment_id})
            return
        cadre_id = d.cadre_id
        cadre = await session.get(Cadre, cadre_id)
        if cadre is None:
            log.warning("secondment event for a cadre roster does not hold", extra={"cadre_id": cadre_id})
            return
        before = {
            "seconded_until": cadre.seconded_until,
            "grassroots_periods": list(cadre.grassroots_periods),
            "grassroots_years": cadre.grassroots_years,
        }
        apply(cadre)
        cadre.grassroots_years = grassroots_years_of(cadre.grassroots_periods)  # the only thing derived from these
        changed = {k: getattr(cadre, k) for k, v in before.items() if getattr(cadre, k) != v}
        if not changed:
            return
        await claim_version(session, cadre, cadre.version)
        history = {k: [_iso(before[k]), _iso(v)] for k, v in changed.items()}
        session.add(CadreChange(cadre_id=cadre.id, actor=ACTOR, kind=kind, changes=history, reason=reason))
        await ctx.runtime.emit_from_handler(session, [events.cadre_updated(cadre, changed)])

    async def started(session: AsyncSession, event: dict[str, Any]) -> None:
        d = secondment.Started.of(event)
        up = d.direction == UP

        def apply(cadre: Cadre) -> None:
            cadre.seconded_until = d.ends_on
            if up:
                cadre.grassroots_periods = _stored(paused_for_secondment(_periods(cadre), d.starts_on))

        await change(session, d, "seconded", f"seconded to {d.to_unit_name or d.to_unit_id}", apply)

    async def extended(session: AsyncSession, event: dict[str, Any]) -> None:
        d = secondment.Extended.of(event)

        def apply(cadre: Cadre) -> None:
            cadre.seconded_until = d.ends_on

        await change(session, d, "seconded", f"secondment extended: {d.reason}", apply)

    async def ended(session: AsyncSession, event: dict[str, Any]) -> None:
        d = secondment.Ended.of(event)
        starts_on, ended_on = d.starts_on, d.ended_on
        period = None
        if d.to_unit_kind in GRASSROOTS_KINDS and d.grassroots_days > 0:
            period = {"start": _iso(starts_on), "end": _iso(ended_on), "unit_name": d.to_unit_name}

        def apply(cadre: Cadre) -> None:
            cadre.seconded_until = None
            held = {(p["start"], p.get("end")) for p in cadre.grassroots_periods}
            if period is not None and (period["start"], period["end"]) not in held:
                cadre.grassroots_periods = plain_periods([*cadre.grassroots_periods, period])
            if d.direction == UP and starts_on is not None:
                cadre.grassroots_periods = _stored(resumed_after_secondment(_periods(cadre), starts_on, ended_on))

        what = "completed" if d.end_kind == "completed" else f"ended early: {d.reason}"
        await change(session, d, "returned", f"secondment {what}", apply)

    return {secondment.Started.TYPE: started, secondment.Extended.TYPE: extended, secondment.Ended.TYPE: ended}


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value
