"""A service's own copy of the roster: units and cadres, kept from ``roster.events``.

Scoring, matching and secondment answer requests from this mirror and never call roster
synchronously. Every one of them keeps it the same way, so it is defined once here: two
Core tables created by the service's migration, handlers for its roster consumer, and a
few queries. Events are applied only when newer than the stored version, so replays and
duplicates are harmless and a snapshot (``POST /admin/events/snapshot`` on roster) can
rebuild a mirror from nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit import mirror_lag
from cadrekit.db import UTCDateTime, utcnow
from cadrekit.inbox import Handler
from cadrekit.latest import keep_latest
from cadrekit.scope import SubjectQuery, TableScopeResolver
from contracts import mirror_gaps, roster, topics

if TYPE_CHECKING:
    from cadrekit.runtime import ServiceRuntime

log = logging.getLogger("cadrekit.roster_mirror")
# How a version went missing: an event with a higher one came first, or the event was dead-lettered.
GAP_HOW = ("skipped", "dead_lettered")
OPEN_GAPS_LISTED = 20


@dataclass(frozen=True)
class MirrorTables:
    units: Table
    cadres: Table
    gaps: Table
    # Told of every gap that stays open, in the transaction that records it (``watch``: the
    # service publishes it, and roster answers with the subject's snapshot).
    on_gap: list[GapHook] = field(default_factory=list, compare=False, hash=False)


GapHook = Callable[[AsyncSession, "Gap"], Awaitable[None]]


@dataclass(frozen=True)
class Gap:
    kind: str  # cadre | unit
    subject_id: str
    held_version: int | None
    missing_version: int
    how: str  # skipped | dead_lettered
    found_at: dt.datetime
    event_id: str | None = None  # the dead letter's


async def _found(session: AsyncSession, tables: MirrorTables, gap: Gap) -> None:
    await session.execute(
        tables.gaps.insert().values(
            subject=f"{gap.kind}/{gap.subject_id}",
            held_version=gap.held_version,
            missing_version=gap.missing_version,
            how=gap.how,
            event_id=gap.event_id,
            found_at=gap.found_at,
        )
    )
    for hook in tables.on_gap:
        await hook(session, gap)


def define_mirror_tables(metadata: MetaData) -> MirrorTables:
    units = Table(
        "mirror_units",
        metadata,
        Column("unit_id", String(36), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("kind", String(30), nullable=False),
        Column("region", String(100), nullable=True),
        Column("body", String(30), nullable=True),
        Column("parent_id", String(36), nullable=True),
        # "/root/…/self/": a subtree is a prefix match, as in roster.
        Column("path", String(2000), nullable=False),
        Column("version", Integer, nullable=False),
    )
    Index("ix_mirror_units_path", units.c.path)
    cadres = Table(
        "mirror_cadres",
        metadata,
        Column("cadre_id", String(36), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("name", String(50), nullable=False),
        Column("unit_id", String(36), nullable=False),
        Column("leadership_status", String(20), nullable=False),
        Column("status", String(10), nullable=False),
        Column("gender", String(6), nullable=True),
        Column("birth_date", Date, nullable=True),
        Column("party_member", Boolean, nullable=False),
        Column("health", String(20), nullable=True),
        Column("retirement_date", Date, nullable=True),
        # Everything roster publishes about the cadre (contracts.roster.CADRE_STATE_FIELDS).
        Column("state", JSON, nullable=False),
    )
    Index("ix_mirror_cadres_unit", cadres.c.unit_id, cadres.c.status)
    return MirrorTables(units=units, cadres=cadres, gaps=define_gap_table(metadata))


def define_gap_table(metadata: MetaData) -> Table:
    """Versions of a subject the mirror never applied: skipped (an event with a higher
    version came first) or dead-lettered. A gap is healed once a whole state at or above
    the missing version is applied; until then ``/health`` lists it (issue 18)."""
    gaps = Table(
        "mirror_gaps",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("subject", String(60), nullable=False),  # "cadre/<id>", "unit/<id>"
        Column("held_version", Integer, nullable=True),
        Column("missing_version", Integer, nullable=False),
        Column("how", String(20), nullable=False),  # GAP_HOW
        Column("event_id", String(64), nullable=True),  # the dead letter's
        Column("found_at", UTCDateTime(), nullable=False),
        Column("healed_at", UTCDateTime(), nullable=True),
    )
    Index("ix_mirror_gaps_open", gaps.c.subject, gaps.c.healed_at)
    return gaps


_CACHE: dict[int, MirrorTables] = {}


def mirror_tables_of(metadata: MetaData) -> MirrorTables:
    key = id(metadata)
    if key not in _CACHE:
        if "mirror_cadres" in metadata.tables:
            t = metadata.tables
            _CACHE[key] = MirrorTables(t["mirror_units"], t["mirror_cadres"], t["mirror_gaps"])
        else:
            _CACHE[key] = define_mirror_tables(metadata)
    return _CACHE[key]


def create_mirror_tables() -> None:
    """For a service migration, like cadrekit.migrate.create_kit_tables."""
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    t = define_mirror_tables(metadata)
    # The gap table came later, with its own migration (create_gap_table).
    metadata.create_all(op.get_bind(), tables=[t.units, t.cadres])


def drop_mirror_tables() -> None:
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    t = define_mirror_tables(metadata)
    metadata.drop_all(op.get_bind(), tables=[t.units, t.cadres])


def create_gap_table() -> None:
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_gap_table(metadata).create(op.get_bind())


def drop_gap_table() -> None:
    from alembic import op

    from cadrekit.db import NAMING_CONVENTION

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_gap_table(metadata).drop(op.get_bind())


@dataclass(frozen=True)
class MirroredUnit:
    unit_id: str
    name: str
    kind: str
    region: str | None
    body: str | None
    parent_id: str | None
    path: str
    version: int


@dataclass(frozen=True)
class MirroredCadre:
    cadre_id: str
    version: int
    name: str
    unit_id: str
    leadership_status: str
    status: str
    gender: str | None
    birth_date: dt.date | None
    party_member: bool
    health: str | None
    retirement_date: dt.date | None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def strengths(self) -> list[str]:
        return list(self.state.get("strengths") or [])

    @property
    def post_wishes(self) -> list[str]:
        return list(self.state.get("post_wishes") or [])

    @property
    def professional_field(self) -> str | None:
        return self.state.get("professional_field")

    @property
    def grassroots_years(self) -> Decimal:
        return Decimal(str(self.state.get("grassroots_years") or "0"))

    @property
    def post_title(self) -> str | None:
        return self.state.get("post_title")

    @property
    def retirement_rule(self) -> str | None:
        """The rule that gave ``retirement_date``, in words (roster publishes it with the date)."""
        return self.state.get("retirement_rule") or None

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _cadre_columns(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": int(state["version"]),
        "name": state.get("name") or "",
        "unit_id": state["unit_id"],
        "leadership_status": state.get("leadership_status") or "non_leading",
        "status": state.get("status") or "active",
        "gender": state.get("gender"),
        "birth_date": _date(state.get("birth_date")),
        "party_member": bool(state.get("party_member")),
        "health": state.get("health"),
        "retirement_date": _date(state.get("retirement_date")),
        "state": {k: v for k, v in state.items() if k not in ("snapshot", "changed")},
    }


async def upsert_cadre(session: AsyncSession, tables: MirrorTables, state: dict[str, Any]) -> bool:
    """Store a cadre's whole published state unless a newer version is already held.
    Also how tests seed a mirror without running roster."""
    version = int(state["version"])
    await _check_version(session, tables, tables.cadres, "cadre", state["cadre_id"], version, whole=True)
    key = {"cadre_id": state["cadre_id"]}
    return await keep_latest(session, tables.cadres, key, _cadre_columns(state), version="version")


async def _check_version(
    session: AsyncSession, tables: MirrorTables, table: Table, kind: str, subject_id: str, version: int, *, whole: bool
) -> None:
    """Say so when versions were skipped (the held one is more than one behind); a whole
    state at or above a missing version heals that gap, a merge of named fields never does."""
    id_column = table.c[f"{kind}_id"]
    held = (await session.execute(select(table.c.version).where(id_column == subject_id))).scalar()
    subject = f"{kind}/{subject_id}"
    g = tables.gaps
    now = utcnow()
    if held is not None and version > held + 1 and not await _known_gap(session, g, subject, held):
        if whole:  # found and healed at once: the whole state is here
            await session.execute(
                g.insert().values(
                    subject=subject,
                    held_version=held,
                    missing_version=held + 1,
                    how="skipped",
                    found_at=now,
                    healed_at=now,
                )
            )
        else:
            await _found(session, tables, Gap(kind, subject_id, held, held + 1, "skipped", now))
        log.warning("roster mirror skipped versions", extra={"subject": subject, "held": held, "applied": version})
    if whole:
        await session.execute(
            update(g)
            .where(g.c.subject == subject, g.c.healed_at.is_(None), g.c.missing_version <= version)
            .values(healed_at=now)
        )


async def _known_gap(session: AsyncSession, g: Table, subject: str, held: int) -> bool:
    """A dead letter noted the missing version already: the same gap, not a second one."""
    found = await session.execute(
        select(g.c.id).where(g.c.subject == subject, g.c.healed_at.is_(None), g.c.missing_version > held).limit(1)
    )
    return found.first() is not None


async def _apply_change(
    session: AsyncSession,
    tables: MirrorTables,
    d: roster.CadreUpdated | roster.CadreMoved | roster.CadreLeft,
    changes: dict[str, Any],
) -> None:
    """A change carries the cadre's whole state (since 2026-12): kept whole, so an update
    this mirror missed leaves no hole; an older event's named fields are merged."""
    if d.state is not None:
        # in the order a registration carries it: the stored JSON reads the same either way
        state = {"cadre_id": d.cadre_id, "version": d.version, **d.state.model_dump(mode="json")}
        await upsert_cadre(session, tables, state)
        return
    await _check_version(session, tables, tables.cadres, "cadre", d.cadre_id, d.version, whole=False)
    await _merge_cadre(session, tables, d.cadre_id, d.version, changes)


