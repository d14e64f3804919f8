"""The unit tree's use cases: create, read, list, change, move, history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.errors import NotPermitted, field_error
from cadrekit.pagination import decode_cursor, window
from cadrekit.scope import Scope
from services.roster import events, rederiving
from services.roster.domain.units import (
    TopLevelRefused,
    TreeError,
    check_move,
    check_top_level,
    child_path,
    path_ids,
    rebase,
)
from services.roster.models import Cadre, Unit, UnitChange
from services.roster.schemas import UnitCreate, UnitMove, UnitPage, UnitPublic, UnitUpdate
from services.roster.service.context import Context
from services.roster.service.queries import find_unit
from services.roster.service.rules import unit_change


def _top_level(parent_id: str | None, scope: Scope) -> None:
    try:
        check_top_level(parent_id, whole_tree=scope.whole_tree)
    except TopLevelRefused as exc:
        raise NotPermitted(str(exc)) from exc


async def create_unit(ctx: Context, principal: Principal, scope: Scope, body: UnitCreate) -> Unit:
    """``scope``: the caller's, whose rule has checked a named parent; it says here whether
    the caller may create a unit at the top level."""
    _top_level(body.parent_id, scope)
    async with ctx.uow() as uow:
        s = uow.session
        parent_path = None
        if body.parent_id is not None:
            parent = await find_unit(s, body.parent_id, "parent_id")
            parent_path = parent.path
        unit = Unit(
            name=body.name, kind=body.kind, region=body.region, body=body.body, parent_id=body.parent_id, path=""
        )
        unit.path = child_path(parent_path, unit.id)
        s.add(unit)
        s.add(unit_change(principal, unit.id, "created", body.model_dump(exclude_none=True)))
        uow.record(events.unit_created(unit))
        await uow.commit()
        return unit


async def get_unit(ctx: Context, unit_id: str) -> Unit:
    async with ctx.uow() as uow:
        return await find_unit(uow.session, unit_id, for_input=False)


async def list_units(
    ctx: Context,
    scope: Scope,
    *,
    parent_id: str | None,
    within: str | None,
    kind: str | None,
    region: str | None,
    name: str | None,
    limit: int,
    cursor: str | None,
) -> UnitPage:
    async with ctx.uow() as uow:
        s = uow.session
        stmt = select(Unit).where(scope.clause(col(Unit.id)))
        if parent_id:
            stmt = stmt.where(col(Unit.parent_id) == parent_id)
        if within:
            root = await find_unit(s, within, "within")
            stmt = stmt.where(col(Unit.path).like(root.path + "%"))
        if kind:
            stmt = stmt.where(col(Unit.kind) == kind)
        if region:
            stmt = stmt.where(col(Unit.region) == region)
        if name:
            stmt = stmt.where(col(Unit.name).contains(name, autoescape=True))
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Unit.path) > after[0])
        read = (await s.execute(stmt.order_by(col(Unit.path)).limit(limit + 1))).scalars().all()
        rows, next_cursor = window(read, limit, lambda u: [u.path])
        return UnitPage(items=[UnitPublic.model_validate(u) for u in rows], next_cursor=next_cursor)


async def update_unit(ctx: Context, principal: Principal, unit_id: str, body: UnitUpdate) -> Unit:
    given = body.model_dump(exclude_unset=True, exclude_none=True)  # the fields the caller sets
    async with ctx.uow() as uow:
        s = uow.session
        unit = await find_unit(s, unit_id, for_input=False)
        changed = {k: [getattr(unit, k), v] for k, v in given.items() if getattr(unit, k) != v}
        if not changed:
            return unit
        for k, v in given.items():
            setattr(unit, k, v)
        unit.version += 1
        unit.updated_at = dt.datetime.now(dt.UTC)
        kind = "renamed" if set(changed) == {"name"} else "updated"
        s.add(unit_change(principal, unit.id, kind, changed))
        uow.record(events.unit_updated(unit, {k: v[1] for k, v in changed.items()}))
        if "kind" in changed:  # a cadre's retirement category may follow its unit's kind
            await s.execute(
                update(Cadre)
                .where(col(Cadre.unit_id) == unit.id)
                .values(retirement_law="")
                .execution_options(synchronize_session=False)
            )
        await uow.commit()
    if "kind" in changed:
        await rederiving.rederive_all(ctx)  # else at the next start
    return unit


async def move_unit(ctx: Context, principal: Principal, scope: Scope, unit_id: str, body: UnitMove) -> Unit:
    """``scope``: as for :func:`create_unit`, for the new parent."""
    parent_id = body.parent_id
    _top_level(parent_id, scope)
    async with ctx.uow() as uow:
        s = uow.session
        unit = await find_unit(s, unit_id, for_input=False)
        new_parent = await find_unit(s, parent_id, "parent_id") if parent_id else None
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
        changes = {"parent_id": [old_parent, parent_id], "reason": body.reason}
        s.add(unit_change(principal, unit.id, "moved", changes))
        uow.record(events.unit_updated(unit, {"parent_id": parent_id}))
        for d in descendants:
            if d.id != unit.id:
                uow.record(events.unit_updated(d, {"path": path_ids(d.path)}))
        await uow.commit()
        return unit


async def unit_history(ctx: Context, unit_id: str) -> Sequence[UnitChange]:
    async with ctx.uow() as uow:
        s = uow.session
        await find_unit(s, unit_id, for_input=False)
        stmt = select(UnitChange).where(col(UnitChange.unit_id) == unit_id).order_by(col(UnitChange.id))
        return (await s.execute(stmt)).scalars().all()
