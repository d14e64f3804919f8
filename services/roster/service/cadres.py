"""The cadre ledger's use cases: register, read, list, change, move, exit, history, reveal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.errors import Conflict, Invalid, NotPermitted, StaleVersion, field_error
from cadrekit.pagination import decode_cursor, window
from cadrekit.scope import Scope
from services.roster import events, exporting
from services.roster.domain import id_numbers, registration
from services.roster.domain.registration import Registration
from services.roster.models import Cadre, CadreChange, kit
from services.roster.protection import Sealed
from services.roster.schemas import (
    CadreCreate,
    CadreExit,
    CadreMove,
    CadrePage,
    CadrePublic,
    CadreUpdate,
    ExcludedCadre,
    IdNumberReveal,
)
from services.roster.service.context import Context
from services.roster.service.queries import (
    CadreFilter,
    availability_of,
    cadre_public,
    filtered_cadres,
    find_cadre,
    find_unit,
)
from services.roster.service.rules import (
    DERIVED,
    TRACKED,
    RetirementFacts,
    check_decision,
    check_id_consistency,
    claim_version,
    derive,
    duplicate_id,
    follow_unit,
    grassroots_years_of,
    is_duplicate_id,
    iso,
    plain_periods,
    seal_into,
)


def _change(
    principal: Principal, cadre: Cadre, kind: str, changes: dict[str, Any], reason: str | None = None
) -> CadreChange:
    return CadreChange(
        cadre_id=cadre.id,
        actor=principal.sub,
        acting_client=principal.act,
        kind=kind,
        changes=changes,
        reason=reason,
    )


async def register_cadre(ctx: Context, principal: Principal, body: CadreCreate) -> CadrePublic:
    check_id_consistency(body.id_number, body.birth_date, body.gender)
    async with ctx.uow() as uow:
        s = uow.session
        unit = await find_unit(s, body.unit_id)
        check_decision(ctx, retirement_facts(body, unit.kind), unit.kind)
        new = registration_of(ctx, body, unit.kind)
        cadre = Cadre(**new._asdict(), id_number_sealed=b"", id_number_kid="", id_number_index="", id_number_masked="")
        seal_into(ctx, cadre, body.id_number)
        if await is_duplicate_id(s, cadre.id_number_index):
            raise duplicate_id()
        s.add(cadre)
        s.add(_change(principal, cadre, "registered", registration.history(new)))
        uow.record(events.registered(cadre.id, new))
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent registration of the same number
            raise duplicate_id() from exc
        return cadre_public(cadre, unit.name)


def registration_of(ctx: Context, body: CadreCreate, unit_kind: str) -> Registration:
    """What ``POST /cadres`` registers, derived fields worked out as ``rules.derive`` does."""
    periods = plain_periods(body.grassroots_periods)
    return Registration(
        name=body.name,
        gender=body.gender,
        birth_date=body.birth_date,
        unit_id=body.unit_id,
        post_title=body.post_title,
        rank=body.rank,
        party_member=body.party_member,
        education=body.education,
        years_of_service=body.years_of_service,
        grassroots_periods=periods,
        grassroots_years=grassroots_years_of(periods),
        strengths=list(body.strengths),
        post_wishes=list(body.post_wishes),
        professional_field=body.professional_field,
        willingness=body.willingness.model_dump(),
        leadership_status=body.leadership_status,
        health=body.health,
        **retirement_facts(body, unit_kind).registered(ctx),
    )


def retirement_facts(body: CadreCreate, unit_kind: str) -> RetirementFacts:
    decision = body.retirement_decision
    return RetirementFacts(
        birth_date=body.birth_date,
        gender=body.gender,
        rank=body.rank,
        retirement_category=body.retirement_category,
        retirement_decision=decision.kind if decision else None,
        retirement_decision_on=decision.retires_on if decision else None,
        retirement_decided_on=decision.decided_on if decision else None,
        retirement_date_override=body.retirement_date,
        unit_kind=unit_kind,
    )


def _decision_line(kind: str | None, retires_on: dt.date | None, decided_on: dt.date | None) -> Any:
    """A retirement decision as its history line holds it."""
    if kind is None:
        return None
    return {"kind": kind, "retires_on": iso(retires_on), "decided_on": iso(decided_on)}


async def get_cadre(ctx: Context, cadre_id: str, year: int | None = None) -> CadrePublic:
    async with ctx.uow() as uow:
        cadre, unit = await find_cadre(uow.session, cadre_id)
        return cadre_public(cadre, unit.name, year)


def _check_version(cadre: Cadre, if_match: int | None) -> None:
    if if_match is not None and cadre.version != if_match:
        raise StaleVersion(f"the cadre is at version {cadre.version}, not {if_match}", current_version=cadre.version)


async def update_cadre(
    ctx: Context, principal: Principal, cadre_id: str, if_match: int, body: CadreUpdate
) -> CadrePublic:
    # The fields the caller sent, as the columns hold them (periods and willingness plain).
    data = body.model_dump(exclude_unset=True)
    async with ctx.uow() as uow:
        s = uow.session
        cadre, unit = await find_cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict("this cadre has left the roster and can no longer be changed")
        _check_version(cadre, if_match)
        old_version = cadre.version
        changed: dict[str, Any] = {}
        history: dict[str, Any] = {}
        if data.get("grassroots_periods") is not None:
            data["grassroots_periods"] = plain_periods(data["grassroots_periods"])
        for field in TRACKED:
            if field in data and data[field] is not None and getattr(cadre, field) != data[field]:
                history[field] = [iso(getattr(cadre, field)), iso(data[field])]
                changed[field] = data[field]
                setattr(cadre, field, data[field])
        if "retirement_date" in data and data["retirement_date"] != cadre.retirement_date_override:
            history["retirement_date_override"] = [iso(cadre.retirement_date_override), iso(data["retirement_date"])]
            cadre.retirement_date_override = data["retirement_date"]
        if "retirement_category" in data and data["retirement_category"] != cadre.retirement_category:
            history["retirement_category"] = [cadre.retirement_category, data["retirement_category"]]
            cadre.retirement_category = data["retirement_category"]
        if "retirement_decision" in data:
            decision = body.retirement_decision
            new = (decision.kind, decision.retires_on, decision.decided_on) if decision else (None, None, None)
            old = (cadre.retirement_decision, cadre.retirement_decision_on, cadre.retirement_decided_on)
            if new != old:
                history["retirement_decision"] = [_decision_line(*old), _decision_line(*new)]
                cadre.retirement_decision, cadre.retirement_decision_on, cadre.retirement_decided_on = new
        if history.keys() & {"retirement_decision", "retirement_category", "birth_date", "gender", "rank"}:
            check_decision(ctx, cadre, unit.kind)  # a recorded decision stays inside its window
        new_id = body.id_number
        if new_id:
            index = ctx.sealer.index(new_id)
            if index != cadre.id_number_index:
                if await is_duplicate_id(s, index, cadre.id):
                    raise duplicate_id()
                history["id_number"] = [cadre.id_number_masked, id_numbers.mask(new_id)]
                changed["id_number"] = True
                seal_into(ctx, cadre, new_id)
        plain = (
            ctx.sealer.open(Sealed(cadre.id_number_kid, cadre.id_number_sealed))
            if (new_id or "birth_date" in changed or "gender" in changed)
            else None
        )
        if plain:
            check_id_consistency(plain, cadre.birth_date, cadre.gender)
        before = {key: getattr(cadre, key) for key in DERIVED}
        derive(ctx, cadre, unit.kind)
        changed |= {key: getattr(cadre, key) for key in DERIVED if getattr(cadre, key) != before[key]}
        if not history:
            return cadre_public(cadre, unit.name)
        # Optimistic lock in the database too: a concurrent writer that passed the check
        # above with the same version makes this update match no row.
        await claim_version(s, cadre, old_version)
        s.add(_change(principal, cadre, "updated", history))
        uow.record(events.cadre_updated(cadre, changed))
        await uow.commit()
        return cadre_public(cadre, unit.name)


async def move_cadre(
    ctx: Context, principal: Principal, cadre_id: str, if_match: int | None, body: CadreMove
) -> CadrePublic:
    async with ctx.uow() as uow:
        s = uow.session
        cadre, _unit_row = await find_cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict("this cadre has left the roster")
        _check_version(cadre, if_match)
        target = await find_unit(s, body.unit_id)
        if target.id == cadre.unit_id and body.post_title in (None, cadre.post_title):
            raise field_error("unit_id", "the cadre is already in this unit and post")
        old_unit, old_post = cadre.unit_id, cadre.post_title
        await claim_version(s, cadre, cadre.version)
        cadre.unit_id = target.id
        if body.post_title is not None:
            cadre.post_title = body.post_title
        changes = {
            "unit_id": [old_unit, target.id],
            "post_title": [old_post, cadre.post_title],
            "effective_on": body.effective_on.isoformat(),
        }
        old_retirement = cadre.retirement_date
        retired = follow_unit(ctx, cadre, target.kind)
        if "retirement_date" in retired:
            changes["retirement_date"] = [iso(old_retirement), iso(cadre.retirement_date)]
        s.add(_change(principal, cadre, "moved", changes, body.reason))
        uow.record(events.cadre_moved(cadre, old_unit, body.effective_on, body.reason))
        if retired:  # the category follows the unit's kind: a version of its own, said by an update
            cadre.version += 1
            uow.record(events.cadre_updated(cadre, retired))
        await uow.commit()
        return cadre_public(cadre, target.name)


async def exit_cadre(ctx: Context, principal: Principal, cadre_id: str, body: CadreExit) -> CadrePublic:
    async with ctx.uow() as uow:
        s = uow.session
        cadre, unit = await find_cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict(f"this cadre already left the roster on {cadre.exit_date}")
        await claim_version(s, cadre, cadre.version)
        cadre.status = "left"
        cadre.exit_kind, cadre.exit_date, cadre.exit_reason = body.kind, body.date, body.reason
        s.add(_change(principal, cadre, "left", {"kind": body.kind, "date": body.date.isoformat()}, body.reason))
        uow.record(events.cadre_left(cadre))
        await uow.commit()
        return cadre_public(cadre, unit.name)


async def cadre_history(ctx: Context, cadre_id: str) -> Sequence[CadreChange]:
    async with ctx.uow() as uow:
        s = uow.session
        await find_cadre(s, cadre_id)
        stmt = select(CadreChange).where(col(CadreChange.cadre_id) == cadre_id).order_by(col(CadreChange.id))
        return (await s.execute(stmt)).scalars().all()


async def reveal_id_number(ctx: Context, principal: Principal, cadre_id: str, reason: str) -> IdNumberReveal:
    async with ctx.uow() as uow:
        s = uow.session
        cadre, _ = await find_cadre(s, cadre_id)
        value = ctx.sealer.open(Sealed(cadre.id_number_kid, cadre.id_number_sealed))
        await record_personal_data_read(
            s,
            kit,
            principal,
            action="reveal_id_number",
            subject_type="cadre",
            subject_ids=[cadre.id],
            fields=["id_number", "birth_date"],
            reason=reason,
        )
        await uow.commit()
        return IdNumberReveal(cadre_id=cadre.id, id_number=value, birth_date=cadre.birth_date)


async def list_cadres(ctx: Context, f: CadreFilter, scope: Scope, *, limit: int, cursor: str | None) -> CadrePage:
    async with ctx.uow() as uow:
        s = uow.session
        stmt = await filtered_cadres(s, f, scope)
        excluded: list[ExcludedCadre] | None = None
        if f.available_in is not None:
            y = f.available_in
            unavailable = or_(col(Cadre.retirement_date) < dt.date(y + 1, 1, 1), col(Cadre.health) == "exempt")
            if cursor is None:
                ex_rows = (await s.execute(stmt.where(unavailable).order_by(col(Cadre.name), col(Cadre.id)))).all()
                excluded = []
                for cadre, _ in ex_rows:
                    if not f.keeps(cadre):
                        continue  # filtered like the items
                    a = availability_of(cadre, y)
                    excluded.append(ExcludedCadre(cadre_id=cadre.id, name=cadre.name, status=a.status, reason=a.reason))
            stmt = stmt.where(~unavailable)
        after = decode_cursor(cursor, 2, (str, str))
        if after:
            stmt = stmt.where(
                or_(col(Cadre.name) > after[0], and_(col(Cadre.name) == after[0], col(Cadre.id) > after[1]))
            )
        ordered = stmt.order_by(col(Cadre.name), col(Cadre.id))
        rows: list[Any]
        if f.strength:
            # Strengths are a JSON list matched here, not in SQL: read on until the page is
            # full, or a page could come back empty (and without a cursor) before the matches.
            rows = []
            result = await s.stream(ordered.execution_options(yield_per=500))
            async for row in result:
                if f.keeps(row[0]):
                    rows.append(row)
                    if len(rows) > limit:
                        break
            await result.close()
        else:
            rows = list((await s.execute(ordered.limit(limit + 1))).all())
        rows, next_cursor = window(rows, limit, lambda row: [row[0].name, row[0].id])
        items = [cadre_public(c, unit_name, f.available_in) for c, unit_name in rows]
        return CadrePage(items=items, next_cursor=next_cursor, excluded=excluded)


async def export_cadres(
    ctx: Context,
    principal: Principal,
    f: CadreFilter,
    scope: Scope,
    *,
    reveal_id_numbers: bool,
    reason: str | None,
) -> bytes:
    """The XLSX of the cadres the filter names; full ID numbers only for the cadre office,
    with a reason (audited)."""
    if reveal_id_numbers:
        if principal.role.value not in ("admin", "officer"):
            raise NotPermitted("your role may not read full ID numbers")
        if not reason:
            raise Invalid(
                "a reason is required to export full ID numbers",
                errors=[{"field": "reason", "message": "required with reveal_id_numbers"}],
            )
    return await exporting.export_cadres(ctx, principal, f, scope, reveal_reason=reason if reveal_id_numbers else None)
