from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from services.scoring import excellence
from services.scoring.api.deps import (
    CadreInBody,
    CadreInPath,
    CandidatesInScope,
    CityRules,
    CityRulesChange,
    KeyPostInPath,
    KeyPostsInScope,
    Office,
    PoolGrant,
    RatingsInScope,
    Reader,
    ScoringDep,
    UnitInBody,
    UnitInPath,
    UnitInQuery,
    Year,
)
from services.scoring.schemas import (
    AppraisalIn,
    GrantIn,
    KeyPostAppraisalIn,
    KeyPostIn,
    PolicyIn,
    ProposeIn,
    UnitRatingIn,
)

router = APIRouter(prefix="/api/v1/scoring", tags=["appraisals and excellence"], dependencies=[Depends(authenticate)])


@router.get("/policies/{year}", summary="Appraisal weights, excellence ratios, incentive pool, second-line reserve")
async def get_policy(year: Year, sc: ScoringDep, who: Reader, scope: CityRules) -> dict:
    return await excellence.policy(sc, year)


@router.put("/policies/{year}")
async def set_policy(year: Year, body: PolicyIn, sc: ScoringDep, who: Office, scope: CityRulesChange) -> dict:
    return await excellence.set_policy(sc, who, year, body.model_dump(exclude_none=True))


@router.put("/appraisals/{year}/{cadre_id}", summary="Record the three-rater appraisal (三访三评)")
async def record_appraisal(
    year: Year, cadre_id: str, body: AppraisalIn, sc: ScoringDep, who: Office, scope: CadreInPath
) -> dict:
    return await excellence.record_appraisal(sc, who, year, cadre_id, body.model_dump())


@router.get("/appraisals/{year}/{cadre_id}", summary="The appraisal, with key-post special appraisals beside it")
async def get_appraisal(year: Year, cadre_id: str, sc: ScoringDep, who: Reader, scope: CadreInPath) -> dict:
    return await excellence.appraisal_view(sc, year, cadre_id)


@router.post("/key-posts", status_code=201, summary="Flag a key post (special appraisal applies)")
async def create_key_post(body: KeyPostIn, sc: ScoringDep, who: Office, scope: UnitInBody) -> dict:
    return await excellence.create_key_post(sc, who, body.model_dump())


@router.get("/key-posts")
async def list_key_posts(
    sc: ScoringDep,
    who: Reader,
    scope: KeyPostsInScope,
    unit_ref: UnitInQuery,
    unit_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list:
    return await excellence.list_key_posts(sc, scope, unit_id)


@router.post("/key-posts/{post_id}/appraisals", status_code=201, summary="Record a special appraisal of the holder")
async def key_post_appraisal(
    post_id: str, body: KeyPostAppraisalIn, sc: ScoringDep, who: Office, scope: KeyPostInPath, cadre_ref: CadreInBody
) -> dict:
    return await excellence.record_key_post_appraisal(sc, who, post_id, body.model_dump())


@router.put("/unit-ratings/{year}/{unit_id}", summary="A unit's own rating, which sets its excellence ratio")
async def set_unit_rating(
    year: Year, unit_id: str, body: UnitRatingIn, sc: ScoringDep, who: Office, scope: UnitInPath
) -> dict:
    return await excellence.set_unit_rating(sc, who, year, unit_id, body.rating)


@router.post("/quota-grants/{year}", status_code=201, summary="Grant a unit extra quota from the city incentive pool")
async def grant(year: Year, body: GrantIn, sc: ScoringDep, who: Office, scope: PoolGrant) -> dict:
    return await excellence.grant_quota(sc, who, year, body.model_dump())


@router.post("/ratings/{year}/propose", summary="Propose excellence ratings within quotas and impact periods")
async def propose(
    year: Year,
    sc: ScoringDep,
    who: Office,
    scope: CandidatesInScope,
    unit_ref: UnitInBody,
    body: ProposeIn | None = None,
) -> dict:
    return await excellence.propose_ratings(sc, who, scope, year, body.unit_id if body else None)


@router.get("/ratings/{year}")
async def list_ratings(
    year: Year,
    sc: ScoringDep,
    who: Reader,
    scope: RatingsInScope,
    status: Annotated[str | None, Query(pattern="^(proposed|confirmed)$")] = None,
) -> list:
    return await excellence.list_ratings(sc, scope, year, status)


@router.post(
    "/ratings/{year}/{cadre_id}/confirm", summary="Confirm a proposed rating (quota and periods checked again)"
)
async def confirm(year: Year, cadre_id: str, sc: ScoringDep, who: Office, scope: CadreInPath) -> dict:
    return await excellence.confirm_rating(sc, who, year, cadre_id)
