"""Bulk import as a job: parse, validate every row, then write all rows or none.

One bad row means nothing is written and the report names every bad row. On PostgreSQL
the rows, their history and their outbox events go in by COPY inside one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.events import dumps, envelope
from services.roster import events
from services.roster.domain import sheet
from services.roster.domain.people import Period, grassroots_years
from services.roster.models import Cadre, CadreChange, ImportJob, Unit, UnitChange, kit, new_id
from services.roster.service import TRACKED, Roster, _iso, today
from services.roster.spreadsheets import UnreadableSheet, read_rows

log = logging.getLogger("roster.imports")

PROGRESS_EVERY = 5000
MAX_REPORTED_ERRORS = 5000


class ImportRefused(ValueError):
    """The file itself is unusable (not a sheet, wrong headers): answered at upload time."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


def parse_upload(filename: str, content: bytes, max_rows: int) -> tuple[dict[int, str], list[list[Any]]]:
    try:
        rows = read_rows(filename, content)
    except UnreadableSheet as exc:
        raise ImportRefused(str(exc), [{"row": None, "column": None, "message": str(exc)}]) from exc
    # Sheets often carry trailing empty rows; a row is data when any cell has content.
    while rows and all(c in (None, "") for c in rows[-1]):
        rows.pop()
    if not rows:
        raise ImportRefused("the sheet is empty", [{"row": 1, "column": None, "message": "no header row"}])
    try:
        columns = sheet.map_headers(rows[0])
    except sheet.HeaderError as exc:
        errs = [{"row": 1, "column": h, "message": "required column is missing"} for h in exc.missing]
        errs += [{"row": 1, "column": h, "message": "unknown column"} for h in exc.unknown]
        raise ImportRefused(f"the header row is not the department's template: {exc}", errs) from exc
    data = rows[1:]
    if len(data) > max_rows:
        raise ImportRefused(
            f"at most {max_rows} rows per import", [{"row": None, "column": None, "message": "too many rows"}]
        )
    return columns, data


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
            rows_total=rows_total,
        )
        uow.session.add(job)
        await uow.commit()
        return job


async def _progress(r: Roster, job_id: str, **values: Any) -> None:
    async with r.runtime.engine.begin() as conn:
        await conn.execute(update(ImportJob).where(col(ImportJob.id) == job_id).values(**values))


async def run_job(r: Roster, principal: Principal, job_id: str, columns: dict[int, str], data: list[list[Any]]) -> None:
    try:
        await _run(r, principal, job_id, columns, data)
    except Exception as exc:
        log.exception("import failed", extra={"job_id": job_id})
        await _progress(
            r,
            job_id,
            status="failed",
            finished_at=utcnow(),
            message=f"the import failed and nothing was written ({type(exc).__name__})",
        )


