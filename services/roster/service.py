"""Roster use cases: each opens a unit of work, applies the rules, records events, commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.dates import today
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.problems import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed, field_error
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import Scope
from cadrekit.uow import UnitOfWork
from services.roster import events
from services.roster.domain import id_numbers
from services.roster.domain.people import Period, RetirementRule, age_on, availability_in, grassroots_years
from services.roster.domain.units import (
    TopLevelRefused,
    TreeError,
    check_move,
    check_top_level,
    child_path,
    path_ids,
    rebase,
)
from services.roster.models import ID_FORM_NORMAL, Cadre, CadreChange, Unit, UnitChange, kit
from services.roster.protection import IdSealer, Sealed


@dataclass
class Roster:
    runtime: ServiceRuntime
    sealer: IdSealer
    retirement: RetirementRule

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()


class CadreNotFound(NotFound):
    pass


class UnitNotFound(NotFound):
    pass


# Unit scope is declared on the routes (cadrekit.scope, services/roster/api/deps.py): an
# object outside the caller's units never reaches these use cases, and lists get the Scope
# to put in their query.
async def _unit(session: AsyncSession, unit_id: str, field: str = "unit_id", *, for_input: bool = True) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        if for_input:
            raise field_error(field, f"unit {unit_id} does not exist", "unknown unit")
        raise UnitNotFound(f"unit {unit_id} does not exist")
    return unit


# units ------------------------------------------------------------------------------------
def unit_public(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "region": unit.region,
        "body": unit.body,
        "parent_id": unit.parent_id,
        "path": path_ids(unit.path),
        "version": unit.version,
        "created_at": unit.created_at,
        "updated_at": unit.updated_at,
    }


def unit_change(principal: Principal, unit_id: str, kind: str, changes: dict[str, Any]) -> UnitChange:
    """A line of a unit's history, naming the person (and the system acting for them)."""
    return UnitChange(unit_id=unit_id, actor=principal.sub, acting_client=principal.act, kind=kind, changes=changes)


def _top_level(parent_id: str | None, scope: Scope) -> None:
    try:
        check_top_level(parent_id, whole_tree=scope.whole_tree)
    except TopLevelRefused as exc:
        raise Forbidden(str(exc)) from exc


async def create_unit(r: Roster, principal: Principal, scope: Scope, data: dict[str, Any]) -> dict[str, Any]:
    """``scope``: the caller's, whose rule has checked a named parent; it says here whether
    the caller may create a unit at the top level."""
    _top_level(data.get("parent_id"), scope)
    async with r.uow() as uow:
        s = uow.session
        parent_path = None
        if data.get("parent_id") is not None:
            parent = await _unit(s, data["parent_id"], "parent_id")
            parent_path = parent.path
        unit = Unit(**data, path="")
        unit.path = child_path(parent_path, unit.id)
        s.add(unit)
        s.add(unit_change(principal, unit.id, "created", {k: v for k, v in data.items() if v is not None}))
        uow.record(events.unit_created(unit))
        await uow.commit()
        return unit_public(unit)


