"""Bulk import, the pipeline: parse the upload, validate every row, plan what to write.

One bad row means nothing is written and the report names every bad row. The upload is
parsed (into calamine's native memory) and its header checked at upload time; the job
then walks the rows a slice at a time (``RowChecker``): the row rules (domain/sheet.py),
duplicates in the file, units (``UnitResolver``), and, against the roster, the ID numbers
already on it. ``importing.writer`` turns the checked records into table rows and writes
them; ``service.imports`` runs the job.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, String, any_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.dates import today
from cadrekit.scope import Scope
from cadrekit.uow import UnitOfWork
from services.roster.domain import cells, columns, sheet
from services.roster.domain.registration import Registration
from services.roster.domain.sheet import CadreRecord
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, Unit
from services.roster.service.context import Context
from services.roster.service.rules import TRACKED, RetirementFacts
from services.roster.spreadsheets import SheetRows, UnreadableSheet, open_sheet

if TYPE_CHECKING:
    from services.roster.importing.writer import Prepared

CHUNK_ROWS = 10_000  # rows per COPY: each statement's start and end leave the server idle a moment
FIRST_CHUNK_ROWS = 2_500  # the server waits for the first chunk and Python for the last: keep them small
SLICE_ROWS = 250  # rows of Python work between turns of the event loop (a few milliseconds)
MAX_REPORTED_ERRORS = 5000
ID_COLUMN = columns.HEADER_OF_FIELD["id_number"]
UNIT_COLUMN = columns.HEADER_OF_FIELD["unit"]


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
    if cells.is_blank(rows.header) and rows.count_exactly() == 0:
        raise ImportRefused("the sheet is empty", [{"row": 1, "column": None, "message": "no header row"}])
    try:
        column_map = columns.map_headers(rows.header)
    except columns.HeaderError as exc:
        errs = [{"row": 1, "column": h, "message": "required column is missing"} for h in exc.missing]
        errs += [{"row": 1, "column": h, "message": "unknown column"} for h in exc.unknown]
        errs += [{"row": 1, "column": h, "message": "column appears more than once"} for h in exc.repeated]
        raise ImportRefused(f"the header row is not the department's template: {exc}", errs) from exc
    total = rows.count if rows.count <= max_rows else rows.count_exactly()
    if total > max_rows:
        raise ImportRefused(
            f"at most {max_rows} rows per import", [{"row": None, "column": None, "message": "too many rows"}]
        )
    return Upload(column_map, rows, total)


# A record that passed the row rules, with what the file-wide checks found: the blind index
# of its ID number and its unit (None when that could not be resolved: an error says why).
# A plain tuple: one per row, made and unpacked in the hot loops.
Checked = tuple[CadreRecord, str, str | None]


@dataclass
class Chunk:
    records: list[Checked] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)
    new_units: list[Unit] = field(default_factory=list)
    prepared: Prepared | None = None  # for every record, in order; None once the import can no longer succeed


class RowChecker:
    """Walks the sheet: the row rules, duplicates in the file, and units (of the caller's
    scope only)."""

    def __init__(
        self, ctx: Context, upload: Upload, units: Sequence[Unit], scope: Scope, *, create_units: bool
    ) -> None:
        self.ctx = ctx
        self.scope = scope
        self.rows: Iterator[list[Any]] = upload.sheet.rows()
        self.validator = sheet.RowValidator(upload.columns, today(), upload.sheet.first_column)
        self.resolver = UnitResolver(units, scope)
        self.create_units = create_units
        self.row_number = 1  # the header
        self.rows_done = 0  # rows with content
        self.last_with_content = 1
        self.seen: dict[str, int] = {}  # ID number → first row with it
        self.units_by_ref: dict[str, tuple[str | None, str | None]] = {}  # unit reference → (id, error)

    def check_next(self, count: int, chunk: Chunk) -> int:
        """Reads up to ``count`` more rows into ``chunk``; how many there were."""
        batch = list(islice(self.rows, count))
        for row in batch:
            self.row_number += 1
            if cells.is_blank(row):
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
        return (record, self.ctx.sealer.index(record.id_number), unit_id)

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


def chunk_size(done: int, total: int) -> int:
    """Rows for the next chunk: they grow from FIRST_CHUNK_ROWS to CHUNK_ROWS and shrink
    again towards the end, so the server starts early and the last COPY, which nothing
    overlaps, is short."""
    return max(FIRST_CHUNK_ROWS, min(CHUNK_ROWS, done, (total - done) // 2))


async def lookup(s: AsyncSession, what: Any, indexes: list[str]) -> list[Any]:
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


@contextlib.asynccontextmanager
async def lookup_session(ctx: Context, uow: UnitOfWork) -> AsyncIterator[AsyncSession]:
    """Where the job reads units and looks up ID numbers.

    On PostgreSQL a session of its own, so lookups run while the write connection is busy
    with a COPY; like the lookups before any write used to, it sees the committed roster.
    SQLite takes its write lock when any transaction begins (BEGIN IMMEDIATE), so there a
    second session would wait for the first: the job's own session reads too.
    """
    if ctx.runtime.engine.dialect.name != "postgresql":
        yield uow.session
        return
    async with ctx.runtime.sessions() as session:
        yield session


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


def registration_of(checked: Checked, retirement: dict[str, Any]) -> Registration:
    """What a checked row registers (or, in an upsert, says the cadre now is); ``retirement``
    holds its retirement fields (``RetirementFacts.registered``: the override or the rule's
    date, with the rule)."""
    rec, _, unit_id = checked
    assert unit_id is not None  # a row whose unit did not resolve never gets this far
    return Registration(
        name=rec.name,
        gender=rec.gender,
        birth_date=rec.birth_date,
        unit_id=unit_id,
        post_title=rec.post_title,
        rank=rec.rank,
        party_member=rec.party_member,
        education=rec.education,
        years_of_service=rec.years_of_service,
        grassroots_periods=rec.grassroots_periods,
        grassroots_years=rec.grassroots_years,
        strengths=rec.strengths,
        post_wishes=rec.post_wishes,
        professional_field=rec.professional_field,
        willingness=rec.willingness,  # shared with other rows: whoever stores it copies it
        leadership_status=rec.leadership_status,
        health=rec.health,
        **retirement,
    )


def retirement_fields(ctx: Context, checked: Checked) -> dict[str, Any]:
    """A row's retirement fields: a sheet has no category or decision columns (they are
    recorded through the API), so the override or the law for gender and rank."""
    rec = checked[0]
    facts = RetirementFacts(rec.birth_date, rec.gender, rec.rank, retirement_date_override=rec.retirement_date)
    return facts.registered(ctx)


def as_stored(ctx: Context, checked: Checked) -> Registration:
    """What the row says, in the cadre's own copies of the values that rows share (lists,
    willingness): for comparing with a cadre and setting its attributes."""
    new = registration_of(checked, retirement_fields(ctx, checked))
    return new._replace(
        grassroots_periods=[dict(p) for p in new.grassroots_periods],
        strengths=list(new.strengths),
        post_wishes=list(new.post_wishes),
        willingness=dict(new.willingness),
    )


def would_change(ctx: Context, cadre: Cadre, checked: Checked) -> bool:
    """Whether ``writer.apply_update`` would change the cadre (without changing it)."""
    new = as_stored(ctx, checked)
    return cadre.unit_id != new.unit_id or any(
        getattr(cadre, key) != getattr(new, key) for key in (*TRACKED, "retirement_date_override")
    )
