"""Secondment use cases: each opens a unit of work, applies the domain rules, records the
events it causes and commits. Cadres and units are read from the service's own roster
mirror, never from roster itself.

This module holds batches, pairs, reading secondments and what the other use-case modules
share; nominations.py (eligibility, nominating), transitions.py (vetting, approval, the
term) and archive.py (reviews, reserve pool, statistics) hold the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit import roster_mirror as rm
from cadrekit.auth import Principal
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.problems import Conflict, InvalidInput, NotFound, field_error
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import Scope
from cadrekit.uow import UnitOfWork
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import IllegalTransition
from services.secondment.domain.quotas import QuotaError, QuotaRule, check_rules, parse_share
from services.secondment.domain.terms import (
    GRASSROOTS_KINDS,
    TermError,
    check_term_months,
    term_end,
)
from services.secondment.domain.vetting import ASPECTS, outcome
from services.secondment.models import (
    Batch,
    Pair,
    Secondment,
    Vetting,
    mirror,
)

DIRECTIONS = [d.value for d in el.Direction]
MASK = "******"


@dataclass
class Secondments:
    runtime: ServiceRuntime

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()


class BatchNotFound(NotFound):
    pass


class SecondmentNotFound(NotFound):
    pass


def refused(exc: IllegalTransition) -> Conflict:
    """A transition that does not fit the state: 409 naming the state."""
    return Conflict(str(exc), state=exc.state.value, action=exc.action.value, allowed=exc.allowed)


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


# batches -----------------------------------------------------------------------------------
def quota_rules_of(raw: list[dict[str, Any]]) -> list[QuotaRule]:
    rules, problems = [], []
    for i, r in enumerate(raw):
        try:
            rules.append(
                QuotaRule(
                    el.Direction(r["direction"]),
                    frozenset(r["regions"]),
                    r.get("min_count"),
                    r.get("max_count"),
                    parse_share(r.get("min_share"), f"quota_rules[{i}].min_share"),
                    parse_share(r.get("max_share"), f"quota_rules[{i}].max_share"),
                )
            )
        except QuotaError as exc:
            problems += exc.problems
    if problems:
        raise QuotaError(problems)
    return rules


def quota_problem(exc: QuotaError) -> InvalidInput:
    return InvalidInput(
        f"quota rules: {exc}", errors=[{"field": field, "message": message} for field, message in exc.problems]
    )


def batch_public(b: Batch) -> dict[str, Any]:
    return {
        "id": b.id,
        "name": b.name,
        "year": b.year,
        "starts_on": b.starts_on,
        "term_months": b.term_months,
        "planned_ends_on": term_end(b.starts_on, b.term_months),
        "allow_unpaired": b.allow_unpaired,
        "needed_specialties": b.needed_specialties,
        "performance_top_share": b.performance_top_share,
        "performance_year": performance_year(b),
        "quota_rules": b.quota_rules,
        "state": b.state,
        "version": b.version,
        "created_by": b.created_by,
        "created_at": b.created_at,
        "approved_by": b.approved_by,
        "approved_at": b.approved_at,
    }


def performance_year(b: Batch) -> int:
    """Whose points rank grassroots nominees: the year named, else the last full year."""
    return b.performance_year or b.year - 1


def top_share(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise field_error("performance_top_share", f"{text!r} is not a number such as 0.3") from None
    if not Decimal(0) < value <= Decimal(1):
        raise field_error("performance_top_share", "must be more than 0 and at most 1")
    return value


async def create_batch(r: Secondments, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    try:
        check_term_months(data["term_months"])
    except TermError as exc:
        raise field_error(exc.field, exc.message) from None
    top_share(data["performance_top_share"])
    try:
        check_rules(quota_rules_of(data["quota_rules"]))
    except QuotaError as exc:
        raise quota_problem(exc) from None
    async with r.uow() as uow:
        batch = Batch(**data, created_by=principal.sub)
        uow.session.add(batch)
        await uow.commit()
        return batch_public(batch)


async def load_batch(s: AsyncSession, batch_id: str) -> Batch:
    batch = await s.get(Batch, batch_id)
    if batch is None:
        raise BatchNotFound(f"batch {batch_id} does not exist")
    return batch


def require_open(batch: Batch) -> None:
    if batch.state != "open":
        raise Conflict(f"batch {batch.id} is {batch.state}: it takes no more pairs or nominations", state=batch.state)


async def get_batch(r: Secondments, batch_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        return batch_public(await load_batch(uow.session, batch_id))


async def list_batches(r: Secondments, *, year: int | None, limit: int, cursor: str | None) -> dict[str, Any]:
    async with r.uow() as uow:
        stmt = select(Batch)
        if year is not None:
            stmt = stmt.where(col(Batch.year) == year)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Batch.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(Batch.id)).limit(limit + 1))).scalars().all()
        return page([batch_public(b) for b in rows], limit)


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor([items[-1]["id"]]) if more and items else None}


# pairs -------------------------------------------------------------------------------------
def pair_public(p: Pair) -> dict[str, Any]:
    return {
        "id": p.id,
        "batch_id": p.batch_id,
        "city_organ_id": p.city_organ_id,
        "city_organ_name": p.city_organ_name,
        "grassroots_unit_id": p.grassroots_unit_id,
        "grassroots_unit_name": p.grassroots_unit_name,
        "grassroots_unit_kind": p.grassroots_unit_kind,
        "region": p.region,
        "created_at": p.created_at,
    }


async def mirrored_unit(s: AsyncSession, unit_id: str, field: str) -> rm.MirroredUnit:
    unit = await rm.get_unit(s, mirror, unit_id)
    if unit is None:
        raise field_error(field, f"unit {unit_id} is not known (from roster events)", "unknown unit")
    return unit


async def create_pair(r: Secondments, batch_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        batch = await load_batch(s, batch_id)
        require_open(batch)
        organ = await mirrored_unit(s, data["city_organ_id"], "city_organ_id")
        grassroots = await mirrored_unit(s, data["grassroots_unit_id"], "grassroots_unit_id")
        errors = []
        if organ.kind != "city_organ":
            errors.append({"field": "city_organ_id", "message": f"{organ.name} is a {organ.kind}, not a city_organ"})
        if grassroots.kind not in GRASSROOTS_KINDS:
            errors.append(
                {
                    "field": "grassroots_unit_id",
                    "message": f"{grassroots.name} is a {grassroots.kind}: a pair binds a city organ and a town or village",
                }
            )
        if errors:
            raise InvalidInput("a pair binds a city organ and a grassroots unit", errors=errors)
        pair = Pair(
            batch_id=batch.id,
            city_organ_id=organ.unit_id,
            city_organ_name=organ.name,
            grassroots_unit_id=grassroots.unit_id,
            grassroots_unit_name=grassroots.name,
            grassroots_unit_kind=grassroots.kind,
            region=grassroots.region,
        )
        s.add(pair)
        try:
            await uow.commit()
        except IntegrityError:
            raise Conflict(
                "this batch already pairs these two units",
                errors=[{"field": "grassroots_unit_id", "message": "paired"}],
            ) from None
        return pair_public(pair)


async def list_pairs(r: Secondments, batch_id: str) -> list[dict[str, Any]]:
    async with r.uow() as uow:
        await load_batch(uow.session, batch_id)
        rows = await uow.session.execute(
            select(Pair).where(col(Pair.batch_id) == batch_id).order_by(col(Pair.created_at), col(Pair.id))
        )
        return [pair_public(p) for p in rows.scalars()]


# reading -----------------------------------------------------------------------------------
def secondment_public(sec: Secondment, vetting: Vetting | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sec.id,
        "batch_id": sec.batch_id,
        "pair_id": sec.pair_id,
        "cadre_id": sec.cadre_id,
        "cadre_name": sec.cadre_name,
        "gender": sec.gender,
        "party_member": sec.party_member,
        "direction": sec.direction,
        "from_unit_id": sec.from_unit_id,
        "from_unit_name": sec.from_unit_name,
        "from_unit_kind": sec.from_unit_kind,
        "to_unit_id": sec.to_unit_id,
        "to_unit_name": sec.to_unit_name,
        "to_unit_kind": sec.to_unit_kind,
        "region": sec.region,
        "title_held": sec.title_held,
        "state": sec.state,
        "eligibility": sec.eligibility,
        "performance_judgement": sec.performance_judgement,
        "term_months": sec.term_months,
        "starts_on": sec.starts_on,
        "ends_on": sec.ends_on,
        "ended_on": sec.ended_on,
        "end_kind": sec.end_kind,
        "end_reason": sec.end_reason,
        "days_served": sec.days_served,
        "extensions": sec.extensions,
        "withdraw_reason": sec.withdraw_reason,
        "version": sec.version,
        "nominated_by": sec.nominated_by,
        "created_at": sec.created_at,
        "updated_at": sec.updated_at,
    }
    if vetting is not None:
        out["vetting"] = vetting_public(vetting, reveal=False)
    return out


def vetting_public(v: Vetting, *, reveal: bool) -> dict[str, Any]:
    record = {a: getattr(v, a) for a in ASPECTS} | {"discipline_reference": v.discipline_reference}
    result = outcome(record)
    opinion = v.discipline_opinion
    return {
        **record,
        "discipline_opinion": opinion if reveal or opinion is None else MASK,
        "discipline_opinion_masked": not reveal and opinion is not None,
        "notes": v.notes,
        "complete": result.complete,
        "passed": result.passed,
        "missing": list(result.missing),
        "concerns": list(result.concerns),
        "vetted_by": v.vetted_by,
        "updated_at": v.updated_at,
    }


async def load_secondment(s: AsyncSession, secondment_id: str) -> Secondment:
    sec = await s.get(Secondment, secondment_id)
    if sec is None:
        raise SecondmentNotFound(f"secondment {secondment_id} does not exist")
    return sec


def secondment_units(secondment_id: str) -> Select[Any]:
    """A secondment belongs to its home unit and its host unit (in scope if either is)."""
    units = select(col(Secondment.from_unit_id), col(Secondment.to_unit_id)).where(col(Secondment.id) == secondment_id)
    # cadrekit.scope.SubjectQuery names Select[Any], which SQLAlchemy 2.1's typing reads as
    # one column; a query of two unit columns is what the resolver expects.
    return cast("Select[Any]", units)


async def get_secondment(r: Secondments, secondment_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        sec = await load_secondment(uow.session, secondment_id)
        return secondment_public(sec, await uow.session.get(Vetting, sec.id))


async def list_secondments(
    r: Secondments,
    scope: Scope,
    *,
    batch_id: str | None,
    cadre_id: str | None,
    state: str | None,
    direction: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    async with r.uow() as uow:
        # A secondment concerns both units: the one that sends and the one that receives.
        stmt = select(Secondment).where(scope.clause(col(Secondment.from_unit_id), col(Secondment.to_unit_id)))
        if batch_id:
            stmt = stmt.where(col(Secondment.batch_id) == batch_id)
        if cadre_id:
            stmt = stmt.where(col(Secondment.cadre_id) == cadre_id)
        if state:
            stmt = stmt.where(col(Secondment.state) == state)
        if direction:
            stmt = stmt.where(col(Secondment.direction) == direction)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Secondment.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(Secondment.id)).limit(limit + 1))).scalars().all()
        return page([secondment_public(x) for x in rows], limit)
