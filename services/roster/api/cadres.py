from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from cadrekit.auth import authenticate
from cadrekit.etags import etag, parse_if_match
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from contracts.roster import Gender, LeadershipStatus
from services.roster.api.deps import (
    CadreInPath,
    CadresInScope,
    ContextDep,
    PersonalDataReader,
    Reader,
    UnitInBody,
    UnitInQuery,
    Writer,
)
from services.roster.models import CadreChange
from services.roster.schemas import (
    CadreChangePublic,
    CadreCreate,
    CadreExit,
    CadreMove,
    CadrePage,
    CadrePublic,
    CadreUpdate,
    IdNumberReveal,
)
from services.roster.service import cadres
from services.roster.service.queries import CadreFilter

router = APIRouter(prefix="/api/v1/roster/cadres", tags=["cadres"], dependencies=[Depends(authenticate)])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reason = Annotated[str, Query(min_length=2, max_length=500, description="why the full value is needed (audited)")]


def filters(
    unit_id: Annotated[str | None, Query(max_length=36, description="a unit id: its whole subtree")] = None,
    name: Annotated[str | None, Query(max_length=50)] = None,
    gender: Gender | None = None,
    leadership_status: LeadershipStatus | None = None,
    rank: Annotated[str | None, Query(max_length=50)] = None,
    party_member: bool | None = None,
    professional_field: Annotated[str | None, Query(max_length=200)] = None,
    strength: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[str, Query(pattern="^(active|left|all)$")] = "active",
    available_in: Annotated[
        int | None,
        Query(
            ge=1950, le=2200, description="only cadres available that year; the excluded ones are listed with reasons"
        ),
    ] = None,
) -> CadreFilter:
    return CadreFilter(
        unit_id=unit_id,
        name=name,
        gender=gender,
        leadership_status=leadership_status,
        rank=rank,
        party_member=party_member,
        professional_field=professional_field,
        strength=strength,
        status=status,
        available_in=available_in,
    )


Filters = Annotated[CadreFilter, Depends(filters)]


@router.post("", status_code=201, response_model=CadrePublic, summary="Register a cadre")
async def register(
    body: CadreCreate, ctx: ContextDep, principal: Writer, _unit: UnitInBody, response: Response
) -> CadrePublic:
    out = await cadres.register_cadre(ctx, principal, body)
    response.headers["ETag"] = etag(out.version)
    response.headers["Location"] = f"/api/v1/roster/cadres/{out.id}"
    return out


@router.get("", response_model=CadrePage, summary="List cadres (filters; unit_id means its subtree)")
async def list_cadres(
    ctx: ContextDep,
    principal: Reader,
    scope: CadresInScope,
    _unit: UnitInQuery,
    f: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CadrePage:
    return await cadres.list_cadres(ctx, f, scope, limit=limit, cursor=cursor)


@router.get(
    "/export",
    summary="Export as XLSX in the import layout",
    responses={200: {"content": {XLSX: {}}}},
    response_class=Response,
)
async def export(
    ctx: ContextDep,
    principal: Reader,
    scope: CadresInScope,
    _unit: UnitInQuery,
    f: Filters,
    reveal_id_numbers: bool = False,
    reason: Annotated[str | None, Query(min_length=2, max_length=500)] = None,
) -> Response:
    content = await cadres.export_cadres(ctx, principal, f, scope, reveal_id_numbers=reveal_id_numbers, reason=reason)
    return Response(content, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="cadres.xlsx"'})


@router.get("/{cadre_id}", response_model=CadrePublic)
async def get_cadre(
    cadre_id: str,
    ctx: ContextDep,
    principal: Reader,
    _scope: CadreInPath,
    response: Response,
    year: Annotated[int | None, Query(ge=1950, le=2200, description="add availability for this year")] = None,
) -> CadrePublic:
    out = await cadres.get_cadre(ctx, cadre_id, year)
    response.headers["ETag"] = etag(out.version)
    return out


@router.patch("/{cadre_id}", response_model=CadrePublic, summary="Change a cadre (needs If-Match)")
async def update_cadre(
    cadre_id: str,
    body: CadreUpdate,
    ctx: ContextDep,
    principal: Writer,
    _scope: CadreInPath,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CadrePublic:
    version = parse_if_match(if_match, what="a cadre")
    assert version is not None
    out = await cadres.update_cadre(ctx, principal, cadre_id, version, body)
    response.headers["ETag"] = etag(out.version)
    return out


@router.post("/{cadre_id}/move", response_model=CadrePublic, summary="Move a cadre to another unit or post")
async def move(
    cadre_id: str,
    body: CadreMove,
    ctx: ContextDep,
    principal: Writer,
    _cadre: CadreInPath,
    _unit: UnitInBody,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CadrePublic:
    version = parse_if_match(if_match, what="a cadre", required=False)
    out = await cadres.move_cadre(ctx, principal, cadre_id, version, body)
    response.headers["ETag"] = etag(out.version)
    return out


@router.post("/{cadre_id}/exit", response_model=CadrePublic, summary="Record that a cadre left the roster")
async def exit_roster(
    cadre_id: str, body: CadreExit, ctx: ContextDep, principal: Writer, _scope: CadreInPath
) -> CadrePublic:
    return await cadres.exit_cadre(ctx, principal, cadre_id, body)


@router.get("/{cadre_id}/history", response_model=list[CadreChangePublic])
async def history(cadre_id: str, ctx: ContextDep, principal: Reader, _scope: CadreInPath) -> Sequence[CadreChange]:
    return await cadres.cadre_history(ctx, cadre_id)


@router.get(
    "/{cadre_id}/id-number",
    response_model=IdNumberReveal,
    summary="The full ID number and birth date (audited; cadre office only)",
)
async def reveal(
    cadre_id: str, reason: Reason, ctx: ContextDep, principal: PersonalDataReader, _scope: CadreInPath
) -> IdNumberReveal:
    return await cadres.reveal_id_number(ctx, principal, cadre_id, reason)
