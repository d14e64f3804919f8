from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from services.scoring.api.deps import (
    CadreInBody,
    CadreInPath,
    CandidatesInScope,
    CityRules,
    CityRulesChange,
    ContextDep,
    KeyPostInPath,
    KeyPostsInScope,
    Office,
    PoolGrant,
    RatingsInScope,
    Reader,
    UnitInBody,
    UnitInPath,
    UnitInQuery,
    Year,
)
from services.scoring.schemas.excellence import (
    AppraisalIn,
    AppraisalPublic,
    AppraisalView,
    GrantIn,
    GrantPublic,
    KeyPostAppraisalIn,
    KeyPostAppraisalPublic,
    KeyPostIn,
    KeyPostPublic,
    PolicyIn,
    PolicyPublic,
    ProposalsPublic,
    ProposeIn,
    RatingPublic,
    UnitRatingIn,
    UnitRatingPublic,
)
from services.scoring.service import excellence, quotas

router = APIRouter(prefix="/api/v1/scoring", tags=["appraisals and excellence"], dependencies=[Depends(authenticate)])


@router.get(
    "/policies/{year}",
    summary="Appraisal weights, excellence ratios, incentive pool, second-line reserve",
    response_model=PolicyPublic,
)
async def get_policy(year: Year, ctx: ContextDep, principal: Reader, scope: CityRules) -> PolicyPublic:
    return await excellence.policy(ctx, year)


@router.put("/policies/{year}", response_model=PolicyPublic)
async def set_policy(
    year: Year, body: PolicyIn, ctx: ContextDep, principal: Office, scope: CityRulesChange
) -> PolicyPublic:
    return await excellence.set_policy(ctx, principal, year, body)


@router.put(
    "/appraisals/{year}/{cadre_id}",
    summary="Record the three-rater appraisal (三访三评)",
    response_model=AppraisalPublic,
)
async def record_appraisal(
    year: Year, cadre_id: str, body: AppraisalIn, ctx: ContextDep, principal: Office, scope: CadreInPath
) -> AppraisalPublic:
    return await excellence.record_appraisal(ctx, principal, year, cadre_id, body)


@router.get(
    "/appraisals/{year}/{cadre_id}",
    summary="The appraisal, with key-post special appraisals beside it",
    response_model=AppraisalView,
)
async def get_appraisal(
    year: Year, cadre_id: str, ctx: ContextDep, principal: Reader, scope: CadreInPath
) -> AppraisalView:
    return await excellence.appraisal_view(ctx, year, cadre_id)


@router.post(
    "/key-posts",
    status_code=201,
    summary="Flag a key post (special appraisal applies)",
    response_model=KeyPostPublic,
)
async def create_key_post(body: KeyPostIn, ctx: ContextDep, principal: Office, scope: UnitInBody) -> KeyPostPublic:
    return await excellence.create_key_post(ctx, principal, body)


@router.get("/key-posts", response_model=list[KeyPostPublic])
async def list_key_posts(
    ctx: ContextDep,
    principal: Reader,
    scope: KeyPostsInScope,
    unit_ref: UnitInQuery,
    unit_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[KeyPostPublic]:
    return await excellence.list_key_posts(ctx, scope, unit_id)


@router.post(
    "/key-posts/{post_id}/appraisals",
    status_code=201,
    summary="Record a special appraisal of the holder",
    response_model=KeyPostAppraisalPublic,
)
async def key_post_appraisal(
    post_id: str,
    body: KeyPostAppraisalIn,
    ctx: ContextDep,
    principal: Office,
    scope: KeyPostInPath,
    cadre_ref: CadreInBody,
) -> KeyPostAppraisalPublic:
    return await excellence.record_key_post_appraisal(ctx, principal, post_id, body)


@router.put(
    "/unit-ratings/{year}/{unit_id}",
    summary="A unit's own rating, which sets its excellence ratio",
    response_model=UnitRatingPublic,
)
async def set_unit_rating(
    year: Year, unit_id: str, body: UnitRatingIn, ctx: ContextDep, principal: Office, scope: UnitInPath
) -> UnitRatingPublic:
    return await quotas.set_unit_rating(ctx, principal, year, unit_id, body.rating)


@router.post(
    "/quota-grants/{year}",
    status_code=201,
    summary="Grant a unit extra quota from the city incentive pool",
    response_model=GrantPublic,
)
async def grant(year: Year, body: GrantIn, ctx: ContextDep, principal: Office, scope: PoolGrant) -> GrantPublic:
    return await quotas.grant_quota(ctx, principal, year, body)


@router.post(
    "/ratings/{year}/propose",
    summary="Propose excellence ratings within quotas and impact periods",
    response_model=ProposalsPublic,
)
async def propose(
    year: Year,
    ctx: ContextDep,
    principal: Office,
    scope: CandidatesInScope,
    unit_ref: UnitInBody,
    body: ProposeIn | None = None,
) -> ProposalsPublic:
    return await quotas.propose_ratings(ctx, principal, scope, year, body.unit_id if body else None)


@router.get("/ratings/{year}", response_model=list[RatingPublic])
async def list_ratings(
    year: Year,
    ctx: ContextDep,
    principal: Reader,
    scope: RatingsInScope,
    status: Annotated[str | None, Query(pattern="^(proposed|confirmed)$")] = None,
) -> list[RatingPublic]:
    return await quotas.list_ratings(ctx, scope, year, status)


@router.post(
    "/ratings/{year}/{cadre_id}/confirm",
    summary="Confirm a proposed rating (quota and periods checked again)",
    response_model=RatingPublic,
)
async def confirm(year: Year, cadre_id: str, ctx: ContextDep, principal: Office, scope: CadreInPath) -> RatingPublic:
    return await quotas.confirm_rating(ctx, principal, year, cadre_id)
