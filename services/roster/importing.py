"""Bulk import as a job: parse, validate every row, then write all rows or none.

One bad row means nothing is written and the report names every bad row.

The job streams: the parsed sheet (held in calamine's native memory) becomes Python values
a chunk of rows at a time; each chunk is validated, checked against the file and the
roster, turned into table rows and written. On PostgreSQL the cadres, their history rows
and their outbox events go in by COPY, all in one transaction, and the server ingests
chunk k while Python prepares chunk k+1. So neither the raw sheet nor all prepared rows are
ever held in Python at once. All or nothing: chunks are written only while every row so
far has passed; after the first bad row the rest is still checked, for the report, and the
transaction is rolled back.

The Python work runs on the event loop in slices, not on a worker thread: a thread fought
the loop for the GIL, and each time the loop gave it up to send COPY data it waited up to
the 5 ms switch interval to get it back while the server ran dry. Between slices the COPY
in flight sends more data, and other requests are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import ARRAY, String, any_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.dates import today
from cadrekit.db import utcnow
from cadrekit.events import Event, dumps, envelope
from cadrekit.scope import Scope
from cadrekit.uow import UnitOfWork
from services.roster import events
from services.roster.domain import id_numbers, sheet
from services.roster.domain.sheet import CadreRecord
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, CadreChange, ImportJob, OrderedIds, Unit, kit
from services.roster.service import DUPLICATE_ID, TRACKED, Roster, _iso, unit_change
from services.roster.spreadsheets import SheetRows, UnreadableSheet, open_sheet

log = logging.getLogger("roster.imports")

CHUNK_ROWS = 10_000  # rows per COPY: each statement's start and end leave the server idle a moment
FIRST_CHUNK_ROWS = 2_500  # the server waits for the first chunk and Python for the last: keep them small
SLICE_ROWS = 250  # rows of Python work between turns of the event loop (a few milliseconds)
MAX_REPORTED_ERRORS = 5000
ID_COLUMN = sheet.HEADER_OF_FIELD["id_number"]
UNIT_COLUMN = sheet.HEADER_OF_FIELD["unit"]


class ImportRefused(ValueError):
    """The file itself is unusable (not a sheet, wrong headers): answered at upload time."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass
class Upload:
    """A file that passed the upload checks: its column map and its rows, still unread."""

    columns: dict[int, str]
    sheet: SheetRows
    rows_total: int


def parse_upload(filename: str, content: bytes, max_rows: int) -> Upload:
    try:
        rows = open_sheet(filename, content)
    except UnreadableSheet as exc:
        raise ImportRefused(str(exc), [{"row": None, "column": None, "message": str(exc)}]) from exc
    # Sheets often carry empty rows; a row is data when any cell has content.
    if sheet.is_blank(rows.header) and rows.count_exactly() == 0:
        raise ImportRefused("the sheet is empty", [{"row": 1, "column": None, "message": "no header row"}])
    try:
        columns = sheet.map_headers(rows.header)
    except sheet.HeaderError as exc:
        errs = [{"row": 1, "column": h, "message": "required column is missing"} for h in exc.missing]
        errs += [{"row": 1, "column": h, "message": "unknown column"} for h in exc.unknown]
        errs += [{"row": 1, "column": h, "message": "column appears more than once"} for h in exc.repeated]
        raise ImportRefused(f"the header row is not the department's template: {exc}", errs) from exc
    total = rows.count if rows.count <= max_rows else rows.count_exactly()
    if total > max_rows:
        raise ImportRefused(
            f"at most {max_rows} rows per import", [{"row": None, "column": None, "message": "too many rows"}]
        )
    return Upload(columns, rows, total)


async def create_job(
    r: Roster, principal: Principal, *, filename: str, mode: str, dry_run: bool, create_units: bool, rows_total: int
) -> ImportJob:
    async with r.uow() as uow:
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


async def _progress(r: Roster, job_id: str, **values: Any) -> None:
    async with r.runtime.engine.begin() as conn:
        await conn.execute(update(ImportJob).where(col(ImportJob.id) == job_id).values(**values))


