from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from cadrekit.auth import authenticate
from cadrekit.etags import etag, parse_if_match
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.matching import service
from services.matching.api.deps import (
    CadreInPath,
    CampaignSettings,
    Filtered,
    HostUnitInBody,
    MatchingDep,
    Office,
    Reader,
    WholeCampaign,
)
from services.matching.exporting import balance_workbook
from services.matching.schemas import (
    BalanceTable,
    CadrePreference,
    CampaignCreate,
    CampaignPage,
    CampaignPublic,
    CampaignUpdate,
    PoolPublic,
    PoolRequest,
    PostCreate,
    PostPreference,
    PostPublic,
)

router = APIRouter(prefix="/api/v1/matching/campaigns", tags=["campaigns"], dependencies=[Depends(authenticate)])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Id = Annotated[str, Query(max_length=36)]


@router.post("", status_code=201, response_model=CampaignPublic, summary="Create a campaign (draft)")
async def create_campaign(
    body: CampaignCreate, m: MatchingDep, who: Office, _scope: WholeCampaign, response: Response
) -> dict:
    out = await service.create_campaign(m, who, body.model_dump())
    response.headers["ETag"] = etag(out["version"])
    return out


@router.get("", response_model=CampaignPage, summary="List campaigns")
async def list_campaigns(
    m: MatchingDep,
    who: Reader,
    _scope: CampaignSettings,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[str | None, Query(pattern="^(draft|open|matched|confirmed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return await service.list_campaigns(m, year=year, status=status, limit=limit, cursor=cursor)


@router.get("/{campaign_id}", response_model=CampaignPublic)
async def get_campaign(
    campaign_id: str, m: MatchingDep, who: Reader, _scope: CampaignSettings, response: Response
) -> dict:
    out = await service.get_campaign(m, campaign_id)
    response.headers["ETag"] = etag(out["version"])
    return out


@router.patch("/{campaign_id}", response_model=CampaignPublic, summary="Rename, reweigh (If-Match)")
async def update_campaign(
    campaign_id: str,
    body: CampaignUpdate,
    m: MatchingDep,
    who: Office,
    _scope: WholeCampaign,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict:
    out = await service.update_campaign(
        m,
        who,
        campaign_id,
        parse_if_match(if_match, what="a campaign"),
        body.model_dump(exclude_unset=True, exclude_none=True),
    )
    response.headers["ETag"] = etag(out["version"])
    return out


@router.post("/{campaign_id}/open", response_model=CampaignPublic, summary="Open for preferences")
async def open_campaign(campaign_id: str, m: MatchingDep, who: Office, _scope: WholeCampaign) -> dict:
    return await service.open_campaign(m, who, campaign_id)


@router.post("/{campaign_id}/posts", status_code=201, response_model=PostPublic, summary="Add a post")
async def add_post(campaign_id: str, body: PostCreate, m: MatchingDep, who: Office, _scope: HostUnitInBody) -> dict:
    return await service.add_post(m, who, campaign_id, body.model_dump())


@router.get("/{campaign_id}/posts", response_model=list[PostPublic])
async def list_posts(campaign_id: str, m: MatchingDep, who: Reader, scope: Filtered) -> list:
    return await service.list_posts(m, campaign_id, scope)


@router.put("/{campaign_id}/pool", response_model=PoolPublic, summary="Draw the pool by filter or by list")
async def set_pool(campaign_id: str, body: PoolRequest, m: MatchingDep, who: Office, _scope: WholeCampaign) -> dict:
    return await service.set_pool(m, who, campaign_id, body.model_dump())


@router.get("/{campaign_id}/pool", response_model=PoolPublic, summary="The pool, every exclusion with its reason")
async def get_pool(campaign_id: str, m: MatchingDep, who: Reader, scope: Filtered) -> dict:
    return await service.get_pool(m, campaign_id, scope)


@router.put("/{campaign_id}/preferences/cadres/{cadre_id}", summary="A cadre's ranking of posts (干部选岗)")
async def cadre_preference(
    campaign_id: str, cadre_id: str, body: CadrePreference, m: MatchingDep, who: Office, _scope: CadreInPath
) -> dict:
    return await service.set_cadre_preference(m, who, campaign_id, cadre_id, body.posts)


@router.put(
    "/{campaign_id}/preferences/posts/{post_id}", response_model=PostPublic, summary="A post's ranking (因岗择人)"
)
async def post_preference(
    campaign_id: str, post_id: str, body: PostPreference, m: MatchingDep, who: Office, _scope: WholeCampaign
) -> dict:
    return await service.set_post_preference(m, who, campaign_id, post_id, body.cadres)


@router.get("/{campaign_id}/balance-table", response_model=BalanceTable, summary="选配平衡表: shortlists at 1:2")
async def balance_table(campaign_id: str, m: MatchingDep, who: Reader, scope: Filtered) -> dict:
    return await service.balance_table(m, campaign_id, scope)


@router.get(
    "/{campaign_id}/balance-table/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="The balance table as XLSX",
)
async def balance_table_export(campaign_id: str, m: MatchingDep, who: Reader, scope: Filtered) -> Response:
    table = await service.balance_table(m, campaign_id, scope)
    return Response(
        balance_workbook(table),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="balance-table.xlsx"'},
    )
