from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from cadrekit.auth import authenticate
from cadrekit.etags import etag, parse_if_match
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.matching.api.deps import (
    CadreInPath,
    CampaignSettings,
    ContextDep,
    Filtered,
    HostUnitInBody,
    Office,
    Reader,
    WholeCampaign,
)
from services.matching.exporting import balance_workbook
from services.matching.models import Campaign, Post
from services.matching.schemas.campaigns import (
    BalanceTable,
    CadrePreference,
    CadrePreferencePublic,
    CampaignCreate,
    CampaignPage,
    CampaignPublic,
    CampaignUpdate,
    PoolPublic,
    PoolRequest,
    PostCreate,
    PostPreference,
    PostPreferencePublic,
    PostPublic,
)
from services.matching.service import campaigns, pool

router = APIRouter(prefix="/api/v1/matching/campaigns", tags=["campaigns"], dependencies=[Depends(authenticate)])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Id = Annotated[str, Query(max_length=36)]


@router.post("", status_code=201, response_model=CampaignPublic, summary="Create a campaign (draft)")
async def create_campaign(
    body: CampaignCreate, ctx: ContextDep, principal: Office, _scope: WholeCampaign, response: Response
) -> Campaign:
    c = await campaigns.create_campaign(ctx, principal, body)
    response.headers["ETag"] = etag(c.version)
    return c


@router.get("", response_model=CampaignPage, summary="List campaigns")
async def list_campaigns(
    ctx: ContextDep,
    principal: Reader,
    _scope: CampaignSettings,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: Annotated[str | None, Query(pattern="^(draft|open|matched|confirmed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CampaignPage:
    return await campaigns.list_campaigns(ctx, year=year, status=status, limit=limit, cursor=cursor)


@router.get("/{campaign_id}", response_model=CampaignPublic)
async def get_campaign(
    campaign_id: str, ctx: ContextDep, principal: Reader, _scope: CampaignSettings, response: Response
) -> Campaign:
    c = await campaigns.get_campaign(ctx, campaign_id)
    response.headers["ETag"] = etag(c.version)
    return c


@router.patch("/{campaign_id}", response_model=CampaignPublic, summary="Rename, reweigh (If-Match)")
async def update_campaign(
    campaign_id: str,
    body: CampaignUpdate,
    ctx: ContextDep,
    principal: Office,
    _scope: WholeCampaign,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> Campaign:
    version = parse_if_match(if_match, what="a campaign")
    c = await campaigns.update_campaign(ctx, principal, campaign_id, version, body)
    response.headers["ETag"] = etag(c.version)
    return c


@router.post("/{campaign_id}/open", response_model=CampaignPublic, summary="Open for preferences")
async def open_campaign(campaign_id: str, ctx: ContextDep, principal: Office, _scope: WholeCampaign) -> Campaign:
    return await campaigns.open_campaign(ctx, principal, campaign_id)


@router.post("/{campaign_id}/posts", status_code=201, response_model=PostPublic, summary="Add a post")
async def add_post(
    campaign_id: str, body: PostCreate, ctx: ContextDep, principal: Office, _scope: HostUnitInBody
) -> Post:
    return await campaigns.add_post(ctx, principal, campaign_id, body)


@router.get("/{campaign_id}/posts", response_model=list[PostPublic])
async def list_posts(campaign_id: str, ctx: ContextDep, principal: Reader, scope: Filtered) -> list[PostPublic]:
    return await campaigns.list_posts(ctx, campaign_id, scope)


@router.put("/{campaign_id}/pool", response_model=PoolPublic, summary="Draw the pool by filter or by list")
async def set_pool(
    campaign_id: str, body: PoolRequest, ctx: ContextDep, principal: Office, _scope: WholeCampaign
) -> PoolPublic:
    return await pool.set_pool(ctx, principal, campaign_id, body)


@router.get("/{campaign_id}/pool", response_model=PoolPublic, summary="The pool, every exclusion with its reason")
async def get_pool(campaign_id: str, ctx: ContextDep, principal: Reader, scope: Filtered) -> PoolPublic:
    return await pool.get_pool(ctx, campaign_id, scope)


@router.put(
    "/{campaign_id}/preferences/cadres/{cadre_id}",
    response_model=CadrePreferencePublic,
    summary="A cadre's ranking of posts (干部选岗)",
)
async def cadre_preference(
    campaign_id: str, cadre_id: str, body: CadrePreference, ctx: ContextDep, principal: Office, _scope: CadreInPath
) -> CadrePreferencePublic:
    return await campaigns.set_cadre_preference(ctx, principal, campaign_id, cadre_id, body)


@router.put(
    "/{campaign_id}/preferences/posts/{post_id}",
    response_model=PostPreferencePublic,
    summary="A post's ranking (因岗择人)",
)
async def post_preference(
    campaign_id: str, post_id: str, body: PostPreference, ctx: ContextDep, principal: Office, _scope: WholeCampaign
) -> PostPreferencePublic:
    return await campaigns.set_post_preference(ctx, principal, campaign_id, post_id, body)


@router.get("/{campaign_id}/balance-table", response_model=BalanceTable, summary="选配平衡表: shortlists at 1:2")
async def balance_table(campaign_id: str, ctx: ContextDep, principal: Reader, scope: Filtered) -> BalanceTable:
    return await campaigns.balance_table(ctx, campaign_id, scope)


@router.get(
    "/{campaign_id}/balance-table/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="The balance table as XLSX",
)
async def balance_table_export(campaign_id: str, ctx: ContextDep, principal: Reader, scope: Filtered) -> Response:
    table = await campaigns.balance_table(ctx, campaign_id, scope)
    return Response(
        balance_workbook(table),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="balance-table.xlsx"'},
    )