async def run_job(r: Roster, principal: Principal, scope: Scope, job_id: str, upload: Upload) -> None:
    """``scope``: the importer's; rows may name only its units and cadres."""
    try:
        await _run(r, principal, scope, job_id, upload)
    except Exception as exc:
        log.exception("import failed", extra={"job_id": job_id})
        await _progress(
            r,
            job_id,
            status="failed",
            finished_at=utcnow(),
            message=f"the import failed and nothing was written ({type(exc).__name__})",
        )


async def _run(r: Roster, principal: Principal, scope: Scope, job_id: str, upload: Upload) -> None:
    async with r.uow() as uow:
        job = await uow.session.get(ImportJob, job_id)
        assert job is not None
        mode, dry_run, create_units = job.mode, job.dry_run, job.create_units
    await _progress(r, job_id, status="running")

    with _gc_paused():
        async with r.uow() as uow, _lookup_session(r, uow) as lookups:
            units = (await lookups.execute(select(Unit))).scalars().all()
            rows = RowChecker(r, principal, uow, job_id, upload, units, scope, create_units=create_units)
            job_run = _JobRun(
                r, uow, lookups, principal, rows, mode=mode, dry_run=dry_run, rows_total=upload.rows_total
            )
            await job_run.stream()
            await job_run.finish(job_id)


