"""Catalogue use cases: draft (from the default or the newest version), edit, publish.

A year has at most one draft; publishing gives it the next version number of the year and
freezes it. A correction is a new draft, published as a new version.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, Invalid, NotFound, field_error
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

# The routes of ``api/catalogues.py`` as the gateway exposes them (it forwards
# ``/api/v1/scoring/…`` unchanged), and the operator's command; named where a year lacks a
# published catalogue, so the caller learns how one comes to exist.
CATALOGUES = "/api/v1/scoring/catalogues"
DRAFT_CALL = "POST " + CATALOGUES + "/{year}/drafts"
PUBLISH_CALL = "POST " + CATALOGUES + "/{catalogue_id}/publish"
CLI_COMMAND = "cadre catalogues publish-default {year}"


async def none_published(s: AsyncSession, year: int) -> Invalid:
    """The refusal of a year with no published catalogue (field ``year``), in English and
    Chinese, naming the calls that publish one. Nothing is published for the caller: the
    catalogue is the department's decision, so the answer says who does what."""
    draft = (
        (
            await s.execute(
                select(CatalogueRow).where(col(CatalogueRow.year) == year, col(CatalogueRow.status) == "draft")
            )
        )
        .scalars()
        .first()
    )
    if draft is not None:
        publish = PUBLISH_CALL.format(catalogue_id=draft.id)
        return field_error(
            "year",
            f"no catalogue is published for {year}; its draft v{draft.version} ({draft.id}) waits for the cadre "
            f"office to check it and publish it with {publish}",
            zh=f"{year} 年度尚未发布积分规则目录；草稿 v{draft.version}（{draft.id}）待干部科核定后以 {publish} 发布",
            publish_with={"publish": publish},
        )
    draft_call, cli = DRAFT_CALL.format(year=year), CLI_COMMAND.format(year=year)
    return field_error(
        "year",
        f"no catalogue is published for {year}: the cadre office drafts one with {draft_call} (the default catalogue "
        f"unless the body gives the content), checks it and publishes it with {PUBLISH_CALL}; or an operator "
        f"publishes the default catalogue as it is with `{cli}`",
        zh=f"{year} 年度尚未发布积分规则目录：由干部科以 {draft_call} 起草（请求体不给内容即为默认目录），核定后以 "
        f"{PUBLISH_CALL} 发布；或由运维人员以 `{cli}` 按原样发布默认目录",
        publish_with={"draft": draft_call, "publish": PUBLISH_CALL, "cli": cli},
    )


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
