from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.secondment import archive, nominations, service, transitions
from services.secondment.api.deps import WHOLE_CITY, Office, Reader, SecondmentsDep
from services.secondment.exporting import export_batch
from services.secondment.schemas import (
    BatchApproved,
    BatchCreate,
    BatchPage,
    BatchPublic,
    BatchStats,
    EligibilityPublic,
    Nomination,
    PairCreate,
    PairPublic,
    SecondmentPublic,
)

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
async def create(body: BatchCreate, r: SecondmentsDep, who: Office, response: Response) -> dict[str, Any]:
    out = await service.create_batch(r, who, body.model_dump())
    response.headers["Location"] = f"/api/v1/secondment/batches/{out['id']}"
    return out


@router.get("", response_model=BatchPage, summary="List batches")
async def list_batches(
    r: SecondmentsDep,
    who: Reader,
    year: Annotated[int | None, Query(ge=1950, le=2200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await service.list_batches(r, year=year, limit=limit, cursor=cursor)


@router.get("/{batch_id}", response_model=BatchPublic)
async def get_batch(batch_id: str, r: SecondmentsDep, who: Reader) -> dict[str, Any]:
    return await service.get_batch(r, batch_id)


@router.post(
    "/{batch_id}/pairs", status_code=201, response_model=PairPublic, summary="Pair a city organ with a town or village"
)
async def create_pair(batch_id: str, body: PairCreate, r: SecondmentsDep, who: Office) -> dict[str, Any]:
    return await service.create_pair(r, batch_id, body.model_dump())


@router.get("/{batch_id}/pairs", response_model=list[PairPublic])
async def list_pairs(batch_id: str, r: SecondmentsDep, who: Reader) -> list[dict[str, Any]]:
    return await service.list_pairs(r, batch_id)


@router.get(
    "/{batch_id}/eligibility",
    response_model=EligibilityPublic,
    summary="Would this cadre be eligible? Each rule with its figures",
)
async def eligibility(
    batch_id: str,
    r: SecondmentsDep,
    who: Office,
    cadre_id: Annotated[str, Query(max_length=36)],
    pair_id: Annotated[str | None, Query(max_length=36)] = None,
    to_unit_id: Annotated[str | None, Query(max_length=36)] = None,
    performance_judgement: Annotated[str | None, Query(pattern="^(strong|not_strong)$")] = None,
) -> dict[str, Any]:
    data = {
        "cadre_id": cadre_id,
        "pair_id": pair_id,
        "to_unit_id": to_unit_id,
        "performance_judgement": performance_judgement,
    }
    return await nominations.check_eligibility(r, batch_id, data)


@router.post(
    "/{batch_id}/nominations",
    status_code=201,
    response_model=SecondmentPublic,
    summary="Nominate a cadre (eligibility checked per rule)",
)
async def nominate(batch_id: str, body: Nomination, r: SecondmentsDep, who: Office) -> dict[str, Any]:
    return await nominations.nominate(r, who, batch_id, body.model_dump())


@router.post(
    "/{batch_id}/approve",
    response_model=BatchApproved,
    summary="Approve the batch: vetting complete, pairs whole, quotas met",
)
async def approve(batch_id: str, r: SecondmentsDep, who: Office) -> dict[str, Any]:
    return await transitions.approve_batch(r, who, batch_id)


@router.get(
    "/{batch_id}/stats",
    response_model=BatchStats,
    summary="Count, average age at the start, non-Party, women; by region and kind",
)
async def stats(batch_id: str, r: SecondmentsDep, who: Reader) -> dict[str, Any]:
    # Whole tree, not filtered: these are the batch's reported figures (seed 004), and the same
    # counts over a few units' rows would be figures no one reports, small enough to name people.
    return await archive.stats(r, batch_id)


@router.get(
    "/{batch_id}/export",
    summary="The batch as XLSX",
    responses={200: {"content": {XLSX: {}}}},
    response_class=Response,
)
async def export(batch_id: str, r: SecondmentsDep, who: Reader) -> Response:
    content = await export_batch(r, batch_id)
    return Response(
        content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.xlsx"'}
    )