@contextlib.asynccontextmanager
async def _lookup_session(r: Roster, uow: UnitOfWork) -> AsyncIterator[AsyncSession]:
    """Where the job reads units and looks up ID numbers.

    On PostgreSQL a session of its own, so lookups run while the write connection is busy
    with a COPY; like the lookups before any write used to, it sees the committed roster.
    SQLite takes its write lock when any transaction begins (BEGIN IMMEDIATE), so there a
    second session would wait for the first: the job's own session reads too.
    """
    if r.runtime.engine.dialect.name != "postgresql":
        yield uow.session
        return
    async with r.runtime.sessions() as session:
        yield session


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an import runs.

    An import allocates millions of small objects (cells, records, row tuples) that live
    for a chunk and are freed by reference counting; the collector found nothing among
    them but its passes over them, full ones included, cost seconds. The pause covers the
    whole process (the collector is global), so it is counted: the last import to finish
    turns collection back on, and only if it was on before the first began.
    """
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


_gc_lock = threading.Lock()
_gc_pauses: list[Any] = [0, False]  # imports running, whether collection was on before them


# ---------------------------------------------------------------------------------------------
# Python side: sheet rows → checked records → COPY-ready rows
# A record that passed the row rules, with what the file-wide checks found: the blind index
# of its ID number and its unit (None when that could not be resolved: an error says why).
# A plain tuple: one per row, made and unpacked in the hot loops.
Checked = tuple[CadreRecord, str, str | None]


@dataclass
class Prepared:
    """Rows for ``cadres``, ``cadre_changes`` and ``outbox``, one each per new cadre, in
    CADRE_COLUMNS / CHANGE_COLUMNS / OUTBOX_COLUMNS order (JSON columns as JSON text)."""

    cadres: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[Any, ...]] = field(default_factory=list)

    def extend(self, more: Prepared) -> None:
        self.cadres += more.cadres
        self.changes += more.changes
        self.outbox += more.outbox

    def without(self, skip: set[int]) -> Prepared:
        keep = [i for i in range(len(self.cadres)) if i not in skip]
        return Prepared([self.cadres[i] for i in keep], [self.changes[i] for i in keep], [self.outbox[i] for i in keep])


@dataclass
class Chunk:
    records: list[Checked] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)
    new_units: list[Unit] = field(default_factory=list)
    prepared: Prepared | None = None  # for every record, in order; None once the import can no longer succeed


class RowChecker:
    """Walks the sheet: the row rules, duplicates in the file, and units (of the caller's
    scope only); ``rows_out`` makes the table rows of checked records."""

    def __init__(
        self,
        r: Roster,
        principal: Principal,
        uow: UnitOfWork,
        job_id: str,
        upload: Upload,
        units: Sequence[Unit],
        scope: Scope,
        *,
        create_units: bool,
    ) -> None:
        self.r = r
        self.scope = scope
        self.principal = principal
        self.rows: Iterator[list[Any]] = upload.sheet.rows()
        self.validator = sheet.RowValidator(upload.columns, today(), upload.sheet.first_column)
        self.resolver = UnitResolver(units, scope)
        self.create_units = create_units
        self.row_number = 1  # the header
        self.rows_done = 0  # rows with content
        self.last_with_content = 1
        self.seen: dict[str, int] = {}  # ID number → first row with it
        self.units_by_ref: dict[str, tuple[str | None, str | None]] = {}  # unit reference → (id, error)
        self.rows_out = _RowBuilder(r, principal, uow, job_id)

    def check_next(self, count: int, chunk: Chunk) -> int:
        """Reads up to ``count`` more rows into ``chunk``; how many there were."""
        batch = list(islice(self.rows, count))
        for row in batch:
            self.row_number += 1
            if sheet.is_blank(row):
                continue
            self.rows_done += 1
            self.last_with_content = self.row_number
            record, errors = self.validator.validate(self.row_number, row)
            if record is None:
                chunk.errors.extend((self.row_number, column, message) for column, message in errors)
            else:
                chunk.records.append(self._check(record, chunk))
        return len(batch)

    def _check(self, record: CadreRecord, chunk: Chunk) -> Checked:
        row = record.row
        first = self.seen.setdefault(record.id_number, row)
        if first != row:
            chunk.errors.append((row, ID_COLUMN, f"same ID number as row {first}"))
        unit_id, problem = self._unit(record, chunk.new_units)
        if problem:
            chunk.errors.append((row, UNIT_COLUMN, problem))
        return (record, self.r.sealer.index(record.id_number), unit_id)

    def _unit(self, record: CadreRecord, created: list[Unit]) -> tuple[str | None, str | None]:
        """The row's unit id, or why it has none. Without unit creation the unit tree does
        not change during an import, so each reference is resolved once."""
        if not self.create_units:
            got = self.units_by_ref.get(record.unit)
            if got is None:
                got = self.units_by_ref[record.unit] = self._resolve(record, created)
            return got
        return self._resolve(record, created)

    def _resolve(self, record: CadreRecord, created: list[Unit]) -> tuple[str | None, str | None]:
        try:
            unit = self.resolver.resolve(record.unit, create=self.create_units, kind=record.unit_kind, created=created)
        except LookupError as exc:
            return None, str(exc)
        return unit.id, None


CADRE_COLUMNS = (
    "id",
    "name",
    "gender",
    "birth_date",
    "id_number_sealed",
    "id_number_kid",
    "id_number_index",
    "id_number_masked",
    "unit_id",
    "post_title",
    "rank",
    "party_member",
    "education",
    "years_of_service",
    "grassroots_periods",
    "grassroots_years",
    "strengths",
    "post_wishes",
    "professional_field",
    "willingness",
    "leadership_status",
    "health",
    "retirement_date_override",
    "retirement_date",
    "status",
    "version",
)
# created_at, updated_at (and cadre_changes.at) are left to the database's default: the
# transaction's start time (see models.Cadre)
STAMPED_COLUMNS = {"cadres": ("created_at", "updated_at"), "cadre_changes": ("at",)}
JSON_COLUMNS = {"grassroots_periods", "strengths", "post_wishes", "willingness"}
CHANGE_COLUMNS = ("cadre_id", "actor", "acting_client", "kind", "changes", "reason")
OUTBOX_COLUMNS = ("event_id", "topic", "key", "type", "payload", "created_at", "published_at")


class _RowBuilder:
    """Table rows for new cadres, as ``Cadre`` plus ``cadre_registered`` would make them."""

    def __init__(self, r: Roster, principal: Principal, uow: UnitOfWork, job_id: str) -> None:
        self.r = r
        self.now = utcnow()
        self.actor, self.acting_client = principal.sub, principal.act
        self.job_id = job_id
        self.topic = uow.topic
        # Ids that grow keep the B-tree inserts at the right edge (see OrderedIds).
        self.ids = OrderedIds()
        # One envelope for the import's events: the kit's own shape, time and correlation
        # id, with each event's id, subject and data put in (the keys keep their places).
        self.envelope = envelope(uow.source, Event(events.CADRE_REGISTERED, "", "", {}))
        self.changes_of_unit: dict[str, str] = {}
        self.json_texts: dict[tuple[Any, ...], str] = {}
        self.retirements: dict[tuple[dt.date, str], dt.date] = {}

    def prepare(self, records: list[Checked]) -> Prepared:
        out = Prepared()
        add_cadre, add_change, add_event = out.cadres.append, out.changes.append, out.outbox.append
        count = len(records)
        cadre_ids, event_ids = self.ids.take(count), self.ids.take(count)
        blobs = self.r.sealer.seal_many(checked[0].id_number for checked in records)
        kid, now, topic, envelope_, json_of = self.r.sealer.active, self.now, self.topic, self.envelope, self._json
        for (rec, index, unit_id), cadre_id, event_id, blob in zip(records, cadre_ids, event_ids, blobs, strict=True):
            (
                _,
                name,
                gender,
                birth_date,
                id_number,
                _,
                _,
                post_title,
                rank,
                party_member,
                education,
                years_of_service,
                periods,
                grassroots_years,
                strengths,
                post_wishes,
                professional_field,
                willingness,
                leadership_status,
                health,
                retirement_override,
            ) = rec
            assert unit_id is not None
            retirement = retirement_override or self._retirement(birth_date, gender)
            periods_json = orjson.dumps(periods)
            add_cadre(
                (
                    cadre_id,
                    name,
                    gender,
                    birth_date,
                    blob,
                    kid,
                    index,
                    id_numbers.mask(id_number),
                    unit_id,
                    post_title,
                    rank,
                    party_member,
                    education,
                    years_of_service,
                    periods_json.decode(),
                    grassroots_years,
                    json_of(strengths),
                    json_of(post_wishes),
                    professional_field,
                    json_of(willingness),
                    leadership_status,
                    health,
                    retirement_override,
                    retirement,
                    "active",
                    1,
                )
            )
            add_change((cadre_id, self.actor, self.acting_client, "registered", self._changes(unit_id), None))
            data = events.cadre_data(
                cadre_id,
                1,
                (
                    name,
                    gender,
                    birth_date.isoformat(),
                    unit_id,
                    post_title,
                    rank,
                    party_member,
                    education,
                    years_of_service,
                    orjson.Fragment(periods_json),  # serialised once, for the column and the event
                    grassroots_years,
                    strengths,
                    post_wishes,
                    professional_field,
                    willingness,
                    leadership_status,
                    health,
                    retirement.isoformat(),
                    "active",
                ),
            )
            payload = dumps({**envelope_, "id": event_id, "subject": f"cadre/{cadre_id}", "data": data})
            add_event((event_id, topic, cadre_id, events.CADRE_REGISTERED, payload.decode(), now, None))
        return out

    def _json(self, value: tuple[str, ...] | dict[str, bool]) -> str:
        """JSON text of a list or willingness, which rows share: each serialised once."""
        key = value if type(value) is tuple else tuple(value.items())  # type: ignore[union-attr]
        got = self.json_texts.get(key)
        if got is None:
            got = self.json_texts[key] = orjson.dumps(value).decode()
        return got

    def _retirement(self, birth_date: dt.date, gender: str) -> dt.date:
        """The rule's retirement date; birth dates repeat, so each is worked out once."""
        got = self.retirements.get((birth_date, gender))
        if got is None:
            got = self.retirements[birth_date, gender] = self.r.retirement.retirement_date(birth_date, gender)
        return got

    def _changes(self, unit_id: str) -> str:
        """The history row's ``changes``, the same for every cadre of a unit."""
        got = self.changes_of_unit.get(unit_id)
        if got is None:
            got = self.changes_of_unit[unit_id] = orjson.dumps({"unit_id": unit_id, "import_job": self.job_id}).decode()
        return got


