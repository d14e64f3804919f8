"""What every scoring use case shares: the runtime, the catalogue in force, the lock on a
cadre's year, and where scoring's objects sit in the unit tree (for ``cadrekit.scope``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from cadrekit.db import utcnow
from cadrekit.errors import NotFound, field_error
from cadrekit.roster_mirror import MirroredCadre, get_cadre, mirror_scope_resolver
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import TableScopeResolver
from services.scoring.domain.catalogue import Catalogue, Category, Rule
from services.scoring.domain.ledger import Sums
from services.scoring.domain.money import as_points
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.models import Entry, KeyPost, Total, mirror
from services.scoring.settings import ScoringSettings

MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass
class Context:
    """Scoring's runtime and collaborators, passed to every use case as ``ctx``."""

    runtime: ServiceRuntime
    settings: ScoringSettings
    # Published catalogues never change, so a version once read is kept.
    _published: dict[tuple[int, int], Catalogue] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.runtime.engine.dialect.name

    def cached_catalogue(self, year: int, version: int) -> Catalogue | None:
        """A published version already read, without touching the database."""
        return self._published.get((year, version))

    def keep_catalogue(self, year: int, version: int, catalogue: Catalogue) -> Catalogue:
        self._published[(year, version)] = catalogue
        return catalogue


def catalogue_of(row: CatalogueRow) -> Catalogue:
    cats = tuple(Category(c["code"], c["name"], c["direction"], bool(c.get("default"))) for c in row.categories)
    rules = tuple(
        Rule(
            r["code"],
            r["category"],
            r["direction"],
            as_points(r["points"]),
            r.get("description") or "",
            None if r.get("cap_per_year") is None else as_points(r["cap_per_year"]),
            r.get("sanction_kind"),
            bool(r.get("default")),
        )
        for r in row.rules
    )
    return Catalogue(cats, rules, dict(row.impact_months))


async def published_version(session: AsyncSession, year: int) -> int | None:
    stmt = select(func.max(CatalogueRow.version)).where(
        col(CatalogueRow.year) == year, col(CatalogueRow.status) == "published"
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def catalogue_version(ctx: Context, session: AsyncSession, year: int, version: int) -> Catalogue | None:
    cached = ctx.cached_catalogue(year, version)
    if cached is None:
        row = (
            await session.execute(
                select(CatalogueRow).where(
                    col(CatalogueRow.year) == year,
                    col(CatalogueRow.version) == version,
                    col(CatalogueRow.status) == "published",
                )
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        cached = ctx.keep_catalogue(year, version, catalogue_of(row))
    return cached


async def in_force(ctx: Context, session: AsyncSession, year: int) -> tuple[int, Catalogue] | None:
    """The newest published version of a year's catalogue."""
    version = await published_version(session, year)
    if version is None:
        return None
    cat = await catalogue_version(ctx, session, year, version)
    assert cat is not None
    return version, cat


def _lock_statement(dialect: str) -> Any:
    ins = postgresql.insert(Total) if dialect == "postgresql" else sqlite.insert(Total)
    return (
        ins.values(
            cadre_id=bindparam("b_cadre"),
            year=bindparam("b_year"),
            total=Decimal(0),
            positive=Decimal(0),
            negative=Decimal(0),
            seq=0,
            updated_at=bindparam("b_at"),
        )
        .on_conflict_do_update(index_elements=["cadre_id", "year"], set_={"seq": col(Total.seq)})
        .returning(
            col(Total.total), col(Total.positive), col(Total.negative), col(Total.seq), col(Total.catalogue_version)
        )
    )


@dataclass(frozen=True)
class YearLock:
    """A cadre's year as it stood when its lock was taken."""

    total: Decimal
    positive: Decimal
    negative: Decimal
    seq: int
    catalogue_version: int | None

    @property
    def sums(self) -> Sums:
        return Sums(self.total, self.positive, self.negative)


# Built once: every change to a cadre's year starts with it, approvals most of all.
LOCK_YEAR = {"postgresql": _lock_statement("postgresql"), "sqlite": _lock_statement("sqlite")}


async def lock_year(ctx: Context, session: AsyncSession | AsyncConnection, cadre_id: str, year: int) -> YearLock:
    """Take (creating if need be) the row of a cadre's year and hold it until commit: every
    change to the year goes through here, so approvals are ordered and none is lost."""
    params = {"b_cadre": cadre_id, "b_year": year, "b_at": utcnow()}
    row = (await session.execute(LOCK_YEAR[ctx.dialect], params)).one()
    return YearLock(row.total, row.positive, row.negative, row.seq, row.catalogue_version)


async def known_cadre(
    ctx: Context, session: AsyncSession, cadre_id: str, field_name: str = "cadre_id", *, for_input: bool = True
) -> MirroredCadre:
    """The cadre from the mirror: unknown in a request body is invalid input (422), in a
    path it is a resource that does not exist (404)."""
    cadre = await get_cadre(session, mirror, cadre_id)
    if cadre is None:
        if not for_input:
            raise NotFound(f"no cadre {cadre_id} is known to scoring")
        raise field_error(field_name, f"no cadre {cadre_id} is known to scoring", "unknown cadre")
    return cadre


def unit_of_record(cadre_id: Any, made_in: Any) -> ColumnElement[Any]:
    """The unit a record about a cadre (an entry, a rating) belongs to: the cadre's unit
    now, as the roster mirror knows it, else the unit it was made in. A cadre who moves
    takes the ledger along, so the ledger, its entries by id and the lists agree on whose
    it is: the new unit's, no longer the old one's."""
    c = mirror.cadres
    return func.coalesce(select(c.c.unit_id).where(c.c.cadre_id == cadre_id).scalar_subquery(), made_in)


def scope_resolver() -> TableScopeResolver:
    """Where the objects named in scoring's paths sit (``cadrekit.scope``): units and cadres
    from the roster mirror, an entry where its cadre is, a key post in its own unit."""
    return mirror_scope_resolver(
        mirror,
        {
            "entry": lambda entry_id: select(unit_of_record(col(Entry.cadre_id), col(Entry.unit_id))).where(
                col(Entry.id) == entry_id
            ),
            "key_post": lambda post_id: select(col(KeyPost.unit_id)).where(col(KeyPost.id) == post_id),
        },
    )


def check_year(year: int, field_name: str = "year") -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise field_error(field_name, f"a year between {MIN_YEAR} and {MAX_YEAR}")
    return year


def rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount
