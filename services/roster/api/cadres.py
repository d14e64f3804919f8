from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from cadrekit.auth import authenticate
from cadrekit.etags import etag, parse_if_match
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.problems import Forbidden, InvalidInput
from services.roster import service
from services.roster.api.deps import (
    CadreInPath,
    CadresInScope,
    PersonalDataReader,
    Reader,
    RosterDep,
    UnitInBody,
    UnitInQuery,
    Writer,
)
from services.roster.exporting import export_cadres
from services.roster.schemas import (
    CadreChangePublic,
    CadreCreate,
    CadreExit,
    CadreMove,
    CadrePage,
    CadrePublic,
    CadreUpdate,
    Gender,
    IdNumberReveal,
    LeadershipStatus,
)

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
) -> service.CadreFilter:
    return service.CadreFilter(
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


Filters = Annotated[service.CadreFilter, Depends(filters)]


@router.post("", status_code=201, response_model=CadrePublic, summary="Register a cadre")
async def register(body: CadreCreate, r: RosterDep, who: Writer, _unit: UnitInBody, response: Response) -> dict:
    out = await service.register_cadre(r, who, body.model_dump())
    response.headers["ETag"] = etag(out["version"])
    response.headers["Location"] = f"/api/v1/roster/cadres/{out['id']}"
    return out


@router.get("", response_model=CadrePage, summary="List cadres (filters; unit_id means its subtree)")
async def list_cadres(
    r: RosterDep,
    who: Reader,
    scope: CadresInScope,
    _unit: UnitInQuery,
    f: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict:
    return await service.list_cadres(r, f, scope, limit=limit, cursor=cursor)


@router.get(
    "/export",
    summary="Export as XLSX in the import layout",
    responses={200: {"content": {XLSX: {}}}},
    response_class=Response,
)
async def export(
    r: RosterDep,
    who: Reader,
    scope: CadresInScope,
    _unit: UnitInQuery,
    f: Filters,
    reveal_id_numbers: bool = False,
    reason: Annotated[str | None, Query(min_length=2, max_length=500)] = None,
) -> Response:
    if reveal_id_numbers:
        if who.role.value not in ("admin", "officer"):
            raise Forbidden("your role may not read full ID numbers")
        if not reason:
            raise InvalidInput(
                "a reason is required to export full ID numbers",
                errors=[{"field": "reason", "message": "required with reveal_id_numbers"}],
            )
    content = await export_cadres(r, who, f, scope, reveal_reason=reason if reveal_id_numbers else None)
    return Response(content, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="cadres.xlsx"'})


@router.get("/{cadre_id}", response_model=CadrePublic)
async def get_cadre(
    cadre_id: str,
    r: RosterDep,
    who: Reader,
    _scope: CadreInPath,
    response: Response,
    year: Annotated[int | None, Query(ge=1950, le=2200, description="add availability for this year")] = None,
) -> dict:
    out = await service.get_cadre(r, cadre_id, year)
    response.headers["ETag"] = etag(out["version"])
    return out


@router.patch("/{cadre_id}", response_model=CadrePublic, summary="Change a cadre (needs If-Match)")
async def update_cadre(
    cadre_id: str,
    body: CadreUpdate,
    r: RosterDep,
    who: Writer,
    _scope: CadreInPath,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict:
    version = parse_if_match(if_match, what="a cadre")
    assert version is not None
    out = await service.update_cadre(r, who, cadre_id, version, body.model_dump(exclude_unset=True))
    response.headers["ETag"] = etag(out["version"])
    return out


@router.post("/{cadre_id}/move", response_model=CadrePublic, summary="Move a cadre to another unit or post")
async def move(
    cadre_id: str,
    body: CadreMove,
    r: RosterDep,
    who: Writer,
    _cadre: CadreInPath,
    _unit: UnitInBody,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> dict:
    out = await service.move_cadre(
        r, who, cadre_id, parse_if_match(if_match, what="a cadre", required=False), body.model_dump()
    )
    response.headers["ETag"] = etag(out["version"])
    return out


@router.post("/{cadre_id}/exit", response_model=CadrePublic, summary="Record that a cadre left the roster")
async def exit_roster(cadre_id: str, body: CadreExit, r: RosterDep, who: Writer, _scope: CadreInPath) -> dict:
    return await service.exit_cadre(r, who, cadre_id, body.model_dump())


@router.get("/{cadre_id}/history", response_model=list[CadreChangePublic])
async def history(cadre_id: str, r: RosterDep, who: Reader, _scope: CadreInPath) -> list:
    return await service.cadre_history(r, cadre_id)


@router.get(
    "/{cadre_id}/id-number",
    response_model=IdNumberReveal,
    summary="The full ID number and birth date (audited; cadre office only)",
)
async def reveal(cadre_id: str, reason: Reason, r: RosterDep, who: PersonalDataReader, _scope: CadreInPath) -> dict:
    return await service.reveal_id_number(r, who, cadre_id, reason)