# ---------------------------------------------------------------------------------------------
# event-loop side: look up, write, report
class _JobRun:
    """One import's walk over its chunks: ID numbers already on the roster, then writes."""

    def __init__(
        self,
        r: Roster,
        uow: UnitOfWork,
        lookups: AsyncSession,
        principal: Principal,
        rows: RowChecker,
        *,
        mode: str,
        dry_run: bool,
        rows_total: int,
    ) -> None:
        self.r = r
        self.uow = uow
        self.lookups = lookups  # its own connection: free while the writes' one runs a COPY
        self.principal = principal
        self.rows = rows
        self.mode = mode
        self.dry_run = dry_run
        self.rows_total = rows_total
        self.errors: list[tuple[int, str, str]] = []
        self.inserted = self.updated = self.unchanged = 0
        self.writer = _Writer(uow)

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
        size = _chunk_size(self.rows.row_number - 1, self.rows_total)
        while read < size and (got := self.rows.check_next(SLICE_ROWS, chunk)):
            read += got
            await asyncio.sleep(0)
        if not read:
            return None
        if self.writing and not chunk.errors:
            prepared = Prepared()
            for i in range(0, len(chunk.records), SLICE_ROWS):
                prepared.extend(self.rows.rows_out.prepare(chunk.records[i : i + SLICE_ROWS]))
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
            for index in await _lookup(self.lookups, col(Cadre.id_number_index), list(position)):
                found[position[index]] = None
                self.errors.append(
                    (records[position[index]][0].row, ID_COLUMN, "already on the roster (use mode=upsert)")
                )
            return found
        for cadre in await _lookup(self.lookups, Cadre, list(position)):
            i = position[cadre.id_number_index]
            found[i] = cadre
            checked = records[i]
            if not self.rows.scope.covers(cadre.unit_id):
                # A cadre outside the importer's units is not theirs to change: the row is
                # refused as registering that number through the API is (409).
                self.errors.append((checked[0].row, ID_COLUMN, DUPLICATE_ID))
                continue
            # As through the API: a cadre who left can no longer be changed.
            if cadre.status == "left" and checked[2] is not None and _would_change(self.r, cadre, checked):
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
                    "import_job": self.rows.rows_out.job_id,
                },
            )
        )
        await self.uow.flush_events()  # before the cadres that name the unit

    async def _update(self, records: list[Checked], existing: dict[int, Cadre | None]) -> None:
        ids = {cadre.id: i for i, cadre in existing.items() if cadre is not None}
        s = self.uow.session
        for cadre in (await s.execute(select(Cadre).where(col(Cadre.id).in_(list(ids))))).scalars():
            checked = records[ids[cadre.id]]
            if _apply_update(self.r, self.uow, self.principal, cadre, checked):
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
                self.r,
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
                self.r,
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