async def get_unit(r: Roster, unit_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        return unit_public(await _unit(uow.session, unit_id, for_input=False))


async def list_units(
    r: Roster,
    scope: Scope,
    *,
    parent_id: str | None,
    within: str | None,
    kind: str | None,
    region: str | None,
    name: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        stmt = select(Unit).where(scope.clause(col(Unit.id)))
        if parent_id:
            stmt = stmt.where(col(Unit.parent_id) == parent_id)
        if within:
            root = await _unit(s, within, "within")
            stmt = stmt.where(col(Unit.path).like(root.path + "%"))
        if kind:
            stmt = stmt.where(col(Unit.kind) == kind)
        if region:
            stmt = stmt.where(col(Unit.region) == region)
        if name:
            stmt = stmt.where(col(Unit.name).contains(name, autoescape=True))
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(Unit.path > after[0])
        rows = (await s.execute(stmt.order_by(Unit.path).limit(limit + 1))).scalars().all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [unit_public(u) for u in rows],
            "next_cursor": encode_cursor([rows[-1].path]) if more and rows else None,
        }


async def update_unit(r: Roster, principal: Principal, unit_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        unit = await _unit(s, unit_id, for_input=False)
        changed = {k: [getattr(unit, k), v] for k, v in data.items() if getattr(unit, k) != v}
        if not changed:
            return unit_public(unit)
        for k, v in data.items():
            setattr(unit, k, v)
        unit.version += 1
        unit.updated_at = dt.datetime.now(dt.UTC)
        kind = "renamed" if set(changed) == {"name"} else "updated"
        s.add(unit_change(principal, unit.id, kind, changed))
        uow.record(events.unit_updated(unit, {k: v[1] for k, v in changed.items()}))
        await uow.commit()
        return unit_public(unit)


async def move_unit(
    r: Roster, principal: Principal, scope: Scope, unit_id: str, parent_id: str | None, reason: str | None
) -> dict[str, Any]:
    """``scope``: as for :func:`create_unit`, for the new parent."""
    _top_level(parent_id, scope)
    async with r.uow() as uow:
        s = uow.session
        unit = await _unit(s, unit_id, for_input=False)
        new_parent = await _unit(s, parent_id, "parent_id") if parent_id else None
        try:
            check_move(unit.path, new_parent.path if new_parent else None)
        except TreeError as exc:
            raise field_error("parent_id", str(exc)) from exc
        old_path = unit.path
        new_path = child_path(new_parent.path if new_parent else None, unit.id)
        descendants = (await s.execute(select(Unit).where(col(Unit.path).like(old_path + "%")))).scalars().all()
        for d in descendants:
            d.path = rebase(d.path, old_path, new_path)
        old_parent = unit.parent_id
        unit.parent_id = parent_id
        unit.version += 1
        unit.updated_at = dt.datetime.now(dt.UTC)
        s.add(unit_change(principal, unit.id, "moved", {"parent_id": [old_parent, parent_id], "reason": reason}))
        uow.record(events.unit_updated(unit, {"parent_id": parent_id}))
        for d in descendants:
            if d.id != unit.id:
                uow.record(events.unit_updated(d, {"path": path_ids(d.path)}))
        await uow.commit()
        return unit_public(unit)


async def unit_history(r: Roster, unit_id: str) -> list[dict[str, Any]]:
    async with r.uow() as uow:
        s = uow.session
        await _unit(s, unit_id, for_input=False)
        rows = (
            (await s.execute(select(UnitChange).where(col(UnitChange.unit_id) == unit_id).order_by(col(UnitChange.id))))
            .scalars()
            .all()
        )
        return [
            {"at": c.at, "actor": c.actor, "acting_client": c.acting_client, "kind": c.kind, "changes": c.changes}
            for c in rows
        ]


# cadres -----------------------------------------------------------------------------------
def mask_birth(birth: dt.date) -> str:
    return f"{birth.year}-**-**"


def cadre_public(r: Roster, cadre: Cadre, unit_name: str | None, year: int | None = None) -> dict[str, Any]:
    out = {
        "id": cadre.id,
        "name": cadre.name,
        "gender": cadre.gender,
        "birth_date": mask_birth(cadre.birth_date),
        "age": age_on(cadre.birth_date, today()),
        "id_number": cadre.id_number_masked,
        "unit_id": cadre.unit_id,
        "unit_name": unit_name,
        "post_title": cadre.post_title,
        "rank": cadre.rank,
        "party_member": cadre.party_member,
        "education": cadre.education,
        "years_of_service": cadre.years_of_service,
        "grassroots_periods": cadre.grassroots_periods,
        "grassroots_years": cadre.grassroots_years,
        "strengths": cadre.strengths,
        "post_wishes": cadre.post_wishes,
        "professional_field": cadre.professional_field,
        "willingness": cadre.willingness,
        "leadership_status": cadre.leadership_status,
        "health": cadre.health,
        "retirement_date": cadre.retirement_date,
        "retirement_date_is_set": cadre.retirement_date_override is not None,
        "status": cadre.status,
        "exit": {"kind": cadre.exit_kind, "date": cadre.exit_date, "reason": cadre.exit_reason}
        if cadre.status == "left"
        else None,
        "version": cadre.version,
        "created_at": cadre.created_at,
        "updated_at": cadre.updated_at,
    }
    if year is not None:
        a = availability_of(cadre, year)
        out["availability"] = {"year": year, "status": a.status, "reason": a.reason}
    return out


def availability_of(cadre: Cadre, year: int) -> Any:
    return availability_in(
        year,
        retirement_date=cadre.retirement_date,
        health=cadre.health,
        left=cadre.status == "left",
        seconded_until=cadre.seconded_until,
        on_assignment_until=cadre.on_assignment_until,
    )


def derive(r: Roster, cadre: Cadre) -> None:
    """Recompute what is derived, never typed in: retirement date and grassroots years."""
    cadre.retirement_date = cadre.retirement_date_override or r.retirement.retirement_date(
        cadre.birth_date, cadre.gender
    )
    periods = [
        Period(dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]) if p.get("end") else None)
        for p in cadre.grassroots_periods
    ]
    cadre.grassroots_years = str(grassroots_years(periods, today()))


