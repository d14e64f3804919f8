from __future__ import annotations

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from services.scoring.api.deps import CityRules, CityRulesChange, ContextDep, Office, Reader, Year
from services.scoring.schemas.catalogues import CatalogueContent, CatalogueEdit, CatalogueIn, CataloguePublic
from services.scoring.service import catalogues

router = APIRouter(prefix="/api/v1/scoring/catalogues", tags=["catalogues"], dependencies=[Depends(authenticate)])


@router.get("", summary="List catalogue versions, newest first", response_model=list[CataloguePublic])
async def list_catalogues(
    ctx: ContextDep, principal: Reader, scope: CityRules, year: Year | None = None
) -> list[CataloguePublic]:
    return await catalogues.list_for(ctx, year)


@router.get(
    "/default", summary="The default catalogue (8 positive, 5 negative categories)", response_model=CatalogueContent
)
async def default_catalogue(principal: Reader, scope: CityRules) -> CatalogueContent:
    return catalogues.default_catalogue()


@router.post("/{year}/drafts", status_code=201, summary="Draft the year's next version", response_model=CataloguePublic)
async def create_draft(
    year: Year, ctx: ContextDep, principal: Office, scope: CityRulesChange, body: CatalogueIn | None = None
) -> CataloguePublic:
    return await catalogues.create_draft(ctx, principal, year, body)


@router.get("/{catalogue_id}", response_model=CataloguePublic)
async def get_catalogue(catalogue_id: str, ctx: ContextDep, principal: Reader, scope: CityRules) -> CataloguePublic:
    return await catalogues.get(ctx, catalogue_id)


@router.put(
    "/{catalogue_id}",
    summary="Replace a draft's content (published versions never change)",
    response_model=CataloguePublic,
)
async def edit_draft(
    catalogue_id: str, body: CatalogueEdit, ctx: ContextDep, principal: Office, scope: CityRulesChange
) -> CataloguePublic:
    return await catalogues.edit_draft(ctx, principal, catalogue_id, body)


@router.post(
    "/{catalogue_id}/publish", summary="Publish a draft as the year's newest version", response_model=CataloguePublic
)
async def publish(catalogue_id: str, ctx: ContextDep, principal: Office, scope: CityRulesChange) -> CataloguePublic:
    return await catalogues.publish(ctx, principal, catalogue_id)
