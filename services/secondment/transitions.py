"""The life cycle as use cases: vetting, batch approval (vetting complete, pairs whole,
quotas met), start, extension, end and withdrawal. Each transition is checked against the
domain's state machine and claims the row's version, so concurrent officers cannot both win."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.dates import add_months
from cadrekit.db import utcnow
from cadrekit.problems import Conflict, NotFound, field_error
from services.secondment import events
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import Action, IllegalTransition, State, transition
from services.secondment.domain.quotas import unmet
from services.secondment.domain.terms import (
    MAX_TERM_MONTHS,
    TermError,
    end_of,
    grassroots_days,
    term_end,
)
from services.secondment.domain.vetting import ASPECTS, outcome
from services.secondment.models import (
    Batch,
    Secondment,
    Vetting,
    kit,
)
from services.secondment.service import (
    Secondments,
    batch_public,
    load_batch,
    load_secondment,
    quota_rules_of,
    refused,
    secondment_public,
    vetting_public,
)


# life cycle --------------------------------------------------------------------------------
def _allowed(sec: Secondment, action: Action) -> State:
    try:
        return transition(State(sec.state), action)
    except IllegalTransition as exc:
        raise refused(exc) from None


async def _claim(s: AsyncSession, sec: Secondment, action: Action) -> State:
    """Check the transition, then compare-and-set the version: of two officers acting on the
    same secondment at once, one wins and the other gets 409."""
    new_state = _allowed(sec, action)
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


async def record_vetting(
    r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    async with r.uow() as uow:
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
        for key, value in data.items():
            if value is not None:
                setattr(vetting, key, value)
        vetting.vetted_by, vetting.updated_at = principal.sub, utcnow()
        record = {a: getattr(vetting, a) for a in ASPECTS} | {"discipline_reference": vetting.discipline_reference}
        if outcome(record).passed:
            await _claim(s, sec, Action.vet)
        await uow.commit()
        return secondment_public(sec, vetting)


async def read_vetting(
    r: Secondments, principal: Principal, secondment_id: str, *, reveal: bool, reason: str | None
) -> dict[str, Any]:
    async with r.uow() as uow:
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
        return vetting_public(vetting, reveal=reveal)


async def approve_batch(r: Secondments, principal: Principal, batch_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        batch = await load_batch(s, batch_id)
        if batch.state != "open":
            raise Conflict(f"batch {batch.id} is already {batch.state}", state=batch.state, action="approve")
        rows = (
            (
                await s.execute(
                    select(Secondment)
                    .where(
                        col(Secondment.batch_id) == batch.id,
                        col(Secondment.state).in_([State.nominated.value, State.vetted.value]),
                    )
                    .order_by(col(Secondment.id))
                )
            )
            .scalars()
            .all()
        )
        unvetted = [x for x in rows if x.state == State.nominated]
        if unvetted:
            raise Conflict(
                f"{len(unvetted)} nominee(s) not yet vetted: no approval without complete vetting",
                state="nominated",
                unvetted=[
                    {"secondment_id": x.id, "cadre_id": x.cadre_id, "cadre_name": x.cadre_name} for x in unvetted
                ],
            )
        if not rows:
            raise Conflict("this batch has no vetted nominee to approve")
        if not batch.allow_unpaired:
            sides: dict[str, set[str]] = {}
            for x in rows:
                if x.pair_id:
                    sides.setdefault(x.pair_id, set()).add(x.direction)
            half = sorted(p for p, d in sides.items() if len(d) < 2)
            if half:
                raise Conflict(
                    f"{len(half)} pair(s) send only one way; this batch places cadres in pairs",
                    incomplete_pairs=half,
                )
        shortfalls = unmet(quota_rules_of(batch.quota_rules), [(el.Direction(x.direction), x.region) for x in rows])
        if shortfalls:
            raise Conflict(
                "; ".join(f.message() for f in shortfalls),
                unmet_rules=[
                    {
                        "rule": f"quota_rules[{f.index}]",
                        "description": f.rule,
                        "direction": f.direction,
                        "regions": f.regions,
                        "count": f.count,
                        "of": f.of,
                        "bound": f.bound,
                        "required": f.required,
                    }
                    for f in shortfalls
                ],
            )
        claimed = cast(
            CursorResult[Any],
            await s.execute(
                update(Batch)
                .where(col(Batch.id) == batch.id, col(Batch.version) == batch.version, col(Batch.state) == "open")
                .values(version=batch.version + 1, state="approved", approved_by=principal.sub, approved_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        if claimed.rowcount != 1:
            raise Conflict("the batch was approved or changed concurrently; fetch it again", state="approved")
        for x in rows:
            await _claim(s, x, Action.approve)
            uow.record(events.approved(x, batch))
        await uow.commit()
        await s.refresh(batch)
        return {**batch_public(batch), "approved": len(rows)}


async def start(r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        batch = await load_batch(s, sec.batch_id)
        await _claim(s, sec, Action.start)
        sec.starts_on = data.get("starts_on") or batch.starts_on
        sec.ends_on = term_end(sec.starts_on, sec.term_months)
        uow.record(events.started(sec))
        await uow.commit()
        return secondment_public(sec)


async def extend(r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        months = data["months"]
        if months < 1:
            raise field_error("months", "an extension adds at least one month")
        if sec.state == State.active and sec.term_months + months > MAX_TERM_MONTHS:
            raise field_error(
                "months", f"the term would be {sec.term_months + months} months; at most {MAX_TERM_MONTHS}"
            )
        await _claim(s, sec, Action.extend)
        assert sec.starts_on is not None and sec.ends_on is not None  # an active secondment has its dates
        previous = sec.ends_on
        sec.term_months += months
        sec.ends_on = add_months(sec.starts_on, sec.term_months)
        sec.extensions = [
            *sec.extensions,
            {
                "months": months,
                "reason": data["reason"],
                "previous_ends_on": previous.isoformat(),
                "ends_on": sec.ends_on.isoformat(),
                "by": principal.sub,
                "at": utcnow().isoformat(),
            },
        ]
        uow.record(events.extended(sec, months, data["reason"]))
        await uow.commit()
        return secondment_public(sec)


async def end(r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]) -> dict[str, Any]:
    early = data["kind"] == "early"
    if early and not data.get("reason"):
        raise field_error("reason", "an early end needs a reason")
    async with r.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        action = Action.end_early if early else Action.complete
        _allowed(sec, action)  # before the dates are read: a secondment that has not started has none
        assert sec.starts_on is not None and sec.ends_on is not None
        try:
            ending = end_of(sec.starts_on, sec.ends_on, data.get("ended_on"), early=early)
        except TermError as exc:
            raise field_error(exc.field, exc.message) from None
        await _claim(s, sec, action)
        sec.ended_on, sec.end_kind, sec.days_served = ending.ended_on, ending.end_kind, ending.days_served
        sec.end_reason = data.get("reason")
        sec.holds_cadre_id = None
        uow.record(events.ended(sec, grassroots_days(sec.to_unit_kind, sec.starts_on, ending.ended_on)))
        await uow.commit()
        return secondment_public(sec)


async def withdraw(r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        sec = await load_secondment(s, secondment_id)
        await _claim(s, sec, Action.withdraw)
        sec.withdraw_reason = data["reason"]
        sec.holds_cadre_id = None
        uow.record(events.withdrawn(sec))
        await uow.commit()
        return secondment_public(sec)
