from __future__ import annotations

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from services.scoring import catalogues
from services.scoring.api.deps import CityRules, CityRulesChange, Office, Reader, ScoringDep, Year
from services.scoring.schemas import CatalogueEdit, CatalogueIn

router = APIRouter(prefix="/api/v1/scoring/catalogues", tags=["catalogues"], dependencies=[Depends(authenticate)])


@router.get("", summary="List catalogue versions, newest first")
async def list_catalogues(sc: ScoringDep, who: Reader, scope: CityRules, year: Year | None = None) -> list:
    return await catalogues.list_for(sc, year)


@router.get("/default", summary="The default catalogue (8 positive, 5 negative categories)")
async def default_catalogue(who: Reader, scope: CityRules) -> dict:
    return catalogues.default_catalogue()


@router.post("/{year}/drafts", status_code=201, summary="Draft the year's next version")
async def create_draft(
    year: Year, sc: ScoringDep, who: Office, scope: CityRulesChange, body: CatalogueIn | None = None
) -> dict:
    data = body.model_dump(exclude_none=True) if body else {}
    return await catalogues.create_draft(sc, who, year, data)


@router.get("/{catalogue_id}")
async def get_catalogue(catalogue_id: str, sc: ScoringDep, who: Reader, scope: CityRules) -> dict:
    return catalogues.public(await catalogues.get(sc, catalogue_id))


@router.put("/{catalogue_id}", summary="Replace a draft's content (published versions never change)")
async def edit_draft(
    catalogue_id: str, body: CatalogueEdit, sc: ScoringDep, who: Office, scope: CityRulesChange
) -> dict:
    data = body.model_dump()
    return await catalogues.edit_draft(sc, who, catalogue_id, data, data.pop("row_version"))


@router.post("/{catalogue_id}/publish", summary="Publish a draft as the year's newest version")
async def publish(catalogue_id: str, sc: ScoringDep, who: Office, scope: CityRulesChange) -> dict:
    return await catalogues.publish(sc, who, catalogue_id)
