from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.matching import service
from services.matching.api.deps import MatchingDep, Office, PlacementsFiltered, Reader, RunStatus, WholeRun
from services.matching.schemas import (
    ConfirmPublic,
    ConfirmRequest,
    OverrideCreate,
    OverridePublic,
    RunCreate,
    RunPublic,
    RunResultPage,
    RunResultPublic,
)

router = APIRouter(prefix="/api/v1/matching/campaigns", tags=["runs"], dependencies=[Depends(authenticate)])


@router.post(
    "/{campaign_id}/runs",
    status_code=202,
    response_model=RunPublic,
    summary="Start an assignment run (stable or optimal); a job with progress",
)
async def start_run(
    campaign_id: str, body: RunCreate, m: MatchingDep, who: Office, _scope: WholeRun, response: Response
) -> dict:
    run = await service.start_run(m, who, campaign_id, body.model_dump())
    response.headers["Location"] = f"/api/v1/matching/campaigns/{campaign_id}/runs/{run['id']}"
    return run


@router.get("/{campaign_id}/runs", response_model=list[RunPublic])
async def list_runs(campaign_id: str, m: MatchingDep, who: Reader, _scope: RunStatus) -> list:
    return await service.list_runs(m, campaign_id)


@router.get("/{campaign_id}/runs/{run_id}", response_model=RunPublic, summary="A run's status, progress and summary")
async def get_run(campaign_id: str, run_id: str, m: MatchingDep, who: Reader, _scope: RunStatus) -> dict:
    return await service.get_run(m, campaign_id, run_id)


@router.get(
    "/{campaign_id}/runs/{run_id}/results",
    response_model=RunResultPage,
    summary="Every cadre: the post and why, or why none",
)
async def run_results(
    campaign_id: str,
    run_id: str,
    m: MatchingDep,
    who: Reader,
    scope: PlacementsFiltered,
    reason: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return await service.run_results(m, campaign_id, run_id, scope, reason=reason, limit=limit, cursor=cursor)


@router.post(
    "/{campaign_id}/runs/{run_id}/overrides",
    response_model=RunResultPublic,
    summary="Change one placement of a run, with a reason (kept in its history)",
)
async def override(
    campaign_id: str, run_id: str, body: OverrideCreate, m: MatchingDep, who: Office, _scope: WholeRun
) -> dict:
    return await service.override(m, who, campaign_id, run_id, body.model_dump())


@router.get("/{campaign_id}/runs/{run_id}/overrides", response_model=list[OverridePublic])
async def list_overrides(campaign_id: str, run_id: str, m: MatchingDep, who: Reader, scope: PlacementsFiltered) -> list:
    return await service.list_overrides(m, campaign_id, run_id, scope)


@router.post(
    "/{campaign_id}/confirm",
    response_model=ConfirmPublic,
    summary="Fix a run's result: one matching.placement.confirmed per placed cadre",
)
async def confirm(campaign_id: str, body: ConfirmRequest, m: MatchingDep, who: Office, _scope: WholeRun) -> dict:
    return await service.confirm(m, who, campaign_id, body.run_id)
