"""Secondment use cases: each opens a unit of work, applies the domain rules, records the
events it causes and commits. Cadres and units are read from the service's own roster
mirror, never from roster itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit import roster_mirror as rm
from cadrekit.audit import record_personal_data_read
from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.problems import Conflict, InvalidInput, NotFound
from cadrekit.runtime import ServiceRuntime
from cadrekit.uow import UnitOfWork
from services.secondment import events
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import OPEN, Action, IllegalTransition, State, transition
from services.secondment.domain.quotas import QuotaError, QuotaRule, check_rules, parse_share, unmet
from services.secondment.domain.stats import Member, batch_stats
from services.secondment.domain.terms import (
    GRASSROOTS_KINDS,
    MAX_TERM_MONTHS,
    TermError,
    add_months,
    check_term_months,
    end_of,
    grassroots_days,
    term_end,
)
from services.secondment.domain.vetting import ASPECTS, outcome
from services.secondment.models import (
    Batch,
    CadreAssignment,
    CadreScore,
    Pair,
    ReserveEntry,
    Review,
    Secondment,
    Vetting,
    kit,
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


def field_error(field: str, message: str, detail: str | None = None) -> InvalidInput:
    return InvalidInput(detail or f"{field}: {message}", errors=[{"field": field, "message": message}])


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


def _quota_problem(exc: QuotaError) -> InvalidInput:
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


def _top_share(text: str) -> Decimal:
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
    _top_share(data["performance_top_share"])
    try:
        check_rules(quota_rules_of(data["quota_rules"]))
    except QuotaError as exc:
        raise _quota_problem(exc) from None
    async with r.uow() as uow:
        batch = Batch(**data, created_by=principal.sub)
        uow.session.add(batch)
        await uow.commit()
        return batch_public(batch)


async def _batch(s: AsyncSession, batch_id: str) -> Batch:
    batch = await s.get(Batch, batch_id)
    if batch is None:
        raise BatchNotFound(f"batch {batch_id} does not exist")
    return batch


def _open_batch(batch: Batch) -> None:
    if batch.state != "open":
        raise Conflict(f"batch {batch.id} is {batch.state}: it takes no more pairs or nominations", state=batch.state)


async def get_batch(r: Secondments, batch_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        return batch_public(await _batch(uow.session, batch_id))


async def list_batches(r: Secondments, *, year: int | None, limit: int, cursor: str | None) -> dict[str, Any]:
    async with r.uow() as uow:
        stmt = select(Batch)
        if year is not None:
            stmt = stmt.where(col(Batch.year) == year)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(Batch.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(Batch.id)).limit(limit + 1))).scalars().all()
        return _page([batch_public(b) for b in rows], limit)


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
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


async def _mirrored_unit(s: AsyncSession, unit_id: str, field: str) -> rm.MirroredUnit:
    unit = await rm.get_unit(s, mirror, unit_id)
    if unit is None:
        raise field_error(field, f"unit {unit_id} is not known (from roster events)", "unknown unit")
    return unit


async def create_pair(r: Secondments, batch_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        batch = await _batch(s, batch_id)
        _open_batch(batch)
        organ = await _mirrored_unit(s, data["city_organ_id"], "city_organ_id")
        grassroots = await _mirrored_unit(s, data["grassroots_unit_id"], "grassroots_unit_id")
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
        await _batch(uow.session, batch_id)
        rows = await uow.session.execute(
            select(Pair).where(col(Pair.batch_id) == batch_id).order_by(col(Pair.created_at), col(Pair.id))
        )
        return [pair_public(p) for p in rows.scalars()]


# nominations -------------------------------------------------------------------------------
@dataclass
class Placement:
    """Where a nominee would go, worked out from the pair (or the unpaired target)."""

    direction: el.Direction
    home: rm.MirroredUnit
    to: rm.MirroredUnit
    grassroots_side: rm.MirroredUnit
    pair: Pair | None


async def _placement(s: AsyncSession, batch: Batch, cadre: rm.MirroredCadre, data: dict[str, Any]) -> Placement:
    home = await rm.get_unit(s, mirror, cadre.unit_id)
    if home is None:
        raise field_error("cadre_id", f"the cadre's unit {cadre.unit_id} is not known here")
    if data.get("pair_id"):
        pair = await s.get(Pair, data["pair_id"])
        if pair is None or pair.batch_id != batch.id:
            raise field_error("pair_id", f"no pair {data['pair_id']} in this batch")
        organ = await _mirrored_unit(s, pair.city_organ_id, "pair_id")
        grassroots = await _mirrored_unit(s, pair.grassroots_unit_id, "pair_id")
        if home.path.startswith(organ.path):
            return Placement(el.Direction.down, home, grassroots, grassroots, pair)
        if home.path.startswith(grassroots.path):
            return Placement(el.Direction.up, home, organ, grassroots, pair)
        raise field_error("cadre_id", f"the cadre works in neither {organ.name} nor {grassroots.name}")
    if not batch.allow_unpaired:
        raise field_error("pair_id", "required: this batch places cadres in pairs only")
    if not data.get("to_unit_id"):
        raise field_error("to_unit_id", "required for an unpaired placement")
    to = await _mirrored_unit(s, data["to_unit_id"], "to_unit_id")
    if home.kind == "city_organ" and to.kind in GRASSROOTS_KINDS:
        return Placement(el.Direction.down, home, to, to, None)
    if home.kind in GRASSROOTS_KINDS and to.kind == "city_organ":
        return Placement(el.Direction.up, home, to, home, None)
    raise field_error(
        "to_unit_id", f"a secondment runs between a city organ and a town or village, not {home.kind} → {to.kind}"
    )


async def _open_secondment_of(s: AsyncSession, cadre_id: str) -> Secondment | None:
    row = await s.execute(select(Secondment).where(col(Secondment.holds_cadre_id) == cadre_id))
    return row.scalars().first()


async def _performance(s: AsyncSession, batch: Batch, cadre_id: str, judgement: str | None) -> el.Performance:
    """The cadre's points of the ranked year against every scored grassroots cadre's."""
    year = performance_year(batch)
    c, u = mirror.cadres, mirror.units
    totals_q = (
        select(col(CadreScore.cadre_id), col(CadreScore.total))
        .join(c, c.c.cadre_id == col(CadreScore.cadre_id))
        .join(u, u.c.unit_id == c.c.unit_id)
        .where(col(CadreScore.year) == year, u.c.kind.in_(GRASSROOTS_KINDS), c.c.status == "active")
    )
    rows = (await s.execute(totals_q)).all()
    own = await s.get(CadreScore, (cadre_id, year))
    return el.Performance(
        total=Decimal(own.total) if own else None,
        totals_of_year=tuple(Decimal(t) for _, t in rows),
        judgement=judgement,
    )


async def _assess(
    s: AsyncSession, batch: Batch, data: dict[str, Any]
) -> tuple[rm.MirroredCadre, Placement, el.Verdict, int]:
    cadre = await rm.get_cadre(s, mirror, data["cadre_id"])
    if cadre is None:
        raise field_error("cadre_id", f"cadre {data['cadre_id']} is not known (from roster events)", "unknown cadre")
    months = data.get("term_months") or batch.term_months
    try:
        ends_on = term_end(batch.starts_on, months)
    except TermError as exc:
        raise field_error(exc.field, exc.message) from None
    where = await _placement(s, batch, cadre, data)
    held = await _open_secondment_of(s, cadre.cadre_id)
    candidate = el.Candidate(
        direction=where.direction,
        status=cadre.status,
        home_unit_kind=where.home.kind,
        strengths=tuple(cadre.strengths),
        professional_field=cadre.professional_field,
        grassroots_years=cadre.grassroots_years,
        retirement_date=cadre.retirement_date,
        open_secondment_id=held.id if held else None,
        assignments=await _assignments(s, cadre.cadre_id),
        performance=await _performance(s, batch, cadre.cadre_id, data.get("performance_judgement"))
        if where.direction is el.Direction.up
        else el.Performance(),
    )
    criteria = el.Criteria(
        starts_on=batch.starts_on,
        ends_on=ends_on,
        needed_specialties=tuple(batch.needed_specialties),
        performance_top_share=_top_share(batch.performance_top_share),
        performance_year=performance_year(batch),
    )
    return cadre, where, el.assess(candidate, criteria), months


async def _assignments(s: AsyncSession, cadre_id: str) -> tuple[el.Assignment, ...]:
    rows = await s.execute(select(CadreAssignment).where(col(CadreAssignment.cadre_id) == cadre_id))
    return tuple(el.Assignment(a.campaign_id, a.post_kind, a.starts_on, a.ends_on) for a in rows.scalars())


def _rules(verdict: el.Verdict) -> list[dict[str, Any]]:
    return [{"rule": x.rule, "passed": x.passed, "detail": x.detail} for x in verdict.rules]


async def check_eligibility(r: Secondments, batch_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        batch = await _batch(uow.session, batch_id)
        cadre, where, verdict, _months = await _assess(uow.session, batch, data)
        return {
            "cadre_id": cadre.cadre_id,
            "direction": where.direction.value,
            "to_unit_id": where.to.unit_id,
            "eligible": verdict.eligible,
            "rules": _rules(verdict),
        }


async def nominate(r: Secondments, principal: Principal, batch_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        batch = await _batch(s, batch_id)
        _open_batch(batch)
        cadre, where, verdict, months = await _assess(s, batch, data)
        held = await _open_secondment_of(s, cadre.cadre_id)
        if held is not None:
            raise Conflict(
                f"the cadre is already in secondment {held.id} ({held.state})",
                errors=[{"field": "cadre_id", "message": f"already in secondment {held.id}"}],
                secondment_id=held.id,
            )
        if not verdict.eligible:
            raise InvalidInput(
                f"the cadre is not eligible: {', '.join(x.rule for x in verdict.failed)}",
                errors=[{"field": "cadre_id", "rule": x.rule, "message": x.detail} for x in verdict.failed],
                eligibility=_rules(verdict),
            )
        if where.pair is not None:
            taken = await s.execute(
                select(col(Secondment.id)).where(
                    col(Secondment.pair_id) == where.pair.id,
                    col(Secondment.direction) == where.direction.value,
                    col(Secondment.state).in_([x.value for x in OPEN]),
                )
            )
            if taken.first() is not None:
                raise Conflict(
                    f"this pair already has a nominee {where.direction.value}",
                    errors=[{"field": "pair_id", "message": f"one cadre {where.direction.value} per pair"}],
                )
        sec = Secondment(
            batch_id=batch.id,
            pair_id=where.pair.id if where.pair else None,
            cadre_id=cadre.cadre_id,
            holds_cadre_id=cadre.cadre_id,
            cadre_name=cadre.name,
            gender=cadre.gender,
            birth_date=cadre.birth_date,
            party_member=cadre.party_member,
            direction=where.direction.value,
            from_unit_id=where.home.unit_id,
            from_unit_name=where.home.name,
            from_unit_kind=where.home.kind,
            to_unit_id=where.to.unit_id,
            to_unit_name=where.to.name,
            to_unit_kind=where.to.kind,
            region=where.grassroots_side.region,
            title_held=data["title_held"],
            eligibility=_rules(verdict),
            performance_judgement=data.get("performance_judgement"),
            term_months=months,
            nominated_by=principal.sub,
        )
        s.add(sec)
        uow.record(events.nominated(sec, batch))
        try:
            await uow.commit()
        except IntegrityError:
            # a concurrent nomination of the same cadre took the unique holds_cadre_id first
            raise Conflict(
                "the cadre was nominated concurrently", errors=[{"field": "cadre_id", "message": "already nominated"}]
            ) from None
        return secondment_public(sec)


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


async def _secondment(s: AsyncSession, secondment_id: str) -> Secondment:
    sec = await s.get(Secondment, secondment_id)
    if sec is None:
        raise SecondmentNotFound(f"secondment {secondment_id} does not exist")
    return sec


async def scope_unit_ids(s: AsyncSession, principal: Principal) -> set[str] | None:
    """The units a scoped caller (a unit's HR) may see: their subtrees, from the mirror.
    None means the whole tree."""
    if principal.unit_scope is None:
        return None
    ids: set[str] = set()
    for unit_id in principal.unit_scope:
        ids.update(await rm.subtree_unit_ids(s, mirror, unit_id))
    return ids


def _visible(sec: Secondment, scope: set[str] | None) -> bool:
    """A secondment concerns both units: the one that sends and the one that receives."""
    return scope is None or sec.from_unit_id in scope or sec.to_unit_id in scope


async def _visible_secondment(s: AsyncSession, principal: Principal, secondment_id: str) -> Secondment:
    sec = await _secondment(s, secondment_id)
    if not _visible(sec, await scope_unit_ids(s, principal)):
        raise SecondmentNotFound(f"secondment {secondment_id} does not exist")
    return sec


async def get_secondment(r: Secondments, principal: Principal, secondment_id: str) -> dict[str, Any]:
    async with r.uow() as uow:
        sec = await _visible_secondment(uow.session, principal, secondment_id)
        return secondment_public(sec, await uow.session.get(Vetting, sec.id))


async def list_secondments(
    r: Secondments,
    principal: Principal,
    *,
    batch_id: str | None,
    cadre_id: str | None,
    state: str | None,
    direction: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    async with r.uow() as uow:
        stmt = select(Secondment)
        scope = await scope_unit_ids(uow.session, principal)
        if scope is not None:
            stmt = stmt.where(or_(col(Secondment.from_unit_id).in_(scope), col(Secondment.to_unit_id).in_(scope)))
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
        return _page([secondment_public(x) for x in rows], limit)


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
        sec = await _secondment(s, secondment_id)
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
        sec = await _secondment(s, secondment_id)
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
        batch = await _batch(s, batch_id)
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
        sec = await _secondment(s, secondment_id)
        batch = await _batch(s, sec.batch_id)
        await _claim(s, sec, Action.start)
        sec.starts_on = data.get("starts_on") or batch.starts_on
        sec.ends_on = term_end(sec.starts_on, sec.term_months)
        uow.record(events.started(sec))
        await uow.commit()
        return secondment_public(sec)


async def extend(r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with r.uow() as uow:
        s = uow.session
        sec = await _secondment(s, secondment_id)
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
        sec = await _secondment(s, secondment_id)
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
        sec = await _secondment(s, secondment_id)
        await _claim(s, sec, Action.withdraw)
        sec.withdraw_reason = data["reason"]
        sec.holds_cadre_id = None
        uow.record(events.withdrawn(sec))
        await uow.commit()
        return secondment_public(sec)


# reviews and the reserve pool ---------------------------------------------------------------
def review_public(v: Review) -> dict[str, Any]:
    return {
        "id": v.id,
        "secondment_id": v.secondment_id,
        "cadre_id": v.cadre_id,
        "kind": v.kind,
        "rating": v.rating,
        "reviewed_on": v.reviewed_on,
        "comments": v.comments,
        "recorded_by": v.recorded_by,
        "created_at": v.created_at,
    }


def reserve_public(e: ReserveEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "cadre_id": e.cadre_id,
        "cadre_name": e.cadre_name,
        "source": e.source,
        "secondment_id": e.secondment_id,
        "added_on": e.added_on,
        "created_at": e.created_at,
    }


async def record_review(
    r: Secondments, principal: Principal, secondment_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Routine and annual reviews while the secondment runs; the end-of-term review also once
    it has completed. An end-of-term "excellent" puts the cadre in the reserve pool (seed 004:
    挂职期满，业绩突出、考核优秀的，纳入后备干部库)."""
    async with r.uow() as uow:
        s = uow.session
        sec = await _secondment(s, secondment_id)
        allowed = {State.active.value} | ({State.completed.value} if data["kind"] == "end_of_term" else set())
        if sec.state not in allowed:
            raise Conflict(
                f"a {data['kind']} review needs a secondment that is {' or '.join(sorted(allowed))}; "
                f"this one is {sec.state}",
                state=sec.state,
                action="review",
            )
        assert sec.starts_on is not None
        if data["reviewed_on"] < sec.starts_on:
            raise field_error("reviewed_on", f"before the secondment started on {sec.starts_on.isoformat()}")
        if data["kind"] == "end_of_term":
            earlier = await s.execute(
                select(col(Review.id)).where(col(Review.secondment_id) == sec.id, col(Review.kind) == "end_of_term")
            )
            if earlier.first() is not None:
                raise Conflict(
                    "this secondment already has its end-of-term review",
                    errors=[{"field": "kind", "message": "one end_of_term review per secondment"}],
                )
        review = Review(secondment_id=sec.id, cadre_id=sec.cadre_id, recorded_by=principal.sub, **data)
        s.add(review)
        uow.record(events.review_recorded(review))
        entry = None
        if data["kind"] == "end_of_term" and data["rating"] == "excellent":
            source = f"secondment/{sec.id}"
            found = await s.execute(
                select(ReserveEntry).where(
                    col(ReserveEntry.cadre_id) == sec.cadre_id, col(ReserveEntry.source) == source
                )
            )
            if found.first() is None:
                entry = ReserveEntry(
                    cadre_id=sec.cadre_id,
                    cadre_name=sec.cadre_name,
                    source=source,
                    secondment_id=sec.id,
                    added_on=data["reviewed_on"],
                )
                s.add(entry)
                uow.record(events.reserve_added(entry))
        await uow.commit()
        return {**review_public(review), "reserve_entry": reserve_public(entry) if entry else None}


async def list_reviews(r: Secondments, principal: Principal, secondment_id: str) -> list[dict[str, Any]]:
    async with r.uow() as uow:
        await _visible_secondment(uow.session, principal, secondment_id)
        rows = await uow.session.execute(
            select(Review).where(col(Review.secondment_id) == secondment_id).order_by(col(Review.created_at))
        )
        return [review_public(v) for v in rows.scalars()]


async def reserve_pool(r: Secondments, *, cadre_id: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    async with r.uow() as uow:
        stmt = select(ReserveEntry)
        if cadre_id:
            stmt = stmt.where(col(ReserveEntry.cadre_id) == cadre_id)
        after = decode_cursor(cursor, 1, (str,))
        if after:
            stmt = stmt.where(col(ReserveEntry.id) > after[0])
        rows = (await uow.session.execute(stmt.order_by(col(ReserveEntry.id)).limit(limit + 1))).scalars().all()
        return _page([reserve_public(e) for e in rows], limit)


# statistics and export ---------------------------------------------------------------------
async def batch_members(s: AsyncSession, batch_id: str) -> tuple[Batch, list[Secondment]]:
    batch = await _batch(s, batch_id)
    rows = await s.execute(
        select(Secondment)
        .where(col(Secondment.batch_id) == batch_id, col(Secondment.state) != State.withdrawn.value)
        .order_by(col(Secondment.direction), col(Secondment.cadre_name), col(Secondment.id))
    )
    return batch, list(rows.scalars())


async def stats(r: Secondments, batch_id: str) -> dict[str, Any]:
    """Over the batch's secondments that were not withdrawn."""
    async with r.uow() as uow:
        batch, rows = await batch_members(uow.session, batch_id)
        members = [
            Member(
                direction=x.direction,
                birth_date=x.birth_date,
                gender=x.gender,
                party_member=x.party_member,
                region=x.region,
                unit_kind=x.to_unit_kind if x.direction == el.Direction.down else x.from_unit_kind,
            )
            for x in rows
        ]
        return {"batch_id": batch.id, "name": batch.name, **batch_stats(members, batch.starts_on, DIRECTIONS)}
