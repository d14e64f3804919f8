"""The import use cases: start a job (the upload checked at once), run it, report on it.

A job reads the rows through ``importing.pipeline`` and writes through ``importing.writer``:
a chunk of rows at a time, all rows or none (see there).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Invalid, NotFound, TooLarge
from cadrekit.jobs import spawn
from cadrekit.scope import Scope
from cadrekit.uow import UnitOfWork
from services.roster import events
from services.roster.importing.pipeline import (
    ID_COLUMN,
    MAX_REPORTED_ERRORS,
    SLICE_ROWS,
    Checked,
    Chunk,
    ImportRefused,
    RowChecker,
    Upload,
    chunk_size,
    lookup,
    lookup_session,
    parse_upload,
    would_change,
)
from services.roster.importing.writer import Prepared, RowBuilder, Writer, apply_update, gc_paused
from services.roster.models import Cadre, ImportJob, Unit
from services.roster.service.context import Context
from services.roster.service.rules import DUPLICATE_ID, unit_change

log = logging.getLogger("roster.imports")


async def start_import(
    ctx: Context,
    principal: Principal,
    scope: Scope,
    *,
    filename: str,
    content: bytes,
    mode: str,
    dry_run: bool,
    create_units: bool,
) -> ImportJob:
    """Checks the upload (size, sheet, header) at once and starts the job that reads and
    writes its rows. ``scope``: the importer's; rows may name only its units and cadres."""
    limit = ctx.settings.import_max_bytes
    if len(content) > limit:
        raise TooLarge(f"spreadsheets are limited to {limit} bytes")
    try:
        # Parses the sheet (in native memory) and checks its header; the job reads the rows.
        upload = await asyncio.to_thread(parse_upload, filename, content, ctx.settings.import_max_rows)
    except ImportRefused as exc:
        raise Invalid(str(exc), errors=[{"field": "file", **e} for e in exc.errors]) from exc
    job = await create_job(
        ctx,
        principal,
        filename=filename,
        mode=mode,
        dry_run=dry_run,
        create_units=create_units,
        rows_total=upload.rows_total,
    )
    spawn(ctx.runtime, run_job(ctx, principal, scope, job.id, upload), name=f"import-{job.id}")
    return job


async def get_import(ctx: Context, job_id: str) -> ImportJob:
    """A job's progress and, once it ended, its report."""
    async with ctx.uow() as uow:
        job = await uow.session.get(ImportJob, job_id)
        if job is None:
            raise NotFound(f"import {job_id} does not exist")
        return job


async def create_job(
    ctx: Context, principal: Principal, *, filename: str, mode: str, dry_run: bool, create_units: bool, rows_total: int
) -> ImportJob:
    async with ctx.uow() as uow:
        job = ImportJob(
            filename=filename[:300],
            mode=mode,
            dry_run=dry_run,
            create_units=create_units,
            created_by=principal.sub,
            unit_scope=None if principal.unit_scope is None else list(principal.unit_scope),
            rows_total=rows_total,
        )
        uow.session.add(job)
        await uow.commit()
        return job


async def _progress(ctx: Context, job_id: str, **values: Any) -> None:
    async with ctx.runtime.engine.begin() as conn:
        await conn.execute(update(ImportJob).where(col(ImportJob.id) == job_id).values(**values))


async def run_job(ctx: Context, principal: Principal, scope: Scope, job_id: str, upload: Upload) -> None:
    """``scope``: the importer's; rows may name only its units and cadres."""
    try:
        await _run(ctx, principal, scope, job_id, upload)
    except Exception as exc:
        log.exception("import failed", extra={"job_id": job_id})
        await _progress(
            ctx,
            job_id,
            status="failed",
            finished_at=utcnow(),
            message=f"the import failed and nothing was written ({type(exc).__name__})",
        )


