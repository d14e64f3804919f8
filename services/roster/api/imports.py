from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from cadrekit.auth import authenticate
from services.roster.api.deps import ContextDep, ImportInPath, ImportInScope, Office, Template
from services.roster.models import ImportJob
from services.roster.schemas import ImportJobPublic
from services.roster.service import imports
from services.roster.spreadsheets import template

router = APIRouter(prefix="/api/v1/roster/imports", tags=["imports"], dependencies=[Depends(authenticate)])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="The department's import template (Chinese headers)",
)
async def get_template(principal: Office, _scope: Template) -> Response:
    return Response(
        template(), media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="template.xlsx"'}
    )


@router.post(
    "",
    status_code=202,
    response_model=ImportJobPublic,
    summary="Upload an XLSX or CSV; runs as a job (all rows or none)",
)
async def start_import(
    ctx: ContextDep,
    principal: Office,
    scope: ImportInScope,
    response: Response,
    file: Annotated[UploadFile, File(description="XLSX or CSV with the template's headers")],
    mode: Annotated[Literal["insert", "upsert"], Form()] = "insert",
    dry_run: Annotated[bool, Form()] = False,
    create_units: Annotated[bool, Form()] = False,
) -> ImportJob:
    job = await imports.start_import(
        ctx,
        principal,
        scope,
        filename=file.filename or "upload",
        content=await file.read(),
        mode=mode,
        dry_run=dry_run,
        create_units=create_units,
    )
    response.headers["Location"] = f"/api/v1/roster/imports/{job.id}"
    return job


@router.get("/{job_id}", response_model=ImportJobPublic, summary="Import progress and report")
async def get_import(job_id: str, ctx: ContextDep, principal: Office, _scope: ImportInPath) -> ImportJob:
    return await imports.get_import(ctx, job_id)
