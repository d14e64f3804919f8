from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from cadrekit.auth import authenticate
from cadrekit.etags import parse_if_match
from services.matching.api.deps import (
    ContextDep,
    Filtered,
    Office,
    PairsFiltered,
    Reader,
    TraineeInPath,
    TutorInBody,
)
from services.matching.models import InspectionRecord, TrainingPlan, TutorAssignment
from services.matching.schemas.training import (
    GrowthPublic,
    InspectionIn,
    InspectionPublic,
    PlanIn,
    PlanPublic,
    TutorAssign,
    TutorPublic,
    TutorSuggestion,
)
from services.matching.service import training

router = APIRouter(
    prefix="/api/v1/matching/campaigns/{campaign_id}", tags=["training"], dependencies=[Depends(authenticate)]
)


@router.get(
    "/trainees/{trainee_id}/tutor-suggestions",
    response_model=list[TutorSuggestion],
    summary="Tutors ranked by field match, seniority and unit proximity",
)
async def tutor_suggestions(
    campaign_id: str,
    trainee_id: str,
    ctx: ContextDep,
    principal: Reader,
    _trainee: TraineeInPath,
    scope: Filtered,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[TutorSuggestion]:
    return await training.suggest_tutors(ctx, campaign_id, trainee_id, scope, limit)


@router.put("/trainees/{trainee_id}/tutor", response_model=TutorPublic, summary="Assign the trainee's tutor (练兵导师)")
async def assign_tutor(
    campaign_id: str,
    trainee_id: str,
    body: TutorAssign,
    ctx: ContextDep,
    principal: Office,
    _trainee: TraineeInPath,
    _tutor: TutorInBody,
) -> TutorAssignment:
    return await training.assign_tutor(ctx, principal, campaign_id, trainee_id, body)


@router.get("/tutors", response_model=list[TutorPublic])
async def list_tutors(
    campaign_id: str, ctx: ContextDep, principal: Reader, scope: PairsFiltered
) -> list[TutorAssignment]:
    return await training.list_tutors(ctx, campaign_id, scope)


@router.put(
    "/trainees/{trainee_id}/plan",
    response_model=PlanPublic,
    summary="The plan agreed with the tutor (If-Match to change)",
)
async def set_plan(
    campaign_id: str,
    trainee_id: str,
    body: PlanIn,
    ctx: ContextDep,
    principal: Office,
    _trainee: TraineeInPath,
    if_match: Annotated[str | None, Header()] = None,
) -> TrainingPlan:
    version = parse_if_match(if_match, what="the plan", required=False)
    return await training.set_plan(ctx, principal, campaign_id, trainee_id, version, body)


@router.get("/trainees/{trainee_id}/plan", response_model=PlanPublic)
async def get_plan(
    campaign_id: str, trainee_id: str, ctx: ContextDep, principal: Reader, _trainee: TraineeInPath
) -> TrainingPlan:
    return await training.get_plan(ctx, campaign_id, trainee_id)


@router.post(
    "/trainees/{trainee_id}/inspections",
    status_code=201,
    response_model=InspectionPublic,
    summary="Record an on-site inspection (updates the growth index)",
)
async def record_inspection(
    campaign_id: str, trainee_id: str, body: InspectionIn, ctx: ContextDep, principal: Office, _trainee: TraineeInPath
) -> InspectionRecord:
    return await training.record_inspection(ctx, principal, campaign_id, trainee_id, body)


@router.get("/trainees/{trainee_id}/inspections", response_model=list[InspectionPublic])
async def list_inspections(
    campaign_id: str, trainee_id: str, ctx: ContextDep, principal: Reader, _trainee: TraineeInPath
) -> list[InspectionRecord]:
    return await training.list_inspections(ctx, campaign_id, trainee_id)


@router.get(
    "/trainees/{trainee_id}/growth-index", response_model=GrowthPublic, summary="The growth index and its method"
)
async def growth_index(
    campaign_id: str, trainee_id: str, ctx: ContextDep, principal: Reader, _trainee: TraineeInPath
) -> GrowthPublic:
    return await training.get_growth(ctx, campaign_id, trainee_id)