def _plain_periods(periods: list[Any]) -> list[dict[str, Any]]:
    out = []
    for p in periods:
        d = p if isinstance(p, dict) else p.model_dump()
        out.append({"start": _iso(d["start"]), "end": _iso(d.get("end")), "unit_name": d.get("unit_name")})
    return sorted(out, key=lambda x: x["start"])


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


def check_id_consistency(id_number: str, birth: dt.date, gender: str) -> None:
    errors = []
    if id_numbers.birth_date_of(id_number) != birth:
        errors.append({"field": "birth_date", "message": "does not match the birth date in id_number"})
    if id_numbers.gender_of(id_number) != gender:
        errors.append({"field": "gender", "message": "does not match the sex digit of id_number"})
    if errors:
        raise InvalidInput(f"{len(errors)} fields are inconsistent with id_number", errors=errors)


def seal_into(r: Roster, cadre: Cadre, id_number: str) -> None:
    # Only the normal form is sealed and indexed, or the same person could be there twice
    # under two spellings of one number (issue 15): callers pass id_numbers.validate's result.
    if not id_numbers.is_normal(id_number):
        raise ValueError("an ID number must be normalised (id_numbers.validate) before it is sealed")
    sealed = r.sealer.seal(id_number)
    cadre.id_number_sealed = sealed.blob
    cadre.id_number_kid = sealed.kid
    cadre.id_number_index = r.sealer.index(id_number)
    cadre.id_number_masked = id_numbers.mask(id_number)
    cadre.id_number_form = ID_FORM_NORMAL


async def _duplicate_id(s: AsyncSession, index: str, except_id: str | None = None) -> bool:
    stmt = select(col(Cadre.id)).where(col(Cadre.id_number_index) == index)
    if except_id:
        stmt = stmt.where(col(Cadre.id) != except_id)
    return (await s.execute(stmt)).first() is not None


DUPLICATE_ID = "a cadre with this ID number is already on the roster"


