"""Nominations: where a nominee would go (the pair, or an unpaired target), eligibility rule
by rule from the roster mirror, points and placements, and the nomination itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit import roster_mirror as rm
from cadrekit.auth import Principal
from cadrekit.errors import Conflict, Invalid, field_error
from services.secondment import events
from services.secondment.domain import eligibility as el
from services.secondment.domain.lifecycle import OPEN
from services.secondment.domain.terms import (
    GRASSROOTS_KINDS,
    TermError,
    term_end,
)
from services.secondment.models import (
    Batch,
    CadreAssignment,
    CadreScore,
    Pair,
    Secondment,
    mirror,
)
from services.secondment.schemas import Candidacy, EligibilityPublic, Nomination, RulePublic, SecondmentPublic
from services.secondment.service.context import Context
from services.secondment.service.queries import (
    load_batch,
    mirrored_unit,
    require_open,
    secondment_read,
    top_share,
)


@dataclass
class Placement:
    """Where a nominee would go, worked out from the pair (or the unpaired target)."""

    direction: el.Direction
    home: rm.MirroredUnit
    to: rm.MirroredUnit
    grassroots_side: rm.MirroredUnit
    pair: Pair | None


async def _placement(
    s: AsyncSession, batch: Batch, cadre: rm.MirroredCadre, request: Nomination | Candidacy
) -> Placement:
    home = await rm.get_unit(s, mirror, cadre.unit_id)
    if home is None:
        raise field_error("cadre_id", f"the cadre's unit {cadre.unit_id} is not known here")
    if request.pair_id:
        pair = await s.get(Pair, request.pair_id)
        if pair is None or pair.batch_id != batch.id:
            raise field_error("pair_id", f"no pair {request.pair_id} in this batch")
        organ = await mirrored_unit(s, pair.city_organ_id, "pair_id")
        grassroots = await mirrored_unit(s, pair.grassroots_unit_id, "pair_id")
        if home.path.startswith(organ.path):
            return Placement(el.Direction.down, home, grassroots, grassroots, pair)
        if home.path.startswith(grassroots.path):
            return Placement(el.Direction.up, home, organ, grassroots, pair)
        raise field_error("cadre_id", f"the cadre works in neither {organ.name} nor {grassroots.name}")
    if not batch.allow_unpaired:
        raise field_error("pair_id", "required: this batch places cadres in pairs only")
    if not request.to_unit_id:
        raise field_error("to_unit_id", "required for an unpaired placement")
    to = await mirrored_unit(s, request.to_unit_id, "to_unit_id")
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
    year = batch.ranked_year
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
    s: AsyncSession, batch: Batch, request: Nomination | Candidacy
) -> tuple[rm.MirroredCadre, Placement, el.Verdict, int]:
    cadre = await rm.get_cadre(s, mirror, request.cadre_id)
    if cadre is None:
        raise field_error("cadre_id", f"cadre {request.cadre_id} is not known (from roster events)", "unknown cadre")
    months = request.term_months or batch.term_months
    try:
        ends_on = term_end(batch.starts_on, months)
    except TermError as exc:
        raise field_error(exc.field, exc.message) from None
    where = await _placement(s, batch, cadre, request)
    held = await _open_secondment_of(s, cadre.cadre_id)
    candidate = el.Candidate(
        direction=where.direction,
        status=cadre.status,
        home_unit_kind=where.home.kind,
        strengths=tuple(cadre.strengths),
        professional_field=cadre.professional_field,
        grassroots_years=cadre.grassroots_years,
        retirement_date=cadre.retirement_date,
        retirement_rule=cadre.retirement_rule,
        open_secondment_id=held.id if held else None,
        assignments=await _assignments(s, cadre.cadre_id),
        performance=await _performance(s, batch, cadre.cadre_id, request.performance_judgement)
        if where.direction is el.Direction.up
        else el.Performance(),
    )
    criteria = el.Criteria(
        starts_on=batch.starts_on,
        ends_on=ends_on,
        needed_specialties=tuple(batch.needed_specialties),
        performance_top_share=top_share(batch.performance_top_share),
        performance_year=batch.ranked_year,
    )
    return cadre, where, el.assess(candidate, criteria), months


async def _assignments(s: AsyncSession, cadre_id: str) -> tuple[el.Assignment, ...]:
    rows = await s.execute(select(CadreAssignment).where(col(CadreAssignment.cadre_id) == cadre_id))
    return tuple(el.Assignment(a.campaign_id, a.post_kind, a.starts_on, a.ends_on) for a in rows.scalars())


def _rules(verdict: el.Verdict) -> list[dict[str, Any]]:
    """The verdict rule by rule, as stored in the secondment's JSON column (and in a 422)."""
    return [{"rule": x.rule, "passed": x.passed, "detail": x.detail} for x in verdict.rules]


async def check_eligibility(ctx: Context, batch_id: str, candidacy: Candidacy) -> EligibilityPublic:
    await rm.await_references(
        ctx.runtime, mirror, units={"to_unit_id": candidacy.to_unit_id}, cadres={"cadre_id": candidacy.cadre_id}
    )
    async with ctx.uow() as uow:
        batch = await load_batch(uow.session, batch_id)
        cadre, where, verdict, _months = await _assess(uow.session, batch, candidacy)
        return EligibilityPublic(
            cadre_id=cadre.cadre_id,
            direction=where.direction.value,
            to_unit_id=where.to.unit_id,
            eligible=verdict.eligible,
            rules=[RulePublic.model_validate(x) for x in verdict.rules],
        )


async def nominate(ctx: Context, principal: Principal, batch_id: str, body: Nomination) -> SecondmentPublic:
    await rm.await_references(
        ctx.runtime, mirror, units={"to_unit_id": body.to_unit_id}, cadres={"cadre_id": body.cadre_id}
    )
    async with ctx.uow() as uow:
        s = uow.session
        batch = await load_batch(s, batch_id)
        require_open(batch)
        cadre, where, verdict, months = await _assess(s, batch, body)
        held = await _open_secondment_of(s, cadre.cadre_id)
        if held is not None:
            raise Conflict(
                f"the cadre is already in secondment {held.id} ({held.state})",
                errors=[{"field": "cadre_id", "message": f"already in secondment {held.id}"}],
                secondment_id=held.id,
            )
        if not verdict.eligible:
            raise Invalid(
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
            title_held=body.title_held,
            eligibility=_rules(verdict),
            performance_judgement=body.performance_judgement,
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
        return secondment_read(sec)
