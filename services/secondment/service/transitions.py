"""A secondment's life cycle as use cases: vetting, start, extension, end and withdrawal
(batch approval, which claims each of the batch's secondments, is in batches.py). Each
transition is checked against the domain's state machine and claims the row's version, so
concurrent officers cannot both win."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, field_error
from services.secondment import events
from services.secondment.domain.lifecycle import Action, IllegalTransition, State, transition
from services.secondment.domain.terms import (
    MAX_TERM_MONTHS,
    TermError,
    end_of,
    grassroots_days,
    term_end,
)
from services.secondment.domain.vetting import ASPECTS, outcome
from services.secondment.models import Secondment, Vetting, kit
from services.secondment.schemas import (
    EndIn,
    ExtendIn,
    SecondmentPublic,
    StartIn,
    VettingIn,
    VettingPublic,
    WithdrawIn,
)
from services.secondment.service.context import Context
from services.secondment.service.queries import (
    load_batch,
    load_secondment,
    refused,
    secondment_read,
    vetting_read,
)

# What a vetting request may set, each only when given (recorded in parts).
VETTING_FIELDS = (*ASPECTS, "discipline_reference", "discipline_opinion", "notes")


def allowed(sec: Secondment, action: Action) -> State:
    try:
        return transition(State(sec.state), action)
    except IllegalTransition as exc:
        raise refused(exc) from None


async def claim(s: AsyncSession, sec: Secondment, action: Action) -> State:
    """Check the transition, then compare-and-set the version: of two officers acting on the
    same secondment at once, one wins and the other gets 409."""
    new_state = allowed(sec, action)
    result = cast(
        CursorResult[Any],
        await s.execute(
            update(Secondment)
            .where(col(Secondment.id) == sec.id, col(Secondment.version) == sec.version)
            .values(version=sec.version + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise Conflict("the secondment was changed concurrently; fetch it again")
    sec.version += 1
    sec.updated_at = utcnow()
    sec.state = new_state.value
    return new_state


async def record_vetting(ctx: Context, principal: Principal, secondment_id: str, body: VettingIn) -> SecondmentPublic:
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        if sec.state != State.nominated:
            raise Conflict(
                f"vetting is recorded while nominated; this secondment is {sec.state}", state=sec.state, action="vet"
            )
        vetting = await s.get(Vetting, sec.id)
        if vetting is None:
            vetting = Vetting(secondment_id=sec.id, vetted_by=principal.sub)
            s.add(vetting)
        for name in VETTING_FIELDS:
            value = getattr(body, name)
            if value is not None:
                setattr(vetting, name, value)
        vetting.vetted_by, vetting.updated_at = principal.sub, utcnow()
        record = {a: getattr(vetting, a) for a in ASPECTS} | {"discipline_reference": vetting.discipline_reference}
        if outcome(record).passed:
            await claim(s, sec, Action.vet)
        await uow.commit()
        return secondment_read(sec, vetting)


async def read_vetting(
    ctx: Context, principal: Principal, secondment_id: str, *, reveal: bool, reason: str | None
) -> VettingPublic:
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        vetting = await s.get(Vetting, sec.id)
        if vetting is None:
            raise NotFound("no vetting recorded for this secondment yet")
        if reveal and vetting.discipline_opinion is not None:
            await record_personal_data_read(
                s,
                kit,
                principal,
                action="read_discipline_opinion",
                subject_type="cadre",
                subject_ids=[sec.cadre_id],
                fields=["discipline_opinion"],
                reason=reason or "",
            )
            await uow.commit()
        return vetting_read(vetting, reveal=reveal)


async def start(ctx: Context, principal: Principal, secondment_id: str, body: StartIn) -> SecondmentPublic:
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        batch = await load_batch(s, sec.batch_id)
        await claim(s, sec, Action.start)
        sec.starts_on = body.starts_on or batch.starts_on
        sec.ends_on = term_end(sec.starts_on, sec.term_months)
        uow.record(events.started(sec))
        await uow.commit()
        return secondment_read(sec)


async def extend(ctx: Context, principal: Principal, secondment_id: str, body: ExtendIn) -> SecondmentPublic:
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        months = body.months
        if months < 1:
            raise field_error("months", "an extension adds at least one month")
        if sec.state == State.active and sec.term_months + months > MAX_TERM_MONTHS:
            raise field_error(
                "months", f"the term would be {sec.term_months + months} months; at most {MAX_TERM_MONTHS}"
            )
        await claim(s, sec, Action.extend)
        assert sec.starts_on is not None and sec.ends_on is not None  # an active secondment has its dates
        previous = sec.ends_on
        sec.term_months += months
        sec.ends_on = term_end(sec.starts_on, sec.term_months)
        sec.extensions = [
            *sec.extensions,
            {
                "months": months,
                "reason": body.reason,
                "previous_ends_on": previous.isoformat(),
                "ends_on": sec.ends_on.isoformat(),
                "by": principal.sub,
                "at": utcnow().isoformat(),
            },
        ]
        uow.record(events.extended(sec, months, body.reason))
        await uow.commit()
        return secondment_read(sec)


async def end(ctx: Context, principal: Principal, secondment_id: str, body: EndIn) -> SecondmentPublic:
    early = body.kind == "early"
    if early and not body.reason:
        raise field_error("reason", "an early end needs a reason")
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        action = Action.end_early if early else Action.complete
        allowed(sec, action)  # before the dates are read: a secondment that has not started has none
        assert sec.starts_on is not None and sec.ends_on is not None
        try:
            ending = end_of(sec.starts_on, sec.ends_on, body.ended_on, early=early)
        except TermError as exc:
            raise field_error(exc.field, exc.message) from None
        await claim(s, sec, action)
        sec.ended_on, sec.end_kind, sec.days_served = ending.ended_on, ending.end_kind, ending.days_served
        sec.end_reason = body.reason
        sec.holds_cadre_id = None
        uow.record(events.ended(sec, grassroots_days(sec.to_unit_kind, sec.starts_on, ending.ended_on)))
        await uow.commit()
        return secondment_read(sec)


async def withdraw(ctx: Context, principal: Principal, secondment_id: str, body: WithdrawIn) -> SecondmentPublic:
    async with ctx.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        await claim(s, sec, Action.withdraw)
        sec.withdraw_reason = body.reason
        sec.holds_cadre_id = None
        uow.record(events.withdrawn(sec))
        await uow.commit()
        return secondment_read(sec)
