from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.problems import InvalidInput
from services.secondment import archive, service, transitions
from services.secondment.api.deps import (
    Office,
    PersonalDataReader,
    SecondmentInPath,
    SecondmentsDep,
    SecondmentsFiltered,
    UnitReader,
)
from services.secondment.schemas import (
    EndIn,
    ExtendIn,
    ReviewIn,
    ReviewPublic,
    ReviewRecorded,
    SecondmentPage,
    SecondmentPublic,
    StartIn,
    VettingIn,
    VettingPublic,
    WithdrawIn,
)

router = APIRouter(prefix="/api/v1/secondment/secondments", tags=["secondments"], dependencies=[Depends(authenticate)])


@router.get("", response_model=SecondmentPage, summary="List secondments")
async def list_secondments(
    r: SecondmentsDep,
    who: UnitReader,
    scope: SecondmentsFiltered,
    # No scope rule of their own: the filters narrow the rows in scope. A secondment is in
    # scope through its home or host unit, not the cadre's unit today, so a cadre of another
    # subtree gives an empty page, as an unknown one does.
    batch_id: Annotated[str | None, Query(max_length=36)] = None,
    cadre_id: Annotated[str | None, Query(max_length=36)] = None,
    state: Annotated[
        str | None, Query(pattern="^(nominated|vetted|approved|active|completed|ended_early|withdrawn)$")
    ] = None,
    direction: Annotated[str | None, Query(pattern="^(city_to_grassroots|grassroots_to_city)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await service.list_secondments(
        r, scope, batch_id=batch_id, cadre_id=cadre_id, state=state, direction=direction, limit=limit, cursor=cursor
    )


@router.get("/{secondment_id}", response_model=SecondmentPublic)
async def get_secondment(
    secondment_id: str, r: SecondmentsDep, who: UnitReader, scope: SecondmentInPath
) -> dict[str, Any]:
    return await service.get_secondment(r, secondment_id)


@router.post(
    "/{secondment_id}/vetting",
    response_model=SecondmentPublic,
    summary="Record vetting (in parts); complete and sound → vetted",
)
async def vet(
    secondment_id: str, body: VettingIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await transitions.record_vetting(r, who, secondment_id, body.model_dump(exclude_unset=True))


@router.get(
    "/{secondment_id}/vetting",
    response_model=VettingPublic,
    summary="The vetting record; the discipline opinion masked unless revealed",
)
async def read_vetting(
    secondment_id: str,
    r: SecondmentsDep,
    who: PersonalDataReader,
    scope: SecondmentInPath,
    reveal: bool = False,
    reason: Annotated[str | None, Query(min_length=2, max_length=500)] = None,
) -> dict[str, Any]:
    if reveal and not reason:
        raise InvalidInput(
            "a reason is required to read the discipline opinion",
            errors=[{"field": "reason", "message": "required with reveal"}],
        )
    return await transitions.read_vetting(r, who, secondment_id, reveal=reveal, reason=reason)


@router.post(
    "/{secondment_id}/start",
    response_model=SecondmentPublic,
    summary="Start (default: the batch's start date); ends after the term",
)
async def start(
    secondment_id: str, body: StartIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await transitions.start(r, who, secondment_id, body.model_dump())


@router.post(
    "/{secondment_id}/extend", response_model=SecondmentPublic, summary="Extend the term (a reason is required)"
)
async def extend(
    secondment_id: str, body: ExtendIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await transitions.extend(r, who, secondment_id, body.model_dump())


@router.post(
    "/{secondment_id}/end",
    response_model=SecondmentPublic,
    summary="Complete at the term's end, or end early with a reason",
)
async def end(
    secondment_id: str, body: EndIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await transitions.end(r, who, secondment_id, body.model_dump())


@router.post(
    "/{secondment_id}/withdraw", response_model=SecondmentPublic, summary="Withdraw a nomination before the start"
)
async def withdraw(
    secondment_id: str, body: WithdrawIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await transitions.withdraw(r, who, secondment_id, body.model_dump())


@router.post(
    "/{secondment_id}/reviews",
    status_code=201,
    response_model=ReviewRecorded,
    summary="Routine, annual or end-of-term review",
)
async def review(
    secondment_id: str, body: ReviewIn, r: SecondmentsDep, who: Office, scope: SecondmentInPath
) -> dict[str, Any]:
    return await archive.record_review(r, who, secondment_id, body.model_dump())


@router.get("/{secondment_id}/reviews", response_model=list[ReviewPublic])
async def reviews(
    secondment_id: str, r: SecondmentsDep, who: UnitReader, scope: SecondmentInPath
) -> list[dict[str, Any]]:
    return await archive.list_reviews(r, secondment_id)
