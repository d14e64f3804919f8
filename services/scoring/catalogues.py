"""Catalogue use cases: draft (from the default or the newest version), edit, publish.

A year has at most one draft; publishing gives it the next version number of the year and
freezes it. A correction is a new draft, published as a new version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.problems import Conflict, NotFound, field_error
from services.scoring.domain.catalogue import DEFAULT_CATALOGUE, CatalogueError, catalogue_dicts, parse_catalogue
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.scoring import Scoring, catalogue_of, check_year, rowcount


def public(row: CatalogueRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "year": row.year,
        "version": row.version,
        "status": row.status,
        "categories": row.categories,
        "rules": row.rules,
        "impact_months": row.impact_months,
        "note": row.note,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "published_by": row.published_by,
        "published_at": row.published_at,
        "row_version": row.row_version,
        "counts": {
            "positive_categories": sum(1 for c in row.categories if c["direction"] == "positive"),
            "negative_categories": sum(1 for c in row.categories if c["direction"] == "negative"),
            "rules": len(row.rules),
            "department_defaults": sum(1 for r in row.rules if r.get("default")),
        },
    }


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    try:
        cat = parse_catalogue(data["categories"], data["rules"], data.get("impact_months") or {})
    except CatalogueError as exc:
        raise field_error(exc.field, exc.message) from None
    return catalogue_dicts(cat)


async def create_draft(sc: Scoring, who: Principal, year: int, body: dict[str, Any]) -> dict[str, Any]:
    """A new draft for a year: from the given content, else a copy of the newest version,
    else the default catalogue."""
    check_year(year)
    async with sc.runtime.uow() as uow:
        s = uow.session
        if (
            await s.execute(
                select(col(CatalogueRow.id)).where(col(CatalogueRow.year) == year, col(CatalogueRow.status) == "draft")
            )
        ).first():
            raise Conflict(f"{year} already has a draft catalogue; edit or publish it")
        newest = (
            (
                await s.execute(
                    select(CatalogueRow)
                    .where(col(CatalogueRow.year) == year)
                    .order_by(col(CatalogueRow.version).desc())
                )
            )
            .scalars()
            .first()
        )
        if body.get("rules") is not None:
            content = _checked(body)
        elif newest is not None:
            content = catalogue_dicts(catalogue_of(newest))
        else:
            content = catalogue_dicts(DEFAULT_CATALOGUE)
        next_version = (
            await s.execute(
                select(func.coalesce(func.max(CatalogueRow.version), 0)).where(col(CatalogueRow.year) == year)
            )
        ).scalar_one() + 1
        row = CatalogueRow(year=year, version=next_version, created_by=who.sub, note=body.get("note"), **content)
        s.add(row)
        await uow.commit()
    return public(row)


async def get(sc: Scoring, catalogue_id: str) -> CatalogueRow:
    async with sc.runtime.sessions() as s:
        row = await s.get(CatalogueRow, catalogue_id)
    if row is None:
        raise NotFound(f"catalogue {catalogue_id} does not exist")
    return row


async def list_for(sc: Scoring, year: int | None) -> list[dict[str, Any]]:
    stmt = select(CatalogueRow).order_by(col(CatalogueRow.year).desc(), col(CatalogueRow.version).desc())
    if year is not None:
        stmt = stmt.where(col(CatalogueRow.year) == year)
    async with sc.runtime.sessions() as s:
        return [public(r) for r in (await s.execute(stmt)).scalars()]


async def edit_draft(sc: Scoring, who: Principal, catalogue_id: str, body: dict[str, Any], expected: int) -> dict:
    content = _checked(body)
    async with sc.runtime.uow() as uow:
        s = uow.session
        row = await s.get(CatalogueRow, catalogue_id)
        if row is None:
            raise NotFound(f"catalogue {catalogue_id} does not exist")
        if row.status != "draft":
            raise Conflict(f"catalogue {row.year} v{row.version} is published and never changes; draft a new version")
        done = await s.execute(
            update(CatalogueRow)
            .where(col(CatalogueRow.id) == catalogue_id, col(CatalogueRow.row_version) == expected)
            .values(**content, note=body.get("note", row.note), row_version=expected + 1)
        )
        if rowcount(done) != 1:
            raise Conflict("the draft changed since you read it (row_version); read it again")
        await uow.commit()
        await s.refresh(row)
    return public(row)


async def publish(sc: Scoring, who: Principal, catalogue_id: str) -> dict[str, Any]:
    async with sc.runtime.uow() as uow:
        s = uow.session
        row = await s.get(CatalogueRow, catalogue_id)
        if row is None:
            raise NotFound(f"catalogue {catalogue_id} does not exist")
        done = await s.execute(
            update(CatalogueRow)
            .where(col(CatalogueRow.id) == catalogue_id, col(CatalogueRow.status) == "draft")
            .values(status="published", published_by=who.sub, published_at=utcnow(), row_version=row.row_version + 1)
        )
        if rowcount(done) != 1:
            raise Conflict(f"catalogue {row.year} v{row.version} is already published")
        await uow.commit()
        await s.refresh(row)
    return public(row)


def default_catalogue() -> dict[str, Any]:
    return catalogue_dicts(DEFAULT_CATALOGUE)
