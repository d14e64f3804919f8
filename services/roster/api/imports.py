from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from cadrekit.auth import authenticate
from cadrekit.jobs import spawn
from cadrekit.problems import InvalidInput, NotFound, PayloadTooLarge
from services.roster import importing
from services.roster.api.deps import ImportInPath, ImportInScope, Office, RosterDep, Template
from services.roster.models import ImportJob
from services.roster.schemas import ImportJobPublic
from services.roster.spreadsheets import template

router = APIRouter(prefix="/api/v1/roster/imports", tags=["imports"], dependencies=[Depends(authenticate)])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="The department's import template (Chinese headers)",
)
async def get_template(who: Office, _scope: Template) -> Response:
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
    r: RosterDep,
    who: Office,
    scope: ImportInScope,
    response: Response,
    file: Annotated[UploadFile, File(description="XLSX or CSV with the template's headers")],
    mode: Annotated[Literal["insert", "upsert"], Form()] = "insert",
    dry_run: Annotated[bool, Form()] = False,
    create_units: Annotated[bool, Form()] = False,
) -> dict:
    content = await file.read()
    limit = r.runtime.settings.import_max_bytes  # type: ignore[attr-defined]
    if len(content) > limit:
        raise PayloadTooLarge(f"spreadsheets are limited to {limit} bytes")
    filename = file.filename or "upload"
    try:
        # Parses the sheet (in native memory) and checks its header; the job reads the rows.
        upload = await asyncio.to_thread(
            importing.parse_upload,
            filename,
            content,
            r.runtime.settings.import_max_rows,  # type: ignore[attr-defined]
        )
    except importing.ImportRefused as exc:
        raise InvalidInput(str(exc), errors=[{"field": "file", **e} for e in exc.errors]) from exc
    job = await importing.create_job(
        r, who, filename=filename, mode=mode, dry_run=dry_run, create_units=create_units, rows_total=upload.rows_total
    )
    spawn(r.runtime, importing.run_job(r, who, scope, job.id, upload), name=f"import-{job.id}")
    response.headers["Location"] = f"/api/v1/roster/imports/{job.id}"
    return job.model_dump()


@router.get("/{job_id}", response_model=ImportJobPublic, summary="Import progress and report")
async def get_import(job_id: str, r: RosterDep, who: Office, _scope: ImportInPath) -> dict:
    async with r.uow() as uow:
        job = await uow.session.get(ImportJob, job_id)
        if job is None:
            raise NotFound(f"import {job_id} does not exist")
        return job.model_dump()
