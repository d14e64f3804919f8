from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.errors import Invalid
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.secondment.api.deps import (
    ContextDep,
    Office,
    PersonalDataReader,
    SecondmentInPath,
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
from services.secondment.service import secondments, transitions

router = APIRouter(prefix="/api/v1/secondment/secondments", tags=["secondments"], dependencies=[Depends(authenticate)])


@router.get("", response_model=SecondmentPage, summary="List secondments")
async def list_secondments(
    ctx: ContextDep,
    principal: UnitReader,
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
) -> SecondmentPage:
    return await secondments.list_secondments(
        ctx, scope, batch_id=batch_id, cadre_id=cadre_id, state=state, direction=direction, limit=limit, cursor=cursor
    )


@router.get("/{secondment_id}", response_model=SecondmentPublic)
async def get_secondment(
    secondment_id: str, ctx: ContextDep, principal: UnitReader, scope: SecondmentInPath
) -> SecondmentPublic:
    return await secondments.get_secondment(ctx, secondment_id)


@router.post(
    "/{secondment_id}/vetting",
    response_model=SecondmentPublic,
    summary="Record vetting (in parts); complete and sound → vetted",
)
async def vet(
    secondment_id: str, body: VettingIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> SecondmentPublic:
    return await transitions.record_vetting(ctx, principal, secondment_id, body)


@router.get(
    "/{secondment_id}/vetting",
    response_model=VettingPublic,
    summary="The vetting record; the discipline opinion masked unless revealed",
)
async def read_vetting(
    secondment_id: str,
    ctx: ContextDep,
    principal: PersonalDataReader,
    scope: SecondmentInPath,
    reveal: bool = False,
    reason: Annotated[str | None, Query(min_length=2, max_length=500)] = None,
) -> VettingPublic:
    if reveal and not reason:
        raise Invalid(
            "a reason is required to read the discipline opinion",
            errors=[{"field": "reason", "message": "required with reveal"}],
        )
    return await transitions.read_vetting(ctx, principal, secondment_id, reveal=reveal, reason=reason)


@router.post(
    "/{secondment_id}/start",
    response_model=SecondmentPublic,
    summary="Start (default: the batch's start date); ends after the term",
)
async def start(
    secondment_id: str, body: StartIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> SecondmentPublic:
    return await transitions.start(ctx, principal, secondment_id, body)


@router.post(
    "/{secondment_id}/extend", response_model=SecondmentPublic, summary="Extend the term (a reason is required)"
)
async def extend(
    secondment_id: str, body: ExtendIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> SecondmentPublic:
    return await transitions.extend(ctx, principal, secondment_id, body)


@router.post(
    "/{secondment_id}/end",
    response_model=SecondmentPublic,
    summary="Complete at the term's end, or end early with a reason",
)
async def end(
    secondment_id: str, body: EndIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> SecondmentPublic:
    return await transitions.end(ctx, principal, secondment_id, body)


@router.post(
    "/{secondment_id}/withdraw", response_model=SecondmentPublic, summary="Withdraw a nomination before the start"
)
async def withdraw(
    secondment_id: str, body: WithdrawIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> SecondmentPublic:
    return await transitions.withdraw(ctx, principal, secondment_id, body)


@router.post(
    "/{secondment_id}/reviews",
    status_code=201,
    response_model=ReviewRecorded,
    summary="Routine, annual or end-of-term review",
)
async def review(
    secondment_id: str, body: ReviewIn, ctx: ContextDep, principal: Office, scope: SecondmentInPath
) -> ReviewRecorded:
    return await secondments.record_review(ctx, principal, secondment_id, body)


@router.get("/{secondment_id}/reviews", response_model=list[ReviewPublic])
async def reviews(
    secondment_id: str, ctx: ContextDep, principal: UnitReader, scope: SecondmentInPath
) -> list[ReviewPublic]:
    return await secondments.list_reviews(ctx, secondment_id)