async def _merge_cadre(
    session: AsyncSession, tables: MirrorTables, cadre_id: str, version: int, changes: dict[str, Any]
) -> None:
    t = tables.cadres
    row = (
        await session.execute(select(t.c.state, t.c.version).where(t.c.cadre_id == cadre_id).with_for_update())
    ).first()
    if row is None or row.version >= version:
        # Unknown here (registered before this mirror existed: a roster snapshot fills
        # it in) or already applied.
        return
    state = dict(row.state)
    state.update(changes)
    state["version"] = version
    await session.execute(update(t).where(t.c.cadre_id == cadre_id).values(**_cadre_columns(state)))


async def upsert_unit(session: AsyncSession, tables: MirrorTables, state: dict[str, Any]) -> bool:
    t = tables.units
    path = state["path"]
    values = {
        "name": state["name"],
        "kind": state["kind"],
        "region": state.get("region"),
        "body": state.get("body"),
        "parent_id": state.get("parent_id"),
        "path": path if isinstance(path, str) else "/" + "".join(f"{p}/" for p in path),
        "version": int(state["version"]),
    }
    await _check_version(session, tables, t, "unit", state["unit_id"], values["version"], whole=True)
    # A unit move re-publishes descendants' paths with their own (unchanged) version.
    return await keep_latest(session, t, {"unit_id": state["unit_id"]}, values, version="version", ties_apply=True)


