"""Catalogue use cases: draft (from the default or the newest version), edit, publish.

A year has at most one draft; publishing gives it the next version number of the year and
freezes it. A correction is a new draft, published as a new version.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, field_error
from services.scoring.domain.catalogue import (
    DEFAULT_CATALOGUE,
    Catalogue,
    CatalogueError,
    catalogue_dicts,
    parse_catalogue,
)
from services.scoring.models import Catalogue as CatalogueRow
from services.scoring.schemas.catalogues import CatalogueContent, CatalogueEdit, CatalogueIn, CataloguePublic
from services.scoring.service.context import Context, catalogue_of, check_year, rowcount


def content_of(catalogue: Catalogue) -> CatalogueContent:
    """A catalogue in the form it is stored in (and shown)."""
    return CatalogueContent.model_validate(catalogue_dicts(catalogue))


def _checked(body: CatalogueIn | CatalogueEdit, *, exclude_none: bool) -> CatalogueContent:
    """The body's content, checked. A draft's body leaves out what it does not set (a rule
    without ``direction`` takes its category's); an edit's states every field."""
    categories = [c.model_dump(exclude_none=exclude_none) for c in body.categories or []]
    rules = [r.model_dump(exclude_none=exclude_none) for r in body.rules or []]
    try:
        cat = parse_catalogue(categories, rules, body.impact_months or {})
    except CatalogueError as exc:
        raise field_error(exc.field, exc.message) from None
    return content_of(cat)


async def create_draft(ctx: Context, principal: Principal, year: int, body: CatalogueIn | None) -> CataloguePublic:
    """A new draft for a year: from the given content, else a copy of the newest version,
    else the default catalogue."""
    check_year(year)
    async with ctx.runtime.uow() as uow:
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
        if body is not None and body.rules is not None:
            content = _checked(body, exclude_none=True)
        elif newest is not None:
            content = content_of(catalogue_of(newest))
        else:
            content = content_of(DEFAULT_CATALOGUE)
        next_version = (
            await s.execute(
                select(func.coalesce(func.max(CatalogueRow.version), 0)).where(col(CatalogueRow.year) == year)
            )
        ).scalar_one() + 1
        row = CatalogueRow(
            year=year,
            version=next_version,
            created_by=principal.sub,
            note=body.note if body else None,
            categories=content.categories,
            rules=content.rules,
            impact_months=content.impact_months,
        )
        s.add(row)
        await uow.commit()
    return CataloguePublic.model_validate(row)


async def get(ctx: Context, catalogue_id: str) -> CataloguePublic:
    async with ctx.runtime.sessions() as s:
        row = await s.get(CatalogueRow, catalogue_id)
    if row is None:
        raise NotFound(f"catalogue {catalogue_id} does not exist")
    return CataloguePublic.model_validate(row)


async def list_for(ctx: Context, year: int | None) -> list[CataloguePublic]:
    stmt = select(CatalogueRow).order_by(col(CatalogueRow.year).desc(), col(CatalogueRow.version).desc())
    if year is not None:
        stmt = stmt.where(col(CatalogueRow.year) == year)
    async with ctx.runtime.sessions() as s:
        return [CataloguePublic.model_validate(r) for r in (await s.execute(stmt)).scalars()]


async def edit_draft(ctx: Context, principal: Principal, catalogue_id: str, body: CatalogueEdit) -> CataloguePublic:
    content = _checked(body, exclude_none=False)
    expected = body.row_version
    async with ctx.runtime.uow() as uow:
        s = uow.session
        row = await s.get(CatalogueRow, catalogue_id)
        if row is None:
            raise NotFound(f"catalogue {catalogue_id} does not exist")
        if row.status != "draft":
            raise Conflict(f"catalogue {row.year} v{row.version} is published and never changes; draft a new version")
        done = await s.execute(
            update(CatalogueRow)
            .where(col(CatalogueRow.id) == catalogue_id, col(CatalogueRow.row_version) == expected)
            .values(
                categories=content.categories,
                rules=content.rules,
                impact_months=content.impact_months,
                note=body.note,
                row_version=expected + 1,
            )
        )
        if rowcount(done) != 1:
            raise Conflict("the draft changed since you read it (row_version); read it again")
        await uow.commit()
        await s.refresh(row)
    return CataloguePublic.model_validate(row)


async def publish(ctx: Context, principal: Principal, catalogue_id: str) -> CataloguePublic:
    async with ctx.runtime.uow() as uow:
        s = uow.session
        row = await s.get(CatalogueRow, catalogue_id)
        if row is None:
            raise NotFound(f"catalogue {catalogue_id} does not exist")
        done = await s.execute(
            update(CatalogueRow)
            .where(col(CatalogueRow.id) == catalogue_id, col(CatalogueRow.status) == "draft")
            .values(
                status="published", published_by=principal.sub, published_at=utcnow(), row_version=row.row_version + 1
            )
        )
        if rowcount(done) != 1:
            raise Conflict(f"catalogue {row.year} v{row.version} is already published")
        await uow.commit()
        await s.refresh(row)
    return CataloguePublic.model_validate(row)


def default_catalogue() -> CatalogueContent:
    return content_of(DEFAULT_CATALOGUE)