async def _run(ctx: Context, principal: Principal, scope: Scope, job_id: str, upload: Upload) -> None:
    async with ctx.uow() as uow:
        job = await uow.session.get(ImportJob, job_id)
        assert job is not None
        mode, dry_run, create_units = job.mode, job.dry_run, job.create_units
    await _progress(ctx, job_id, status="running")

    with gc_paused():
        async with ctx.uow() as uow, lookup_session(ctx, uow) as lookups:
            units = (await lookups.execute(select(Unit))).scalars().all()
            rows = RowChecker(ctx, upload, units, scope, create_units=create_units)
            job_run = JobRun(
                ctx, uow, lookups, principal, rows, job_id, mode=mode, dry_run=dry_run, rows_total=upload.rows_total
            )
            await job_run.stream()
            await job_run.finish(job_id)


class JobRun:
    """One import's walk over its chunks: ID numbers already on the roster, then writes."""

    def __init__(
        self,
        ctx: Context,
        uow: UnitOfWork,
        lookups: AsyncSession,
        principal: Principal,
        rows: RowChecker,
        job_id: str,
        *,
        mode: str,
        dry_run: bool,
        rows_total: int,
    ) -> None:
        self.ctx = ctx
        self.uow = uow
        self.lookups = lookups  # its own connection: free while the writes' one runs a COPY
        self.principal = principal
        self.rows = rows
        self.job_id = job_id
        self.rows_out = RowBuilder(ctx, principal, uow, job_id, self.unit_kind)
        self.mode = mode
        self.dry_run = dry_run
        self.rows_total = rows_total
        self.errors: list[tuple[int, str, str]] = []
        self.inserted = self.updated = self.unchanged = 0
        self.writer = Writer(uow)

    def unit_kind(self, unit_id: str | None) -> str | None:
        """The kind of a unit a row resolved to (created by this import or not)."""
        unit = self.rows.resolver.by_id.get(unit_id) if unit_id else None
        return unit.kind if unit else None

    @property
    def writing(self) -> bool:
        return not self.dry_run and not self.errors

    async def stream(self) -> None:
        copying: asyncio.Task[None] | None = None
        try:
            while (chunk := await self._next_chunk()) is not None:  # while the last chunk's COPY runs
                self.errors.extend(chunk.errors)
                existing = await self._existing(chunk.records)
                if self.dry_run:
                    self.inserted += len(chunk.records) - len(existing)
                    self.updated += len(existing)  # as the dry run always counted them
                if not self.writing:
                    continue
                if copying is not None:
                    await copying  # one statement at a time on the write connection
                    copying = None
                prepared = await self._write_others(chunk, existing)
                if prepared.cadres:
                    copying = asyncio.create_task(self.writer.copy(prepared))
        finally:
            if copying is not None:  # never leave a COPY running behind the transaction's end
                await asyncio.wait([copying])
                if not copying.cancelled() and copying.exception() is not None and sys.exc_info()[1] is not None:
                    log.warning("a COPY failed as well", exc_info=copying.exception())
        if copying is not None:
            await copying

    async def _next_chunk(self) -> Chunk | None:
        """The next chunk of rows, checked, and prepared while the import can succeed. Both
        a slice at a time, each slice followed by a turn of the event loop."""
        chunk = Chunk()
        read = 0
        size = chunk_size(self.rows.row_number - 1, self.rows_total)
        while read < size and (got := self.rows.check_next(SLICE_ROWS, chunk)):
            read += got
            await asyncio.sleep(0)
        if not read:
            return None
        if self.writing and not chunk.errors:
            prepared = Prepared()
            for i in range(0, len(chunk.records), SLICE_ROWS):
                prepared.extend(self.rows_out.prepare(chunk.records[i : i + SLICE_ROWS]))
                await asyncio.sleep(0)
            chunk.prepared = prepared
        return chunk

    async def _existing(self, records: list[Checked]) -> dict[int, Cadre | None]:
        """Positions in ``records`` of ID numbers already on the roster; in upsert mode with
        the cadre (loaded apart from the write transaction), in insert mode with None.

        Adds the errors: in insert mode every such row; in upsert mode a row that would
        change a cadre who has left.
        """
        if not records:
            return {}
        position = {index: i for i, (_, index, _) in enumerate(records)}
        found: dict[int, Cadre | None] = {}
        if self.mode == "insert":
            for index in await lookup(self.lookups, col(Cadre.id_number_index), list(position)):
                found[position[index]] = None
                self.errors.append(
                    (records[position[index]][0].row, ID_COLUMN, "already on the roster (use mode=upsert)")
                )
            return found
        for cadre in await lookup(self.lookups, Cadre, list(position)):
            i = position[cadre.id_number_index]
            found[i] = cadre
            checked = records[i]
            if not self.rows.scope.covers(cadre.unit_id):
                # A cadre outside the importer's units is not theirs to change: the row is
                # refused as registering that number through the API is (409).
                self.errors.append((checked[0].row, ID_COLUMN, DUPLICATE_ID))
                continue
            # As through the API: a cadre who left can no longer be changed.
            if cadre.status == "left" and checked[2] is not None and would_change(self.ctx, cadre, checked):
                self.errors.append(
                    (checked[0].row, ID_COLUMN, "this cadre has left the roster and can no longer be changed")
                )
        return found

    async def _write_others(self, chunk: Chunk, existing: dict[int, Cadre | None]) -> Prepared:
        """Units the chunk created and updates to cadres it names; the new cadres' rows
        (for COPY) are what it returns. Counts dry runs as they would have gone."""
        for unit in chunk.new_units:
            await self._add_unit(unit)
        if existing:
            await self._update(chunk.records, existing)
            await self.uow.flush_events()
        assert chunk.prepared is not None
        prepared = chunk.prepared.without(set(existing)) if existing else chunk.prepared
        self.inserted += len(prepared.cadres)
        return prepared

    async def _add_unit(self, unit: Unit) -> None:
        s = self.uow.session
        s.add(unit)
        self.uow.record(events.unit_created(unit))
        await s.flush()
        s.add(  # the same history a unit created through the API gets
            unit_change(
                self.principal,
                unit.id,
                "created",
                {
                    "name": unit.name,
                    "kind": unit.kind,
                    "parent_id": unit.parent_id,
                    "import_job": self.job_id,
                },
            )
        )
        await self.uow.flush_events()  # before the cadres that name the unit

    async def _update(self, records: list[Checked], existing: dict[int, Cadre | None]) -> None:
        ids = {cadre.id: i for i, cadre in existing.items() if cadre is not None}
        s = self.uow.session
        for cadre in (await s.execute(select(Cadre).where(col(Cadre.id).in_(list(ids))))).scalars():
            checked = records[ids[cadre.id]]
            if apply_update(self.ctx, self.uow, self.principal, cadre, checked, self.unit_kind(checked[2])):
                self.updated += 1
            else:
                self.unchanged += 1
        await s.flush()

    async def finish(self, job_id: str) -> None:
        values: dict[str, Any] = {"finished_at": utcnow(), "rows_done": self.rows.rows_done}
        if self.rows.last_with_content - 1 < self.rows_total:  # the sheet ended in empty text cells
            values["rows_total"] = self.rows.last_with_content - 1
        if self.errors:
            self.errors.sort(key=lambda e: (e[0], e[1]))
            # End the transaction first: on SQLite it holds the write lock that the progress
            # update (another connection) would wait for until it times out.
            await self.uow.rollback()
            await _progress(
                self.ctx,
                job_id,
                status="failed",
                errors=[
                    {"row": row, "column": column, "message": str(message)}  # plain text, not a parser's _Bad
                    for row, column, message in self.errors[:MAX_REPORTED_ERRORS]
                ],
                message=f"{len({e[0] for e in self.errors})} rows are invalid; nothing was written",
                **values,
            )
            return
        if self.dry_run:
            await self.uow.rollback()
            await _progress(
                self.ctx,
                job_id,
                status="succeeded",
                rows_inserted=self.inserted,
                rows_updated=self.updated,
                message="dry run: every row is valid; nothing was written",
                **values,
            )
            return
        await self.uow.session.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id)
            .values(
                status="succeeded",
                rows_inserted=self.inserted,
                rows_updated=self.updated,
                rows_unchanged=self.unchanged,
                message=f"{self.inserted} registered, {self.updated} updated, {self.unchanged} unchanged",
                **values,
            )
        )
        await self.uow.commit()