async def note_dead_letter(session: AsyncSession, tables: MirrorTables, envelope: dict[str, Any]) -> None:
    """A roster event this mirror never applied is an open gap until a whole state at or
    above its version arrives (the subject's next change, or a snapshot)."""
    subject, data = envelope.get("subject"), envelope.get("data")
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(subject, str) or not isinstance(version, int) or "/" not in subject:
        return
    kind, subject_id = subject.split("/", 1)
    table = {"cadre": tables.cadres, "unit": tables.units}.get(kind)
    if table is None:
        return
    held = (await session.execute(select(table.c.version).where(table.c[f"{kind}_id"] == subject_id))).scalar()
    if held is not None and held >= version:
        return  # a newer state is held already: nothing is missing
    await _found(
        session, tables, Gap(kind, subject_id, held, version, "dead_lettered", utcnow(), str(envelope.get("id")))
    )


async def gap_report(session: AsyncSession, tables: MirrorTables) -> dict[str, Any]:
    """What ``/health`` says about the mirror: gaps found and healed, the open ones."""
    g = tables.gaps
    found = (await session.execute(select(func.count()).select_from(g))).scalar() or 0
    open_rows = (
        await session.execute(
            select(g.c.subject, g.c.held_version, g.c.missing_version, g.c.how, g.c.found_at)
            .where(g.c.healed_at.is_(None))
            .order_by(g.c.id)
        )
    ).all()
    return {
        "gaps_found": found,
        "gaps_open": len(open_rows),
        "open": [
            {
                "subject": r.subject,
                "held_version": r.held_version,
                "missing_version": r.missing_version,
                "how": r.how,
                "found_at": r.found_at.isoformat(),
            }
            for r in open_rows[:OPEN_GAPS_LISTED]
        ],
        # the body of roster's POST /events/snapshot that heals every open gap
        "snapshot_request": {
            "unit_ids": sorted({r.subject.split("/", 1)[1] for r in open_rows if r.subject.startswith("unit/")}),
            "cadre_ids": sorted({r.subject.split("/", 1)[1] for r in open_rows if r.subject.startswith("cadre/")}),
        },
    }


