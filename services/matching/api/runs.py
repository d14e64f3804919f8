from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.matching.api.deps import ContextDep, Office, PlacementsFiltered, Reader, RunStatus, WholeRun
from services.matching.models import Run, RunOverride, RunResult
from services.matching.schemas.runs import (
    ConfirmPublic,
    ConfirmRequest,
    OverrideCreate,
    OverridePublic,
    RunComparison,
    RunCreate,
    RunPublic,
    RunResultPage,
    RunResultPublic,
)
from services.matching.service import comparison, confirmation, runs

router = APIRouter(prefix="/api/v1/matching/campaigns", tags=["runs"], dependencies=[Depends(authenticate)])


@router.post(
    "/{campaign_id}/runs",
    status_code=202,
    response_model=RunPublic,
    summary="Start an assignment run (stable or optimal); a job with progress",
)
async def start_run(
    campaign_id: str, body: RunCreate, ctx: ContextDep, principal: Office, _scope: WholeRun, response: Response
) -> Run:
    run = await runs.start_run(ctx, principal, campaign_id, body)
    response.headers["Location"] = f"/api/v1/matching/campaigns/{campaign_id}/runs/{run.id}"
    return run


@router.get("/{campaign_id}/runs", response_model=list[RunPublic])
async def list_runs(campaign_id: str, ctx: ContextDep, principal: Reader, _scope: RunStatus) -> list[Run]:
    return await runs.list_runs(ctx, campaign_id)


@router.get("/{campaign_id}/runs/{run_id}", response_model=RunPublic, summary="A run's status, progress and summary")
async def get_run(campaign_id: str, run_id: str, ctx: ContextDep, principal: Reader, _scope: RunStatus) -> Run:
    return await runs.get_run(ctx, campaign_id, run_id)


@router.get(
    "/{campaign_id}/runs/{run_id}/results",
    response_model=RunResultPage,
    summary="Every cadre: the post and why, or why none",
)
async def run_results(
    campaign_id: str,
    run_id: str,
    ctx: ContextDep,
    principal: Reader,
    scope: PlacementsFiltered,
    reason: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> RunResultPage:
    return await runs.run_results(ctx, campaign_id, run_id, scope, reason=reason, limit=limit, cursor=cursor)


@router.get(
    "/{campaign_id}/runs/{run_id}/compare/{other_run_id}",
    response_model=RunComparison,
    summary="Two completed runs side by side before confirming: who moves, posts that change hands, total fit, quotas",
)
async def compare_runs(
    campaign_id: str, run_id: str, other_run_id: str, ctx: ContextDep, principal: Reader, scope: PlacementsFiltered
) -> RunComparison:
    return await comparison.compare_runs(ctx, principal, campaign_id, run_id, other_run_id, scope)


@router.post(
    "/{campaign_id}/runs/{run_id}/overrides",
    response_model=RunResultPublic,
    summary="Change one placement of a run, with a reason (kept in its history)",
)
async def override(
    campaign_id: str, run_id: str, body: OverrideCreate, ctx: ContextDep, principal: Office, _scope: WholeRun
) -> RunResult:
    return await confirmation.override(ctx, principal, campaign_id, run_id, body)


@router.get("/{campaign_id}/runs/{run_id}/overrides", response_model=list[OverridePublic])
async def list_overrides(
    campaign_id: str, run_id: str, ctx: ContextDep, principal: Reader, scope: PlacementsFiltered
) -> list[RunOverride]:
    return await confirmation.list_overrides(ctx, campaign_id, run_id, scope)


@router.post(
    "/{campaign_id}/confirm",
    response_model=ConfirmPublic,
    summary="Fix a run's result: one matching.placement.confirmed per placed cadre",
)
async def confirm(
    campaign_id: str, body: ConfirmRequest, ctx: ContextDep, principal: Office, _scope: WholeRun
) -> ConfirmPublic:
    return await confirmation.confirm(ctx, principal, campaign_id, body)
