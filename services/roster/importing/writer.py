"""Bulk import, the writer: checked records become table rows, written all in one transaction.

The job streams: each chunk of checked records is turned into rows (``RowBuilder``) and
written. On PostgreSQL the cadres, their history rows and their outbox events go in by
COPY, all in one transaction, and the server ingests chunk k while Python prepares chunk
k+1. So neither the raw sheet nor all prepared rows are ever held in Python at once. All
or nothing: chunks are written only while every row so far has passed; after the first
bad row the rest is still checked, for the report, and the transaction is rolled back.

The Python work runs on the event loop in slices, not on a worker thread: a thread fought
the loop for the GIL, and each time the loop gave it up to send COPY data it waited up to
the 5 ms switch interval to get it back while the server ran dry. Between slices the COPY
in flight sends more data, and other requests are answered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import orjson

from cadrekit.auth import Principal
from cadrekit.dates import today
from cadrekit.db import utcnow
from cadrekit.uow import OUTBOX_COLUMNS, UnitOfWork
from services.roster import events
from services.roster.domain import id_numbers, registration
from services.roster.domain.registration import Registration
from services.roster.importing.pipeline import Checked, as_stored, registration_of
from services.roster.models import Cadre, CadreChange, OrderedIds, kit
from services.roster.service.context import Context
from services.roster.service.rules import DERIVED, TRACKED, RetirementFacts, iso, retirement_columns, retirement_of


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
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


@dataclass
class Prepared:
    """Rows for ``cadres``, ``cadre_changes`` and ``outbox``, one each per new cadre, in
    CADRE_COLUMNS / CHANGE_COLUMNS / ``cadrekit.uow.OUTBOX_COLUMNS`` order (JSON columns as
    JSON text)."""

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


# Every column the import writes, derived from the registration's fields (one order, see
# domain/registration.py); the rest (created_at, updated_at, cadre_changes.at,
# id_number_form) are the database's defaults, as models.Cadre declares them.
CADRE_COLUMNS = ("id", *registration.FIELDS, *registration.SEALED_COLUMNS, *registration.NEW_STATE_COLUMNS)
STAMPED_COLUMNS = {"cadres": ("created_at", "updated_at"), "cadre_changes": ("at",)}
JSON_COLUMNS = registration.JSON_FIELDS
CHANGE_COLUMNS = ("cadre_id", "actor", "acting_client", "kind", "changes", "reason")
_PERIODS_AT = registration.FIELDS.index("grassroots_periods")
_SHARED_JSON_AT = tuple(registration.FIELDS.index(f) for f in sorted(JSON_COLUMNS - {"grassroots_periods"}))
_NEW_STATE = (registration.NEW_STATUS, registration.NEW_VERSION)


class RowBuilder:
    """Table rows for new cadres: for each checked record its ``Registration``, and from it
    the cadre row, the history row and the event, as ``service.cadres.register_cadre``
    makes them (tests/roster/service/test_registration_paths.py)."""

    def __init__(
        self, ctx: Context, principal: Principal, uow: UnitOfWork, job_id: str, unit_kind: Callable[[str], str | None]
    ) -> None:
        self.ctx = ctx
        self.unit_kind = unit_kind  # of a unit a row resolved to (the category may depend on it)
        self.actor, self.acting_client = principal.sub, principal.act
        self.job_id = job_id
        self.event_rows = uow.event_rows()
        # Ids that grow keep the B-tree inserts at the right edge (see OrderedIds).
        self.ids = OrderedIds()
        self.json_texts: dict[tuple[Any, ...], str] = {}
        self.history_of_unit: dict[str, str] = {}
        self.retirements: dict[tuple[dt.date, str, str | None, dt.date | None, str | None], dict[str, Any]] = {}

    def prepare(self, records: list[Checked]) -> Prepared:
        out = Prepared()
        add_cadre, add_change, add_event = out.cadres.append, out.changes.append, out.outbox.append
        count = len(records)
        cadre_ids, event_ids = self.ids.take(count), self.ids.take(count)
        blobs = self.ctx.sealer.seal_many(checked[0].id_number for checked in records)
        kid, json_of, event_row, history_of = self.ctx.sealer.active, self._json, self.event_rows.row, self._history
        for checked, cadre_id, event_id, blob in zip(records, cadre_ids, event_ids, blobs, strict=True):
            rec, index, unit_id = checked
            assert unit_id is not None  # a row whose unit did not resolve never gets this far
            retirement = self._retirement(rec.birth_date, rec.gender, rec.rank, rec.retirement_date, unit_id)
            new = registration_of(checked, retirement)
            values = list(new)
            values[_PERIODS_AT] = orjson.dumps(new.grassroots_periods).decode()  # a row's own
            for at in _SHARED_JSON_AT:
                values[at] = json_of(values[at])
            add_cadre((cadre_id, *values, blob, kid, index, id_numbers.mask(rec.id_number), *_NEW_STATE))
            add_change((cadre_id, self.actor, self.acting_client, "registered", history_of(new), None))
            add_event(event_row(events.registered(cadre_id, new), event_id))
        return out

    def _history(self, new: Registration) -> str:
        """The history row's ``changes``, the same for every cadre of a unit."""
        got = self.history_of_unit.get(new.unit_id)
        if got is None:
            got = orjson.dumps(registration.history(new, import_job=self.job_id)).decode()
            self.history_of_unit[new.unit_id] = got
        return got

    def _json(self, value: Any) -> str:
        """JSON text of strengths, wishes or willingness, which repeat across rows: each
        serialised once."""
        key = value if type(value) is tuple else tuple(value.items())
        got = self.json_texts.get(key)
        if got is None:
            got = self.json_texts[key] = orjson.dumps(value).decode()
        return got

    def _retirement(
        self, birth_date: dt.date, gender: str, rank: str | None, override: dt.date | None, unit_id: str
    ) -> dict[str, Any]:
        """The retirement fields (the override, else the rule's date, with the rule); birth
        dates repeat, so each is worked out once."""
        kind = self.unit_kind(unit_id)
        key = (birth_date, gender, rank, override, kind)
        got = self.retirements.get(key)
        if got is None:
            facts = RetirementFacts(birth_date, gender, rank, retirement_date_override=override, unit_kind=kind)
            got = self.retirements[key] = facts.registered(self.ctx)
        return got