def watch(runtime: ServiceRuntime, tables: MirrorTables) -> None:
    """After the service's consumers are added: every roster event one of them dead-letters
    is noted as a gap, every gap that stays open is published (``contracts.mirror_gaps``:
    roster answers with the subject's snapshot), and ``/health`` and ``/metrics`` report
    the mirror's gaps."""
    consumers = [c for c in runtime.consumers if topics.ROSTER in c.topics]
    if not consumers:
        raise ValueError("watch the roster mirror after adding the consumer that keeps it")
    model = mirror_gaps.OF_SERVICE[runtime.settings.service_name]

    async def ask(session: AsyncSession, gap: Gap) -> None:
        found = model(
            subject_kind=gap.kind,
            subject_id=gap.subject_id,
            held_version=gap.held_version,
            missing_version=gap.missing_version,
            how=gap.how,
            found_at=gap.found_at,
        )
        await runtime.emit_from_handler(session, [found.event()])

    # One per service: the app made last (tests make many) is the one that publishes.
    tables.on_gap[:] = [ask]

    async def noted(session: AsyncSession, envelope: dict[str, Any]) -> None:
        await note_dead_letter(session, tables, envelope)

    for consumer in consumers:
        consumer.on_dead_letter.append(noted)

    async def report() -> dict[str, Any]:
        async with runtime.sessions() as session:
            return await gap_report(session, tables)

    runtime.reports["mirror"] = report


def mirror_handlers(tables: MirrorTables) -> dict[str, Handler]:
    """Handlers for ``runtime.add_consumer(f"{service}.roster-mirror", [topics.ROSTER], …)``,
    each reading its event through roster's contract (``contracts.roster``)."""

    async def registered(session: AsyncSession, event: dict[str, Any]) -> None:
        await upsert_cadre(session, tables, roster.CadreRegistered.of(event).model_dump(mode="json"))

    async def updated(session: AsyncSession, event: dict[str, Any]) -> None:
        d = roster.CadreUpdated.of(event)
        await _apply_change(session, tables, d, {**d.model_dump(mode="json")["changed"], "unit_id": d.unit_id})

    async def moved(session: AsyncSession, event: dict[str, Any]) -> None:
        d = roster.CadreMoved.of(event)
        await _apply_change(session, tables, d, {"unit_id": d.to_unit_id, "post_title": d.post_title})

    async def left(session: AsyncSession, event: dict[str, Any]) -> None:
        d = roster.CadreLeft.of(event)
        await _apply_change(session, tables, d, {"status": "left"})

    async def unit_created(session: AsyncSession, event: dict[str, Any]) -> None:
        await upsert_unit(session, tables, roster.UnitCreated.of(event).model_dump(mode="json"))

    async def unit_updated(session: AsyncSession, event: dict[str, Any]) -> None:
        await upsert_unit(session, tables, roster.UnitUpdated.of(event).model_dump(mode="json"))

    return {
        roster.CadreRegistered.TYPE: registered,
        roster.CadreUpdated.TYPE: updated,
        roster.CadreMoved.TYPE: moved,
        roster.CadreLeft.TYPE: left,
        roster.UnitCreated.TYPE: unit_created,
        roster.UnitUpdated.TYPE: unit_updated,
    }


def _unit(row: Any) -> MirroredUnit:
    return MirroredUnit(**dict(row._mapping))


def _cadre(row: Any) -> MirroredCadre:
    return MirroredCadre(**dict(row._mapping))


async def get_unit(session: AsyncSession, tables: MirrorTables, unit_id: str) -> MirroredUnit | None:
    row = (await session.execute(select(tables.units).where(tables.units.c.unit_id == unit_id))).first()
    return None if row is None else _unit(row)


async def get_units(session: AsyncSession, tables: MirrorTables, unit_ids: list[str]) -> dict[str, MirroredUnit]:
    if not unit_ids:
        return {}
    rows = (await session.execute(select(tables.units).where(tables.units.c.unit_id.in_(set(unit_ids))))).all()
    return {r.unit_id: _unit(r) for r in rows}


