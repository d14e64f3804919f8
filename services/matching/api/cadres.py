from __future__ import annotations

from fastapi import APIRouter, Depends

from cadrekit.auth import authenticate
from services.matching.api.deps import CadreInPath, ContextDep, Reader
from services.matching.schemas.cadres import CadrePlacements
from services.matching.service import cadres

router = APIRouter(prefix="/api/v1/matching/cadres", tags=["cadres"], dependencies=[Depends(authenticate)])


@router.get("/{cadre_id}/placements", response_model=CadrePlacements, summary="A cadre's confirmed placements")
async def cadre_placements(cadre_id: str, ctx: ContextDep, principal: Reader, _scope: CadreInPath) -> CadrePlacements:
    return await cadres.cadre_placements(ctx, cadre_id)