async def _run(r: Roster, principal: Principal, job_id: str, columns: dict[int, str], data: list[list[Any]]) -> None:
    async with r.uow() as uow:
        job = await uow.session.get(ImportJob, job_id)
        assert job is not None
        mode, dry_run, create_units = job.mode, job.dry_run, job.create_units
    await _progress(r, job_id, status="running")

    # 1. every row through the rules (CPU work off the event loop)
    results = await asyncio.to_thread(_validate_all, columns, data)
    errors: list[dict[str, Any]] = []
    for res in results:
        for column, message in res.errors:
            errors.append({"row": res.row, "column": column, "message": message})
    await _progress(r, job_id, rows_done=len(results))

    records = [res for res in results if res.record is not None]
    # 2. duplicates inside the file
    seen: dict[str, int] = {}
    for res in records:
        idn = _record(res)["id_number"]
        if idn in seen:
            errors.append({"row": res.row, "column": "身份证号", "message": f"same ID number as row {seen[idn]}"})
        else:
            seen[idn] = res.row

    async with r.uow() as uow:
        s = uow.session
        # 3. units by name or path
        units = (await s.execute(select(Unit))).scalars().all()
        resolver = UnitResolver(units)
        scope = None
        if principal.unit_scope is not None:
            scope = [u.path for u in units if u.id in principal.unit_scope]
        new_units: list[Unit] = []
        for res in records:
            rec = res.record
            assert rec is not None
            try:
                unit = resolver.resolve(rec["unit"], create=create_units, kind=rec.get("unit_kind"), created=new_units)
            except LookupError as exc:
                errors.append({"row": res.row, "column": "单位", "message": str(exc)})
                continue
            if scope is not None and not any(unit.path.startswith(p) for p in scope):
                errors.append({"row": res.row, "column": "单位", "message": "this unit is outside your units"})
                continue
            rec["unit_id"] = unit.id

        # 4. ID numbers already on the roster
        index_of = {res.row: r.sealer.index(_record(res)["id_number"]) for res in records}
        existing: dict[str, Cadre] = {}
        all_indexes = list(index_of.values())
        for i in range(0, len(all_indexes), 5000):
            chunk = all_indexes[i : i + 5000]
            for found in (await s.execute(select(Cadre).where(col(Cadre.id_number_index).in_(chunk)))).scalars():
                existing[found.id_number_index] = found
        if mode == "insert":
            for res in records:
                if index_of[res.row] in existing:
                    errors.append(
                        {"row": res.row, "column": "身份证号", "message": "already on the roster (use mode=upsert)"}
                    )
        else:
            # As through the API: a cadre who left can no longer be changed.
            for res in records:
                gone = existing.get(index_of[res.row])
                rec = _record(res)
                if gone is not None and gone.status == "left" and "unit_id" in rec and _would_change(r, gone, rec):
                    errors.append(
                        {
                            "row": res.row,
                            "column": "身份证号",
                            "message": "this cadre has left the roster and can no longer be changed",
                        }
                    )

        if errors:
            errors.sort(key=lambda e: (e["row"] or 0, e["column"] or ""))
            await uow.rollback()
            await _progress(
                r,
                job_id,
                status="failed",
                finished_at=utcnow(),
                errors=errors[:MAX_REPORTED_ERRORS],
                message=f"{len({e['row'] for e in errors})} rows are invalid; nothing was written",
            )
            return
        if dry_run:
            inserted = sum(1 for res in records if index_of[res.row] not in existing)
            # End this transaction first: on SQLite it holds the write lock that the
            # progress update (another connection) would wait for until it times out.
            await uow.rollback()
            await _progress(
                r,
                job_id,
                status="succeeded",
                finished_at=utcnow(),
                rows_inserted=inserted,
                rows_updated=len(records) - inserted,
                message="dry run: every row is valid; nothing was written",
            )
            return

        # 5. write everything in this one transaction
        for unit in new_units:
            s.add(unit)
            uow.record(events.unit_created(unit))
        if new_units:
            await s.flush()
            for unit in new_units:  # the same history a unit created through the API gets
                s.add(
                    UnitChange(
                        unit_id=unit.id,
                        actor=principal.sub,
                        acting_client=principal.act,
                        kind="created",
                        changes={
                            "name": unit.name,
                            "kind": unit.kind,
                            "parent_id": unit.parent_id,
                            "import_job": job_id,
                        },
                    )
                )
        new_rows = [res for res in records if index_of[res.row] not in existing]
        updated = unchanged = 0
        for res in records:
            cadre = existing.get(index_of[res.row])
            if cadre is None:
                continue
            if _apply_update(r, uow, principal, cadre, _record(res)):
                updated += 1
            else:
                unchanged += 1
        await uow.flush_events()
        await bulk_insert(
            r, uow, principal, job_id, [_record(res) for res in new_rows], [index_of[res.row] for res in new_rows]
        )
        await s.execute(
            update(ImportJob)
            .where(col(ImportJob.id) == job_id)
            .values(
                status="succeeded",
                finished_at=utcnow(),
                rows_inserted=len(new_rows),
                rows_updated=updated,
                rows_unchanged=unchanged,
                message=f"{len(new_rows)} registered, {updated} updated, {unchanged} unchanged",
            )
        )
        await uow.commit()


def _record(res: sheet.RowResult) -> dict[str, Any]:
    """The record of a row that passed validation (only those reach the write steps)."""
    assert res.record is not None
    return res.record


def _validate_all(columns: dict[int, str], data: list[list[Any]]) -> list[sheet.RowResult]:
    out = []
    items = list(columns.items())
    for i, row in enumerate(data, start=2):
        if all(c in (None, "") for c in row):
            continue
        cells = {field: (row[idx] if idx < len(row) else None) for idx, field in items}
        out.append(sheet.validate_row(i, cells))
    return out


class UnitResolver:
    """Units by name (unique names) or by path ``区/镇/村``; creates missing ones when asked."""

    def __init__(self, units: Sequence[Unit]) -> None:
        self.by_id = {u.id: u for u in units}
        self.by_name: dict[str, list[Unit]] = {}
        for u in units:
            self.by_name.setdefault(u.name, []).append(u)

    def _children(self, parent: Unit | None, name: str) -> list[Unit]:
        return [u for u in self.by_name.get(name, []) if u.parent_id == (parent.id if parent else None)]

    def resolve(self, ref: str, *, create: bool, kind: str | None, created: list[Unit]) -> Unit:
        parts = [p.strip() for p in ref.replace("／", "/").split("/") if p.strip()]
        if len(parts) == 1:
            matches = self.by_name.get(parts[0], [])
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise LookupError(f"unit name '{parts[0]}' is ambiguous; write its path, e.g. 上级/{parts[0]}")
        # a path: the first part may be any unit with that name (an unambiguous anchor)
        anchors = self.by_name.get(parts[0], [])
        if len(anchors) > 1:
            raise LookupError(f"unit name '{parts[0]}' is ambiguous")
        node: Unit | None = anchors[0] if anchors else None
        start = 1
        if node is None:
            if not create:
                raise LookupError(f"unit '{parts[0]}' does not exist (set create_units=true to create it)")
            node = self._new(None, parts[0], kind if len(parts) == 1 else None, created)
        for name in parts[start:]:
            kids = self._children(node, name)
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
        if kind is None:
            raise LookupError(f"unit '{name}' does not exist; give 单位类型 to create it")
        unit = Unit(name=name, kind=kind, parent_id=parent.id if parent else None, path="")
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        created.append(unit)
        self.by_id[unit.id] = unit
        self.by_name.setdefault(name, []).append(unit)
        return unit