class Writer:
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
            as_dicts(CADRE_COLUMNS, rows.cadres, JSON_COLUMNS, stamps["cadres"]),
        )
        await conn.execute(
            CadreChange.__table__.insert(),  # type: ignore[attr-defined]
            as_dicts(CHANGE_COLUMNS, rows.changes, {"changes"}, stamps["cadre_changes"]),
        )
        await conn.execute(kit.outbox.insert(), as_dicts(OUTBOX_COLUMNS, rows.outbox, set(), {}))


def as_dicts(
    columns: Sequence[str], rows: list[tuple[Any, ...]], json_columns: AbstractSet[str], more: dict[str, Any]
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


def apply_update(
    ctx: Context, uow: UnitOfWork, principal: Principal, cadre: Cadre, checked: Checked, unit_kind: str | None
) -> bool:
    """``unit_kind``: of the unit the row names (the cadre's unit from now on)."""
    new = as_stored(ctx, checked)
    history: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    for key in (*TRACKED, "retirement_date_override"):
        if getattr(cadre, key) != getattr(new, key):
            history[key] = [iso(getattr(cadre, key)), iso(getattr(new, key))]
            changed[key] = getattr(new, key)
            setattr(cadre, key, changed[key])
    moved_from = None
    if cadre.unit_id != new.unit_id:
        history["unit_id"] = [cadre.unit_id, new.unit_id]
        moved_from = cadre.unit_id
        cadre.unit_id = new.unit_id
    # Derived again from the cadre as it now is: a category or decision recorded through the
    # API is not the sheet's to forget.
    derived = {"grassroots_years": new.grassroots_years} | retirement_columns(ctx, retirement_of(ctx, cadre, unit_kind))
    for key in DERIVED:
        if getattr(cadre, key) != derived[key]:
            changed[key] = derived[key]
            setattr(cadre, key, changed[key])
    cadre.retirement_law = derived["retirement_law"]
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
