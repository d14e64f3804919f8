from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from cadrekit.auth import authenticate
from cadrekit.etags import parse_if_match
from services.matching import training
from services.matching.api.deps import (
    Filtered,
    MatchingDep,
    Office,
    PairsFiltered,
    Reader,
    TraineeInPath,
    TutorInBody,
)
from services.matching.schemas import (
    GrowthPublic,
    InspectionIn,
    InspectionPublic,
    PlanIn,
    PlanPublic,
    TutorAssign,
    TutorPublic,
    TutorSuggestion,
)

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
    m: MatchingDep,
    who: Reader,
    _trainee: TraineeInPath,
    scope: Filtered,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list:
    return await training.suggest_tutors(m, campaign_id, trainee_id, scope, limit)


@router.put("/trainees/{trainee_id}/tutor", response_model=TutorPublic, summary="Assign the trainee's tutor (练兵导师)")
async def assign_tutor(
    campaign_id: str,
    trainee_id: str,
    body: TutorAssign,
    m: MatchingDep,
    who: Office,
    _trainee: TraineeInPath,
    _tutor: TutorInBody,
) -> dict:
    return await training.assign_tutor(m, who, campaign_id, trainee_id, body.model_dump())


@router.get("/tutors", response_model=list[TutorPublic])
async def list_tutors(campaign_id: str, m: MatchingDep, who: Reader, scope: PairsFiltered) -> list:
    return await training.list_tutors(m, campaign_id, scope)


@router.put(
    "/trainees/{trainee_id}/plan",
    response_model=PlanPublic,
    summary="The plan agreed with the tutor (If-Match to change)",
)
async def set_plan(
    campaign_id: str,
    trainee_id: str,
    body: PlanIn,
    m: MatchingDep,
    who: Office,
    _trainee: TraineeInPath,
    if_match: Annotated[str | None, Header()] = None,
) -> dict:
    version = parse_if_match(if_match, what="the plan", required=False)
    return await training.set_plan(m, who, campaign_id, trainee_id, version, body.model_dump())


@router.get("/trainees/{trainee_id}/plan", response_model=PlanPublic)
async def get_plan(campaign_id: str, trainee_id: str, m: MatchingDep, who: Reader, _trainee: TraineeInPath) -> dict:
    return await training.get_plan(m, campaign_id, trainee_id)


@router.post(
    "/trainees/{trainee_id}/inspections",
    status_code=201,
    response_model=InspectionPublic,
    summary="Record an on-site inspection (updates the growth index)",
)
async def record_inspection(
    campaign_id: str, trainee_id: str, body: InspectionIn, m: MatchingDep, who: Office, _trainee: TraineeInPath
) -> dict:
    return await training.record_inspection(m, who, campaign_id, trainee_id, body.model_dump())


@router.get("/trainees/{trainee_id}/inspections", response_model=list[InspectionPublic])
async def list_inspections(
    campaign_id: str, trainee_id: str, m: MatchingDep, who: Reader, _trainee: TraineeInPath
) -> list:
    return await training.list_inspections(m, campaign_id, trainee_id)


@router.get(
    "/trainees/{trainee_id}/growth-index", response_model=GrowthPublic, summary="The growth index and its method"
)
async def growth_index(campaign_id: str, trainee_id: str, m: MatchingDep, who: Reader, _trainee: TraineeInPath) -> dict:
    return await training.get_growth(m, campaign_id, trainee_id)