def _record_fields(r: Roster, rec: dict[str, Any]) -> dict[str, Any]:
    periods = [
        Period(dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]) if p["end"] else None)
        for p in rec["grassroots_periods"]
    ]
    retirement = rec["retirement_date"] or r.retirement.retirement_date(rec["birth_date"], rec["gender"])
    return {
        "name": rec["name"],
        "gender": rec["gender"],
        "birth_date": rec["birth_date"],
        "unit_id": rec["unit_id"],
        "post_title": rec["post_title"],
        "rank": rec["rank"],
        "party_member": rec["party_member"],
        "education": rec["education"],
        "years_of_service": rec["years_of_service"],
        "grassroots_periods": sorted(rec["grassroots_periods"], key=lambda p: p["start"]),
        "grassroots_years": str(grassroots_years(periods, today())),
        "strengths": rec["strengths"],
        "post_wishes": rec["post_wishes"],
        "professional_field": rec["professional_field"],
        "willingness": rec["willingness"],
        "leadership_status": rec["leadership_status"],
        "health": rec["health"],
        "retirement_date_override": rec["retirement_date"],
        "retirement_date": retirement,
    }


def _would_change(r: Roster, cadre: Cadre, rec: dict[str, Any]) -> bool:
    """Whether ``_apply_update`` would change the cadre (without changing it)."""
    fields = _record_fields(r, rec)
    return cadre.unit_id != fields["unit_id"] or any(
        getattr(cadre, key) != fields[key] for key in (*TRACKED, "retirement_date_override")
    )


def _apply_update(r: Roster, uow: Any, principal: Principal, cadre: Cadre, rec: dict[str, Any]) -> bool:
    fields = _record_fields(r, rec)
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
    "created_at",
    "updated_at",
)
JSON_COLUMNS = {"grassroots_periods", "strengths", "post_wishes", "willingness"}


async def bulk_insert(
    r: Roster, uow: Any, principal: Principal, job_id: str, records: list[dict[str, Any]], indexes: list[str]
) -> None:
    if not records:
        return
    now = utcnow()
    cadre_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    outbox_rows: list[dict[str, Any]] = []
    from services.roster.domain import id_numbers

    for rec, index in zip(records, indexes, strict=True):
        sealed = r.sealer.seal(rec["id_number"])
        row = _record_fields(r, rec)
        row.update(
            id=new_id(),
            id_number_sealed=sealed.blob,
            id_number_kid=sealed.kid,
            id_number_index=index,
            id_number_masked=id_numbers.mask(rec["id_number"]),
            status="active",
            version=1,
            created_at=now,
            updated_at=now,
        )
        cadre_rows.append(row)
        change_rows.append(
            {
                "cadre_id": row["id"],
                "at": now,
                "actor": principal.sub,
                "acting_client": principal.act,
                "kind": "registered",
                "changes": {"unit_id": row["unit_id"], "import_job": job_id},
                "reason": None,
            }
        )
        ev = events.cadre_registered(_CadreView(row))  # type: ignore[arg-type]
        env = envelope(uow.source, ev)
        outbox_rows.append(
            {
                "event_id": env["id"],
                "topic": uow.topic,
                "key": ev.key,
                "type": ev.type,
                "payload": dumps(env).decode(),
                "created_at": now,
                "published_at": None,
            }
        )
    s = uow.session
    conn = await s.connection()
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(
            "cadres",
            columns=list(CADRE_COLUMNS),
            records=[
                tuple(orjson.dumps(row[c]).decode() if c in JSON_COLUMNS else row[c] for c in CADRE_COLUMNS)
                for row in cadre_rows
            ],
        )
        change_cols = ["cadre_id", "at", "actor", "acting_client", "kind", "changes", "reason"]
        await raw.copy_records_to_table(
            "cadre_changes",
            columns=change_cols,
            records=[
                tuple(orjson.dumps(row[c]).decode() if c == "changes" else row[c] for c in change_cols)
                for row in change_rows
            ],
        )
        ob_cols = ["event_id", "topic", "key", "type", "payload", "created_at", "published_at"]
        await raw.copy_records_to_table(
            "outbox", columns=ob_cols, records=[tuple(row[c] for c in ob_cols) for row in outbox_rows]
        )
    else:
        await s.execute(Cadre.__table__.insert(), cadre_rows)  # type: ignore[attr-defined]
        await s.execute(CadreChange.__table__.insert(), change_rows)  # type: ignore[attr-defined]
        await s.execute(kit.outbox.insert(), outbox_rows)


class _CadreView:
    """Attribute access over a row dict, so the event builders serve bulk rows too."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)
