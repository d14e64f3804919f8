from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.secondment.api.deps import WHOLE_CITY, ContextDep, Office, Reader
from services.secondment.exporting import export_batch
from services.secondment.schemas import (
    BatchApproved,
    BatchCreate,
    BatchPage,
    BatchPublic,
    BatchStats,
    Candidacy,
    EligibilityPublic,
    Nomination,
    PairCreate,
    PairPublic,
    SecondmentPublic,
)
from services.secondment.service import batches, nominations

# Every route here is whole_tree (a token limited to some units: 403), nominations and the
# eligibility check included: a nomination commits a pair and counts towards the batch's
# quotas, which the cadre office weighs across the whole city.
router = APIRouter(
    prefix="/api/v1/secondment/batches",
    tags=["batches"],
    dependencies=[Depends(authenticate), Depends(WHOLE_CITY)],
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IdPath = Annotated[str, Query(max_length=36)]


@router.post(
    "",
    status_code=201,
    response_model=BatchPublic,
    summary="Create a batch (term, start, quota rules, eligibility criteria)",
)
async def create(body: BatchCreate, ctx: ContextDep, principal: Office, response: Response) -> BatchPublic:
    out = await batches.create_batch(ctx, principal, body)
    response.headers["Location"] = f"/api/v1/secondment/batches/{out.id}"
    return out


@router.get("", response_model=BatchPage, summary="List batches")
async def list_batches(
    ctx: ContextDep,
    principal: Reader,
    year: Annotated[int | None, Query(ge=1950, le=2200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> BatchPage:
    return await batches.list_batches(ctx, year=year, limit=limit, cursor=cursor)


@router.get("/{batch_id}", response_model=BatchPublic)
async def get_batch(batch_id: str, ctx: ContextDep, principal: Reader) -> BatchPublic:
    return await batches.get_batch(ctx, batch_id)


@router.post(
    "/{batch_id}/pairs", status_code=201, response_model=PairPublic, summary="Pair a city organ with a town or village"
)
async def create_pair(batch_id: str, body: PairCreate, ctx: ContextDep, principal: Office) -> PairPublic:
    return await batches.create_pair(ctx, batch_id, body)


@router.get("/{batch_id}/pairs", response_model=list[PairPublic])
async def list_pairs(batch_id: str, ctx: ContextDep, principal: Reader) -> list[PairPublic]:
    return await batches.list_pairs(ctx, batch_id)


@router.get(
    "/{batch_id}/eligibility",
    response_model=EligibilityPublic,
    summary="Would this cadre be eligible? Each rule with its figures",
)
async def eligibility(
    batch_id: str,
    ctx: ContextDep,
    principal: Office,
    cadre_id: Annotated[str, Query(max_length=36)],
    pair_id: Annotated[str | None, Query(max_length=36)] = None,
    to_unit_id: Annotated[str | None, Query(max_length=36)] = None,
    performance_judgement: Annotated[str | None, Query(pattern="^(strong|not_strong)$")] = None,
) -> EligibilityPublic:
    candidacy = Candidacy(
        cadre_id=cadre_id, pair_id=pair_id, to_unit_id=to_unit_id, performance_judgement=performance_judgement
    )
    return await nominations.check_eligibility(ctx, batch_id, candidacy)


@router.post(
    "/{batch_id}/nominations",
    status_code=201,
    response_model=SecondmentPublic,
    summary="Nominate a cadre (eligibility checked per rule)",
)
async def nominate(batch_id: str, body: Nomination, ctx: ContextDep, principal: Office) -> SecondmentPublic:
    return await nominations.nominate(ctx, principal, batch_id, body)


@router.post(
    "/{batch_id}/approve",
    response_model=BatchApproved,
    summary="Approve the batch: vetting complete, pairs whole, quotas met",
)
async def approve(batch_id: str, ctx: ContextDep, principal: Office) -> BatchApproved:
    return await batches.approve_batch(ctx, principal, batch_id)


@router.get(
    "/{batch_id}/stats",
    response_model=BatchStats,
    summary="Count, average age at the start, non-Party, women; by region and kind",
)
async def stats(batch_id: str, ctx: ContextDep, principal: Reader) -> BatchStats:
    # Whole tree, not filtered: these are the batch's reported figures (seed 004), and the same
    # counts over a few units' rows would be figures no one reports, small enough to name people.
    return await batches.stats(ctx, batch_id)


@router.get(
    "/{batch_id}/export",
    summary="The batch as XLSX",
    responses={200: {"content": {XLSX: {}}}},
    response_class=Response,
)
async def export(batch_id: str, ctx: ContextDep, principal: Reader) -> Response:
    content = await export_batch(ctx, batch_id)
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.xlsx"'}
    )
