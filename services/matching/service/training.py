"""Training campaigns (练兵, seed 002): tutors, one-to-one training plans, on-site inspections
and the growth index derived from them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, StaleVersion, field_error
from cadrekit.roster_mirror import MirroredCadre, MirroredUnit, get_units, list_cadres
from cadrekit.scope import Scope
from services.matching import events
from services.matching.domain import growth, tutors
from services.matching.domain.growth import GrowthWeights
from services.matching.models import Campaign, GrowthIndex, InspectionRecord, TrainingPlan, TutorAssignment, mirror
from services.matching.schemas.training import GrowthPublic, InspectionIn, PlanIn, TutorAssign, TutorSuggestion
from services.matching.service.context import Context
from services.matching.service.queries import cadres_by_id, campaign_of, evaluate_pool, members_of

METHOD = (
    "per inspection and aspect, the mean rating of each role present weighted by the role weights; "
    "the inspection score = performance weight × performance + adaptation weight × adaptation (0–100); "
    "the index = the mean of the inspection scores weighted 1, 2, …, n in date order"
)


def _training(c: Campaign) -> None:
    if c.kind != "training":
        raise Conflict("tutors, plans and inspections belong to training campaigns")


async def _trainee(s: AsyncSession, c: Campaign, trainee_id: str) -> None:
    state = await evaluate_pool(s, c)
    if trainee_id not in {mb.cadre_id for mb, _ in state.eligible}:
        raise NotFound(f"cadre {trainee_id} is not an eligible trainee of this campaign")


def _person(cadre: MirroredCadre, units: dict[str, MirroredUnit]) -> tutors.Person:
    unit = units.get(cadre.unit_id)
    return tutors.Person(
        cadre.cadre_id,
        cadre.name,
        cadre.professional_field,
        int(cadre.state.get("years_of_service") or 0),
        cadre.unit_id,
        unit.parent_id if unit else None,
        unit.region if unit else None,
    )


async def suggest_tutors(
    ctx: Context, campaign_id: str, trainee_id: str, scope: Scope, limit: int
) -> list[TutorSuggestion]:
    """Tutors from the token's units only: a suggestion names the cadre."""
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        _training(c)
        await _trainee(s, c, trainee_id)
        pool = {mb.cadre_id for mb in await members_of(s, c.id)}
        counts = dict(
            (
                await s.execute(
                    select(col(TutorAssignment.tutor_id), func.count())
                    .where(col(TutorAssignment.campaign_id) == c.id)
                    .group_by(col(TutorAssignment.tutor_id))
                )
            ).all()
        )
        full = {t for t, n in counts.items() if n >= c.tutor_capacity}
        candidates = [
            cd
            for cd in scope.keep(await list_cadres(s, mirror), lambda cd: cd.unit_id)
            if cd.retirement_date is None or cd.retirement_date.year > c.year
        ]
        units = await get_units(s, mirror, sorted({cd.unit_id for cd in candidates}))
        trainee = (await cadres_by_id(s, [trainee_id]))[trainee_id]
        ranked = tutors.suggest(
            _person(trainee, units), (_person(cd, units) for cd in candidates), excluded=pool | full, limit=limit
        )
        return [TutorSuggestion.model_validate(row) for row in ranked]


async def assign_tutor(
    ctx: Context, principal: Principal, campaign_id: str, trainee_id: str, body: TutorAssign
) -> TutorAssignment:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)  # assignments of one campaign go one at a time
        _training(c)
        await _trainee(s, c, trainee_id)
        tutor_id = body.tutor_id
        if tutor_id in {mb.cadre_id for mb in await members_of(s, c.id)}:
            raise field_error("tutor_id", "a trainee of this campaign cannot be a tutor in it")
        tutor = (await cadres_by_id(s, [tutor_id])).get(tutor_id)
        if tutor is None or tutor.status != "active":
            raise field_error("tutor_id", "unknown or departed cadre")
        current = await s.get(TutorAssignment, (c.id, trainee_id))
        if current is not None and current.tutor_id == tutor_id:
            return current
        taken = (
            await s.execute(
                select(func.count()).where(
                    col(TutorAssignment.campaign_id) == c.id,
                    col(TutorAssignment.tutor_id) == tutor_id,
                )
            )
        ).scalar_one()
        if taken >= c.tutor_capacity:
            raise Conflict(f"this tutor already has {taken} trainee(s) in the campaign (allowed: {c.tutor_capacity})")
        if current is None:
            current = TutorAssignment(
                campaign_id=c.id, trainee_id=trainee_id, tutor_id=tutor_id, assigned_by=principal.sub
            )
            s.add(current)
        current.tutor_id, current.reason, current.assigned_by = tutor_id, body.reason, principal.sub
        current.assigned_at = utcnow()
        uow.record(events.tutor_assigned(current))
        await uow.commit()
        return current