async def get_cadre(session: AsyncSession, tables: MirrorTables, cadre_id: str) -> MirroredCadre | None:
    row = (await session.execute(select(tables.cadres).where(tables.cadres.c.cadre_id == cadre_id))).first()
    return None if row is None else _cadre(row)


async def get_cadres(session: AsyncSession, tables: MirrorTables, cadre_ids: list[str]) -> dict[str, MirroredCadre]:
    if not cadre_ids:
        return {}
    rows = (await session.execute(select(tables.cadres).where(tables.cadres.c.cadre_id.in_(set(cadre_ids))))).all()
    return {r.cadre_id: _cadre(r) for r in rows}


async def subtree_unit_ids(session: AsyncSession, tables: MirrorTables, unit_id: str) -> list[str]:
    """The unit and all its descendants; empty when the unit is unknown here."""
    u = tables.units
    path = (await session.execute(select(u.c.path).where(u.c.unit_id == unit_id))).scalar_one_or_none()
    if path is None:
        return []
    return list(
        (await session.execute(select(u.c.unit_id).where(u.c.path.startswith(path, autoescape=True)))).scalars()
    )


async def list_cadres(
    session: AsyncSession,
    tables: MirrorTables,
    *,
    unit_id: str | None = None,
    leadership_status: str | None = None,
    status: str | None = "active",
    cadre_ids: list[str] | None = None,
) -> list[MirroredCadre]:
    """Cadres filtered by unit subtree, leadership status, status and/or ids; ordered by id."""
    c = tables.cadres
    stmt = select(c).order_by(c.c.cadre_id)
    if unit_id is not None:
        u = tables.units
        path = (await session.execute(select(u.c.path).where(u.c.unit_id == unit_id))).scalar_one_or_none()
        if path is None:
            return []
        stmt = stmt.where(c.c.unit_id.in_(select(u.c.unit_id).where(u.c.path.startswith(path, autoescape=True))))
    if leadership_status is not None:
        stmt = stmt.where(c.c.leadership_status == leadership_status)
    if status is not None:
        stmt = stmt.where(c.c.status == status)
    if cadre_ids is not None:
        stmt = stmt.where(c.c.cadre_id.in_(set(cadre_ids)))
    return [_cadre(r) for r in (await session.execute(stmt)).all()]


def mirror_scope_resolver(tables: MirrorTables, subjects: dict[str, SubjectQuery] | None = None) -> TableScopeResolver:
    """Unit scope over the mirror (cadrekit.scope): units by path, a cadre by its unit, and
    the service's own subjects (each a query whose columns are the object's unit ids)."""
    return TableScopeResolver(
        unit_id=tables.units.c.unit_id,
        unit_path=tables.units.c.path,
        subjects={
            "cadre": lambda i: select(tables.cadres.c.unit_id).where(tables.cadres.c.cadre_id == i),
            **(subjects or {}),
        },
    )


async def await_references(
    runtime: ServiceRuntime,
    tables: MirrorTables,
    *,
    units: Mapping[str, str | None] | None = None,
    cadres: Mapping[str, str | None] | None = None,
) -> None:
    """Wait until every unit and cadre a write names (field → id) is in the mirror, or tell
    the caller it is not known *yet*.

    A unit created a moment ago reaches this service's mirror through roster's events, a
    second or so later (issue 17: a post at a new unit was refused as "unknown unit"). So a
    reference the mirror lacks is looked up again, each time in a fresh session (a waiting
    transaction would not see the mirror move), for up to ``mirror_wait_seconds``. Still
    missing while roster's events are on their way to this service: ``NotKnownYet`` (409,
    Retry-After). Still missing with everything applied: the use case's own check answers,
    a 422 naming the field as before. Called before the use case opens its unit of work, so
    no lock is held while it waits."""
    wanted_units = {f: v for f, v in (units or {}).items() if v}
    wanted_cadres = {f: v for f, v in (cadres or {}).items() if v}
    if not wanted_units and not wanted_cadres:
        return

    async def missing() -> list[tuple[str, str, str]]:
        async with runtime.sessions() as session:
            have_units = await get_units(session, tables, list(wanted_units.values()))
            have_cadres = await get_cadres(session, tables, list(wanted_cadres.values()))
        return [("unit", f, v) for f, v in wanted_units.items() if v not in have_units] + [
            ("cadre", f, v) for f, v in wanted_cadres.items() if v not in have_cadres
        ]

    gone = await mirror_lag.still_missing(runtime, missing)
    if gone and mirror_lag.behind(runtime):
        raise mirror_lag.not_known_yet(gone)