async def register_cadre(r: Roster, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    check_id_consistency(data["id_number"], data["birth_date"], data["gender"])
    async with r.uow() as uow:
        s = uow.session
        unit = await _unit(s, data["unit_id"])
        id_number = data.pop("id_number")
        override = data.pop("retirement_date", None)
        data["grassroots_periods"] = _plain_periods(data.get("grassroots_periods") or [])
        data["willingness"] = dict(data.get("willingness") or {})
        cadre = Cadre(
            **data,
            retirement_date_override=override,
            retirement_date=dt.date.min,
            id_number_sealed=b"",
            id_number_kid="",
            id_number_index="",
            id_number_masked="",
        )
        seal_into(r, cadre, id_number)
        if await _duplicate_id(s, cadre.id_number_index):
            raise Conflict(DUPLICATE_ID, errors=[{"field": "id_number", "message": DUPLICATE_ID}])
        derive(r, cadre)
        s.add(cadre)
        s.add(
            CadreChange(
                cadre_id=cadre.id,
                actor=principal.sub,
                acting_client=principal.act,
                kind="registered",
                changes={"unit_id": cadre.unit_id, "name": cadre.name},
            )
        )
        uow.record(events.cadre_registered(cadre))
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent registration of the same number
            raise Conflict(DUPLICATE_ID, errors=[{"field": "id_number", "message": DUPLICATE_ID}]) from exc
        return cadre_public(r, cadre, unit.name)


async def _cadre(s: AsyncSession, cadre_id: str) -> tuple[Cadre, Unit]:
    row = (
        await s.execute(select(Cadre, Unit).join(Unit, col(Unit.id) == Cadre.unit_id).where(col(Cadre.id) == cadre_id))
    ).first()
    if row is None:
        raise CadreNotFound(f"cadre {cadre_id} does not exist")
    cadre, unit = row
    return cadre, unit


async def get_cadre(r: Roster, cadre_id: str, year: int | None = None) -> dict[str, Any]:
    async with r.uow() as uow:
        cadre, unit = await _cadre(uow.session, cadre_id)
        return cadre_public(r, cadre, unit.name, year)


TRACKED = (
    "name",
    "gender",
    "birth_date",
    "post_title",
    "rank",
    "party_member",
    "education",
    "years_of_service",
    "grassroots_periods",
    "strengths",
    "post_wishes",
    "professional_field",
    "willingness",
    "leadership_status",
    "health",
)


async def update_cadre(
    r: Roster, principal: Principal, cadre_id: str, if_match: int, data: dict[str, Any]
) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        cadre, unit = await _cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict("this cadre has left the roster and can no longer be changed")
        if cadre.version != if_match:
            raise PreconditionFailed(
                f"the cadre is at version {cadre.version}, not {if_match}", current_version=cadre.version
            )
        old_version = cadre.version
        changed: dict[str, Any] = {}
        history: dict[str, Any] = {}
        if "grassroots_periods" in data and data["grassroots_periods"] is not None:
            data["grassroots_periods"] = _plain_periods(data["grassroots_periods"])
        for field in TRACKED:
            if field in data and data[field] is not None and getattr(cadre, field) != data[field]:
                history[field] = [_iso(getattr(cadre, field)), _iso(data[field])]
                changed[field] = data[field]
                setattr(cadre, field, data[field])
        if "retirement_date" in data and data["retirement_date"] != cadre.retirement_date_override:
            history["retirement_date_override"] = [_iso(cadre.retirement_date_override), _iso(data["retirement_date"])]
            cadre.retirement_date_override = data["retirement_date"]
        new_id = data.get("id_number")
        if new_id:
            index = r.sealer.index(new_id)
            if index != cadre.id_number_index:
                if await _duplicate_id(s, index, cadre.id):
                    raise Conflict(DUPLICATE_ID, errors=[{"field": "id_number", "message": DUPLICATE_ID}])
                history["id_number"] = [cadre.id_number_masked, id_numbers.mask(new_id)]
                changed["id_number"] = True
                seal_into(r, cadre, new_id)
        plain = (
            r.sealer.open(Sealed(cadre.id_number_kid, cadre.id_number_sealed))
            if (new_id or "birth_date" in changed or "gender" in changed)
            else None
        )
        if plain:
            check_id_consistency(plain, cadre.birth_date, cadre.gender)
        before = (cadre.retirement_date, cadre.grassroots_years)
        derive(r, cadre)
        if cadre.retirement_date != before[0]:
            changed["retirement_date"] = cadre.retirement_date
        if cadre.grassroots_years != before[1]:
            changed["grassroots_years"] = cadre.grassroots_years
        if not history:
            return cadre_public(r, cadre, unit.name)
        # Optimistic lock in the database too: a concurrent writer that passed the check
        # above with the same version makes this update match no row.
        await claim_version(s, cadre, old_version)
        s.add(
            CadreChange(
                cadre_id=cadre.id, actor=principal.sub, acting_client=principal.act, kind="updated", changes=history
            )
        )
        uow.record(events.cadre_updated(cadre, changed))
        await uow.commit()
        return cadre_public(r, cadre, unit.name)


async def claim_version(s: AsyncSession, cadre: Cadre, old_version: int) -> None:
    """Compare-and-set on the version column: of concurrent writers holding the same
    version, exactly one matches the row; the others get 412 and lose nothing."""
    result = cast(
        CursorResult[Any],
        await s.execute(
            update(Cadre)
            .where(col(Cadre.id) == cadre.id, col(Cadre.version) == old_version)
            .values(version=old_version + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise PreconditionFailed("the cadre was changed concurrently; fetch it again")
    cadre.version = old_version + 1
    cadre.updated_at = dt.datetime.now(dt.UTC)


async def move_cadre(
    r: Roster, principal: Principal, cadre_id: str, if_match: int | None, data: dict[str, Any]
) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        cadre, _unit_row = await _cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict("this cadre has left the roster")
        if if_match is not None and cadre.version != if_match:
            raise PreconditionFailed(
                f"the cadre is at version {cadre.version}, not {if_match}", current_version=cadre.version
            )
        target = await _unit(s, data["unit_id"])
        if target.id == cadre.unit_id and data.get("post_title") in (None, cadre.post_title):
            raise field_error("unit_id", "the cadre is already in this unit and post")
        old_unit, old_post = cadre.unit_id, cadre.post_title
        await claim_version(s, cadre, cadre.version)
        cadre.unit_id = target.id
        if data.get("post_title") is not None:
            cadre.post_title = data["post_title"]
        s.add(
            CadreChange(
                cadre_id=cadre.id,
                actor=principal.sub,
                acting_client=principal.act,
                kind="moved",
                changes={
                    "unit_id": [old_unit, target.id],
                    "post_title": [old_post, cadre.post_title],
                    "effective_on": data["effective_on"].isoformat(),
                },
                reason=data["reason"],
            )
        )
        uow.record(events.cadre_moved(cadre, old_unit, data["effective_on"], data["reason"]))
        await uow.commit()
        return cadre_public(r, cadre, target.name)


async def exit_cadre(r: Roster, principal: Principal, cadre_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        cadre, unit = await _cadre(s, cadre_id)
        if cadre.status == "left":
            raise Conflict(f"this cadre already left the roster on {cadre.exit_date}")
        await claim_version(s, cadre, cadre.version)
        cadre.status = "left"
        cadre.exit_kind, cadre.exit_date, cadre.exit_reason = data["kind"], data["date"], data["reason"]
        s.add(
            CadreChange(
                cadre_id=cadre.id,
                actor=principal.sub,
                acting_client=principal.act,
                kind="left",
                changes={"kind": data["kind"], "date": data["date"].isoformat()},
                reason=data["reason"],
            )
        )
        uow.record(events.cadre_left(cadre))
        await uow.commit()
        return cadre_public(r, cadre, unit.name)


async def cadre_history(r: Roster, cadre_id: str) -> list[dict[str, Any]]:
    async with r.uow() as uow:
        s = uow.session
        await _cadre(s, cadre_id)
        rows = (
            (
                await s.execute(
                    select(CadreChange).where(col(CadreChange.cadre_id) == cadre_id).order_by(col(CadreChange.id))
                )
            )
            .scalars()
            .all()
        )
        return [
            {
                "at": c.at,
                "actor": c.actor,
                "acting_client": c.acting_client,
                "kind": c.kind,
                "changes": c.changes,
                "reason": c.reason,
            }
            for c in rows
        ]


async def reveal_id_number(r: Roster, principal: Principal, cadre_id: str, reason: str) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        cadre, _ = await _cadre(s, cadre_id)
        value = r.sealer.open(Sealed(cadre.id_number_kid, cadre.id_number_sealed))
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
        return {"cadre_id": cadre.id, "id_number": value, "birth_date": cadre.birth_date}


@dataclass
class CadreFilter:
    unit_id: str | None = None
    name: str | None = None
    gender: str | None = None
    leadership_status: str | None = None
    rank: str | None = None
    party_member: bool | None = None
    professional_field: str | None = None
    strength: str | None = None
    status: str = "active"
    available_in: int | None = None


async def _filtered(s: AsyncSession, f: CadreFilter, scope: Scope) -> Any:
    """The cadres the filter names, of the units in ``scope`` only: in the query, so pages
    and the excluded list hold no one else."""
    stmt = select(Cadre, col(Unit.name)).join(Unit, col(Unit.id) == Cadre.unit_id)
    stmt = stmt.where(scope.clause(col(Cadre.unit_id)))
    if f.unit_id:
        root = await _unit(s, f.unit_id)
        stmt = stmt.where(col(Unit.path).like(root.path + "%"))
    if f.status != "all":
        stmt = stmt.where(col(Cadre.status) == f.status)
    for column, value in (
        (col(Cadre.gender), f.gender),
        (col(Cadre.leadership_status), f.leadership_status),
        (col(Cadre.rank), f.rank),
        (col(Cadre.party_member), f.party_member),
        (col(Cadre.professional_field), f.professional_field),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.name:
        stmt = stmt.where(col(Cadre.name).contains(f.name, autoescape=True))
    return stmt


async def list_cadres(r: Roster, f: CadreFilter, scope: Scope, *, limit: int, cursor: str | None) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        stmt = await _filtered(s, f, scope)
        excluded: list[dict[str, Any]] | None = None
        if f.available_in is not None:
            y = f.available_in
            unavailable = or_(col(Cadre.retirement_date) < dt.date(y + 1, 1, 1), col(Cadre.health) == "exempt")
            if cursor is None:
                ex_rows = (await s.execute(stmt.where(unavailable).order_by(Cadre.name, Cadre.id))).all()
                excluded = []
                for cadre, _ in ex_rows:
                    if f.strength and f.strength not in (cadre.strengths or []):
                        continue  # filtered like the items
                    a = availability_of(cadre, y)
                    excluded.append({"cadre_id": cadre.id, "name": cadre.name, "status": a.status, "reason": a.reason})
            stmt = stmt.where(~unavailable)
        after = decode_cursor(cursor, 2, (str, str))
        if after:
            stmt = stmt.where(or_(Cadre.name > after[0], and_(Cadre.name == after[0], Cadre.id > after[1])))
        ordered = stmt.order_by(Cadre.name, Cadre.id)
        if f.strength:
            # Strengths are a JSON list matched here, not in SQL: read on until the page is
            # full, or a page could come back empty (and without a cursor) before the matches.
            rows: list[Any] = []
            result = await s.stream(ordered.execution_options(yield_per=500))
            async for row in result:
                if f.strength in (row[0].strengths or []):
                    rows.append(row)
                    if len(rows) > limit:
                        break
            await result.close()
        else:
            rows = list((await s.execute(ordered.limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        items = [cadre_public(r, c, unit_name, f.available_in) for c, unit_name in rows]
        nxt = encode_cursor([rows[-1][0].name, rows[-1][0].id]) if more and rows else None
        return {"items": items, "next_cursor": nxt, "excluded": excluded}


async def count_cadres(s: AsyncSession) -> int:
    return int((await s.execute(select(func.count()).select_from(Cadre))).scalar() or 0)


async def snapshot(r: Roster) -> int:
    """Current state as events, so a late subscriber or a lost read model catches up."""
    n = 0
    async with r.uow() as uow:
        s = uow.session
        for unit in (await s.execute(select(Unit).order_by(Unit.path))).scalars():
            uow.record(events.unit_created(unit, snapshot=True))
            n += 1
        for cadre in (await s.execute(select(Cadre).order_by(col(Cadre.created_at), col(Cadre.id)))).scalars():
            uow.record(events.cadre_registered(cadre, snapshot=True))
            n += 1
        await uow.commit()
    return n
