"""Reads and checks shared by the use-case modules: loading a batch or a secondment (404),
the roster mirror's units, the stored quota rules, the read models of a secondment and its
vetting, and keyset pages. Cadres and units are read from the service's own roster mirror,
never from roster itself."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit import roster_mirror as rm
from cadrekit.errors import Conflict, Invalid, NotFound, field_error
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import IllegalTransition, State
from services.secondment.domain.quotas import QuotaError, QuotaRule, parse_share
from services.secondment.domain.vetting import ASPECTS, outcome
from services.secondment.models import Batch, Secondment, Vetting, mirror
from services.secondment.schemas import SecondmentPublic, VettingPublic

DIRECTIONS = [d.value for d in el.Direction]
MASK = "******"


class BatchNotFound(NotFound):
    pass


class SecondmentNotFound(NotFound):
    pass


def refused(exc: IllegalTransition) -> Conflict:
    """A transition that does not fit the state: 409 naming the state."""
    return Conflict(str(exc), state=exc.state.value, action=exc.action.value, allowed=exc.allowed)


# batches -----------------------------------------------------------------------------------
async def load_batch(s: AsyncSession, batch_id: str) -> Batch:
    batch = await s.get(Batch, batch_id)
    if batch is None:
        raise BatchNotFound(f"batch {batch_id} does not exist")
    return batch


def require_open(batch: Batch) -> None:
    if batch.state != "open":
        raise Conflict(f"batch {batch.id} is {batch.state}: it takes no more pairs or nominations", state=batch.state)


def quota_rules_of(raw: list[dict[str, Any]]) -> list[QuotaRule]:
    """The quota rules as stored in the batch's JSON column (shares as "2/3" or "0.5")."""
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


def quota_problem(exc: QuotaError) -> Invalid:
    return Invalid(
        f"quota rules: {exc}", errors=[{"field": field, "message": message} for field, message in exc.problems]
    )


def top_share(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise field_error("performance_top_share", f"{text!r} is not a number such as 0.3") from None
    if not Decimal(0) < value <= Decimal(1):
        raise field_error("performance_top_share", "must be more than 0 and at most 1")
    return value


async def mirrored_unit(s: AsyncSession, unit_id: str, field: str) -> rm.MirroredUnit:
    unit = await rm.get_unit(s, mirror, unit_id)
    if unit is None:
        raise field_error(field, f"unit {unit_id} is not known (from roster events)", "unknown unit")
    return unit


async def batch_members(s: AsyncSession, batch_id: str) -> tuple[Batch, list[Secondment]]:
    """The batch and its secondments that were not withdrawn (statistics and the export)."""
    batch = await load_batch(s, batch_id)
    rows = await s.execute(
        select(Secondment)
        .where(col(Secondment.batch_id) == batch_id, col(Secondment.state) != State.withdrawn.value)
        .order_by(col(Secondment.direction), col(Secondment.cadre_name), col(Secondment.id))
    )
    return batch, list(rows.scalars())


# secondments -------------------------------------------------------------------------------
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


def secondment_read(sec: Secondment, vetting: Vetting | None = None) -> SecondmentPublic:
    """The secondment as answered; with its vetting (the opinion masked) when given."""
    out = SecondmentPublic.model_validate(sec)
    if vetting is not None:
        out.vetting = vetting_read(vetting, reveal=False)
    return out


def vetting_read(v: Vetting, *, reveal: bool) -> VettingPublic:
    """The vetting record, its outcome worked out; the discipline opinion masked unless revealed."""
    record = {a: getattr(v, a) for a in ASPECTS} | {"discipline_reference": v.discipline_reference}
    result = outcome(record)
    opinion = v.discipline_opinion
    return VettingPublic(
        political_quality=v.political_quality,
        moral_quality=v.moral_quality,
        results=v.results,
        diligence=v.diligence,
        integrity=v.integrity,
        discipline_reference=v.discipline_reference,
        discipline_opinion=opinion if reveal or opinion is None else MASK,
        discipline_opinion_masked=not reveal and opinion is not None,
        notes=v.notes,
        complete=result.complete,
        passed=result.passed,
        missing=list(result.missing),
        concerns=list(result.concerns),
        vetted_by=v.vetted_by,
        updated_at=v.updated_at,
    )
