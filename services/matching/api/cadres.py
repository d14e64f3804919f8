from __future__ import annotations

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from services.matching import service
from services.matching.api.deps import CadreInPath, MatchingDep, Reader
from services.matching.schemas import CadrePlacements

router = APIRouter(prefix="/api/v1/matching/cadres", tags=["cadres"], dependencies=[Depends(authenticate)])


@router.get("/{cadre_id}/placements", response_model=CadrePlacements, summary="A cadre's confirmed placements")
async def cadre_placements(cadre_id: str, m: MatchingDep, who: Reader, _scope: CadreInPath) -> dict:
    return await service.cadre_placements(m, cadre_id)