def _chunk_size(done: int, total: int) -> int:
    """Rows for the next chunk: they grow from FIRST_CHUNK_ROWS to CHUNK_ROWS and shrink
    again towards the end, so the server starts early and the last COPY, which nothing
    overlaps, is short."""
    return max(FIRST_CHUNK_ROWS, min(CHUNK_ROWS, done, (total - done) // 2))


async def _lookup(s: AsyncSession, what: Any, indexes: list[str]) -> list[Any]:
    """Rows of ``cadres`` whose blind index is among ``indexes`` (``what``: entity or column).

    PostgreSQL takes the values as one array parameter: the statement is the same for every
    chunk, so it compiles once, where an expanding IN is compiled anew for each list.
    """
    if s.get_bind().dialect.name == "postgresql":
        values = bindparam("indexes", indexes, type_=ARRAY(String))
        stmt = select(what).where(col(Cadre.id_number_index) == any_(values))
    else:
        stmt = select(what).where(col(Cadre.id_number_index).in_(indexes))
    return list((await s.execute(stmt)).scalars())


class _Writer:
    """New cadres with their history rows and events: COPY on PostgreSQL, else executemany."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.now = utcnow()  # on SQLite, for the columns PostgreSQL stamps itself

    async def copy(self, rows: Prepared) -> None:
        conn = await self.uow.session.connection()
        if conn.dialect.name == "postgresql":
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table("cadres", columns=CADRE_COLUMNS, records=rows.cadres)
            await raw.copy_records_to_table("cadre_changes", columns=CHANGE_COLUMNS, records=rows.changes)
            await raw.copy_records_to_table("outbox", columns=OUTBOX_COLUMNS, records=rows.outbox)
            return
        stamps = {table: dict.fromkeys(columns, self.now) for table, columns in STAMPED_COLUMNS.items()}
        await conn.execute(
            Cadre.__table__.insert(),  # type: ignore[attr-defined]
            _dicts(CADRE_COLUMNS, rows.cadres, JSON_COLUMNS, stamps["cadres"]),
        )
        await conn.execute(
            CadreChange.__table__.insert(),  # type: ignore[attr-defined]
            _dicts(CHANGE_COLUMNS, rows.changes, {"changes"}, stamps["cadre_changes"]),
        )
        await conn.execute(kit.outbox.insert(), _dicts(OUTBOX_COLUMNS, rows.outbox, set(), {}))


def _dicts(
    columns: Sequence[str], rows: list[tuple[Any, ...]], json_columns: set[str], more: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows as the dicts SQLAlchemy binds, JSON text back to values for its JSON type."""
    out = []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        for name in json_columns:
            values[name] = orjson.loads(values[name])
        values.update(more)
        out.append(values)
    return out


# ---------------------------------------------------------------------------------------------
# units and updates
class UnitResolver:
    """Units by name (unique names) or by path ``区/镇/村``; creates missing ones when asked.

    A caller limited to some units (``scope``) imports into those only. It knows its units
    and the units above them, so a path from the top of the tree (as an export writes it)
    resolves; but a row resolves only to one of its own units, and units are created only
    under one. Every other unit answers as a unit that does not exist: a sheet cannot tell
    the rest of the tree from nothing.
    """

    def __init__(self, units: Sequence[Unit], scope: Scope) -> None:
        self.own: set[str] | None = None
        if not scope.whole_tree:
            self.own = {u.id for u in scope.keep(units, lambda u: u.id)}
            known = {above for u in units if u.id in self.own for above in path_ids(u.path)}
            units = [u for u in units if u.id in known]
        self.by_id = {u.id: u for u in units}
        self.by_name: dict[str, list[Unit]] = {}
        for u in units:
            self.by_name.setdefault(u.name, []).append(u)

    def _own(self, unit: Unit) -> bool:
        return self.own is None or unit.id in self.own

    def _named(self, name: str, *, last: bool) -> list[Unit]:
        """Units of that name; for the last part of a reference, the caller's own only."""
        return [u for u in self.by_name.get(name, []) if not last or self._own(u)]

    def _children(self, parent: Unit | None, name: str, *, last: bool) -> list[Unit]:
        return [u for u in self._named(name, last=last) if u.parent_id == (parent.id if parent else None)]

    def resolve(self, ref: str, *, create: bool, kind: str | None, created: list[Unit]) -> Unit:
        parts = [p.strip() for p in ref.replace("／", "/").split("/") if p.strip()]
        if len(parts) == 1:
            matches = self._named(parts[0], last=True)
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise LookupError(f"unit name '{parts[0]}' is ambiguous; write its path, e.g. 上级/{parts[0]}")
        # a path: the first part may be any unit with that name (an unambiguous anchor)
        anchors = self._named(parts[0], last=len(parts) == 1)
        if len(anchors) > 1:
            raise LookupError(f"unit name '{parts[0]}' is ambiguous")
        node: Unit | None = anchors[0] if anchors else None
        start = 1
        if node is None:
            if not create:
                raise LookupError(f"unit '{parts[0]}' does not exist (set create_units=true to create it)")
            node = self._new(None, parts[0], kind if len(parts) == 1 else None, created)
        for i, name in enumerate(parts[start:], start):
            kids = self._children(node, name, last=i == len(parts) - 1)
            if len(kids) == 1:
                node = kids[0]
                continue
            if not create:
                raise LookupError(
                    f"unit '{name}' under '{node.name}' does not exist (set create_units=true to create it)"
                )
            node = self._new(node, name, kind if name == parts[-1] else None, created)
        assert node is not None
        return node

    def _new(self, parent: Unit | None, name: str, kind: str | None, created: list[Unit]) -> Unit:
        if self.own is not None and (parent is None or parent.id not in self.own):
            raise LookupError(f"unit '{name}' does not exist (you may create units only under your own)")
        if kind is None:
            raise LookupError(f"unit '{name}' does not exist; give 单位类型 to create it")
        unit = Unit(name=name, kind=kind, parent_id=parent.id if parent else None, path="")
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        if self.own is not None:
            self.own.add(unit.id)
        created.append(unit)
        self.by_id[unit.id] = unit
        self.by_name.setdefault(name, []).append(unit)
        return unit


def _record_fields(r: Roster, checked: Checked) -> dict[str, Any]:
    """What a checked row says about a cadre, as the ``Cadre`` attributes hold it."""
    rec, _, unit_id = checked
    return {
        "name": rec.name,
        "gender": rec.gender,
        "birth_date": rec.birth_date,
        "unit_id": unit_id,
        "post_title": rec.post_title,
        "rank": rec.rank,
        "party_member": rec.party_member,
        "education": rec.education,
        "years_of_service": rec.years_of_service,
        "grassroots_periods": [dict(p) for p in rec.grassroots_periods],
        "grassroots_years": rec.grassroots_years,
        "strengths": list(rec.strengths),
        "post_wishes": list(rec.post_wishes),
        "professional_field": rec.professional_field,
        "willingness": dict(rec.willingness),  # the record's is shared with other rows
        "leadership_status": rec.leadership_status,
        "health": rec.health,
        "retirement_date_override": rec.retirement_date,
        "retirement_date": rec.retirement_date or r.retirement.retirement_date(rec.birth_date, rec.gender),
    }


def _would_change(r: Roster, cadre: Cadre, checked: Checked) -> bool:
    """Whether ``_apply_update`` would change the cadre (without changing it)."""
    fields = _record_fields(r, checked)
    return cadre.unit_id != fields["unit_id"] or any(
        getattr(cadre, key) != fields[key] for key in (*TRACKED, "retirement_date_override")
    )


def _apply_update(r: Roster, uow: UnitOfWork, principal: Principal, cadre: Cadre, checked: Checked) -> bool:
    fields = _record_fields(r, checked)
    history: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    for key in (*TRACKED, "retirement_date_override"):
        if getattr(cadre, key) != fields[key]:
            history[key] = [_iso(getattr(cadre, key)), _iso(fields[key])]
            changed[key] = fields[key]
            setattr(cadre, key, fields[key])
    moved_from = None
    if cadre.unit_id != fields["unit_id"]:
        history["unit_id"] = [cadre.unit_id, fields["unit_id"]]
        moved_from = cadre.unit_id
        cadre.unit_id = fields["unit_id"]
    for key in ("retirement_date", "grassroots_years"):
        if getattr(cadre, key) != fields[key]:
            changed[key] = fields[key]
            setattr(cadre, key, fields[key])
    if not history:
        return False
    cadre.version += 1
    cadre.updated_at = utcnow()
    uow.session.add(
        CadreChange(
            cadre_id=cadre.id,
            actor=principal.sub,
            acting_client=principal.act,
            kind="imported",
            changes=history,
            reason="spreadsheet import (upsert)",
        )
    )
    if moved_from is not None:
        uow.record(events.cadre_moved(cadre, moved_from, today(), "spreadsheet import"))
    if changed:
        uow.record(events.cadre_updated(cadre, changed))
    return True