async def list_tutors(ctx: Context, campaign_id: str, scope: Scope) -> list[TutorAssignment]:
    """A pair is in scope when the trainee's unit or the tutor's is."""
    async with ctx.uow() as uow:
        await campaign_of(uow.session, campaign_id)
        trainee, tutor = mirror.cadres.alias("trainee"), mirror.cadres.alias("tutor")
        stmt = (
            select(TutorAssignment)
            .outerjoin(trainee, trainee.c.cadre_id == TutorAssignment.trainee_id)
            .outerjoin(tutor, tutor.c.cadre_id == TutorAssignment.tutor_id)
            .where(
                col(TutorAssignment.campaign_id) == campaign_id,
                scope.clause(trainee.c.unit_id, tutor.c.unit_id),
            )
            .order_by(col(TutorAssignment.trainee_id))
        )
        return list((await uow.session.execute(stmt)).scalars())


async def set_plan(
    ctx: Context, principal: Principal, campaign_id: str, trainee_id: str, if_match: int | None, body: PlanIn
) -> TrainingPlan:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id)
        _training(c)
        tutor = await s.get(TutorAssignment, (c.id, trainee_id))
        if tutor is None:
            raise Conflict("assign a tutor first: the plan is agreed one-to-one with the tutor")
        plan = await s.get(TrainingPlan, (c.id, trainee_id), with_for_update=True)
        if plan is None:
            plan = TrainingPlan(
                campaign_id=c.id,
                trainee_id=trainee_id,
                tutor_id=tutor.tutor_id,
                agreed_by=principal.sub,
                duties=list(body.duties),
                goals=list(body.goals),
                starts_on=body.starts_on,
                ends_on=body.ends_on,
            )
            s.add(plan)
        else:
            if if_match is None or if_match != plan.version:
                raise StaleVersion(f"the plan is at version {plan.version}", current_version=plan.version)
            plan.duties, plan.goals = list(body.duties), list(body.goals)
            plan.starts_on, plan.ends_on = body.starts_on, body.ends_on
            plan.tutor_id, plan.agreed_by, plan.version, plan.updated_at = (
                tutor.tutor_id,
                principal.sub,
                plan.version + 1,
                utcnow(),
            )
        await uow.commit()
        return plan


async def get_plan(ctx: Context, campaign_id: str, trainee_id: str) -> TrainingPlan:
    async with ctx.uow() as uow:
        await campaign_of(uow.session, campaign_id)
        plan = await uow.session.get(TrainingPlan, (campaign_id, trainee_id))
        if plan is None:
            raise NotFound("no training plan for this trainee yet")
        return plan


async def _inspections(s: AsyncSession, campaign_id: str, trainee_id: str) -> list[InspectionRecord]:
    stmt = (
        select(InspectionRecord)
        .where(col(InspectionRecord.campaign_id) == campaign_id, col(InspectionRecord.trainee_id) == trainee_id)
        .order_by(col(InspectionRecord.inspected_on), col(InspectionRecord.recorded_at))
    )
    return list((await s.execute(stmt)).scalars())


def _domain(rec: InspectionRecord) -> growth.Inspection:
    return growth.Inspection(
        rec.inspected_on, [growth.Rating(r["role"], r["performance"], r["adaptation"]) for r in rec.ratings]
    )


async def record_inspection(
    ctx: Context, principal: Principal, campaign_id: str, trainee_id: str, body: InspectionIn
) -> InspectionRecord:
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)
        _training(c)
        if await s.get(TutorAssignment, (c.id, trainee_id)) is None:
            raise Conflict("the trainee has no tutor yet; inspection groups include the tutor")
        weights = GrowthWeights.from_dict(c.growth_weights)
        ratings = [r.model_dump() for r in body.ratings]  # the JSON column
        rec = InspectionRecord(
            campaign_id=c.id,
            trainee_id=trainee_id,
            inspected_on=body.inspected_on,
            ratings=ratings,
            notes=body.notes,
            score="0",
            recorded_by=principal.sub,
        )
        rec.score = str(growth.inspection_score(_domain(rec), weights).quantize(Decimal("0.01")))
        everything = [*await _inspections(s, c.id, trainee_id), rec]  # read before adding: no autoflush twice
        s.add(rec)
        value = growth.growth_index([_domain(r) for r in everything], weights)
        g = await s.get(GrowthIndex, (c.id, trainee_id))
        if g is None:
            g = GrowthIndex(campaign_id=c.id, trainee_id=trainee_id, value=str(value), inspections=0)
            s.add(g)
        g.value, g.inspections, g.updated_at = str(value), len(everything), utcnow()
        uow.record(events.growth_index_updated(g))
        await uow.commit()
        return rec


async def list_inspections(ctx: Context, campaign_id: str, trainee_id: str) -> list[InspectionRecord]:
    async with ctx.uow() as uow:
        await campaign_of(uow.session, campaign_id)
        return await _inspections(uow.session, campaign_id, trainee_id)


async def get_growth(ctx: Context, campaign_id: str, trainee_id: str) -> GrowthPublic:
    async with ctx.uow() as uow:
        c = await campaign_of(uow.session, campaign_id)
        _training(c)
        g = await uow.session.get(GrowthIndex, (c.id, trainee_id))
        return GrowthPublic(
            campaign_id=c.id,
            trainee_id=trainee_id,
            value=g.value if g else None,
            inspections=g.inspections if g else 0,
            weights=GrowthWeights.from_dict(c.growth_weights).as_dict(),
            method=METHOD,
        )
