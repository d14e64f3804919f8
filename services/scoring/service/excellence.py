"""Appraisals and excellence, the year's rules and records: year policies, three-rater
appraisals and key-post special appraisals. (Unit ratings, pool grants and the excellence
ratings within quotas: quotas.py.)"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, field_error
from cadrekit.roster_mirror import await_references, get_unit
from cadrekit.scope import Scope
from services.scoring.domain.appraisal import (
    DEFAULT_WEIGHTS,
    RATERS,
    Appraisal,
    AppraisalError,
    check_rating,
    check_weights,
)
from services.scoring.domain.quotas import DEFAULT_EXCELLENCE_RATIOS, DEFAULT_UNIT_RATING
from services.scoring.models import AppraisalRow, KeyPost, KeyPostAppraisal, YearPolicy, mirror
from services.scoring.schemas.excellence import (
    AchievementsPublic,
    AppraisalIn,
    AppraisalPublic,
    AppraisalView,
    KeyPostAppraisalIn,
    KeyPostAppraisalPublic,
    KeyPostIn,
    KeyPostPublic,
    PolicyIn,
    PolicyPublic,
)
from services.scoring.service.context import Context, check_year, known_cadre
from services.scoring.service.quotas import granted_from_pool

# ---- year policy ---------------------------------------------------------------------


def policy_public(year: int, row: YearPolicy | None) -> PolicyPublic:
    weights = (
        row.appraisal_weights if row and row.appraisal_weights else {k: str(v) for k, v in DEFAULT_WEIGHTS.items()}
    )
    ratios = (
        row.excellence_ratios
        if row and row.excellence_ratios
        else {k: str(v) for k, v in DEFAULT_EXCELLENCE_RATIOS.items()}
    )
    return PolicyPublic(
        year=year,
        appraisal_weights=weights,
        excellence_ratios=ratios,
        default_unit_rating=DEFAULT_UNIT_RATING,
        incentive_pool=row.incentive_pool if row else 0,
        second_line_reserved=row.second_line_reserved if row else 0,
        defaults=row is None,
        version=row.version if row else 0,
    )


async def policy(ctx: Context, year: int) -> PolicyPublic:
    check_year(year)
    async with ctx.runtime.sessions() as s:
        return policy_public(year, await s.get(YearPolicy, year))


async def set_policy(ctx: Context, principal: Principal, year: int, body: PolicyIn) -> PolicyPublic:
    check_year(year)
    try:
        weights = check_weights(body.appraisal_weights) if body.appraisal_weights else dict(DEFAULT_WEIGHTS)
    except AppraisalError as exc:
        raise field_error(exc.field, exc.message) from None
    ratios = body.excellence_ratios or dict(DEFAULT_EXCELLENCE_RATIOS)
    for k, v in ratios.items():
        if not Decimal(0) <= Decimal(v) <= Decimal(1):
            raise field_error(f"excellence_ratios.{k}", "a share between 0 and 1")
    async with ctx.runtime.uow() as uow:
        s = uow.session
        row = await s.get(YearPolicy, year)
        granted = await granted_from_pool(s, year)
        pool = body.incentive_pool if body.incentive_pool is not None else (row.incentive_pool if row else 0)
        if pool < granted:
            raise field_error("incentive_pool", f"{granted} quotas are already granted from the pool")
        reserved = body.second_line_reserved
        if reserved is None:
            reserved = row.second_line_reserved if row else 0
        if row is None:
            row = YearPolicy(year=year, updated_by=principal.sub)
            s.add(row)
        else:
            row.version += 1
        row.appraisal_weights = {k: str(v) for k, v in weights.items()}
        row.excellence_ratios = {k: str(Decimal(v)) for k, v in ratios.items()}
        row.incentive_pool, row.second_line_reserved = pool, reserved
        row.updated_by, row.updated_at = principal.sub, utcnow()
        await uow.commit()
        return policy_public(year, row)


def _weights(row: YearPolicy | None) -> dict[str, Decimal]:
    if row is None or not row.appraisal_weights:
        return dict(DEFAULT_WEIGHTS)
    return {k: Decimal(v) for k, v in row.appraisal_weights.items()}


# ---- appraisals ----------------------------------------------------------------------


def appraisal_public(a: AppraisalRow) -> AppraisalPublic:
    visible = {k: Decimal(v) for k, v in a.visible.items()}
    latent = {k: Decimal(v) for k, v in a.latent.items()}
    return AppraisalPublic(
        cadre_id=a.cadre_id,
        year=a.year,
        ratings={r: getattr(a, r) for r in RATERS},
        weights=a.weights,
        weighted=a.weighted,
        visible_achievements=AchievementsPublic(indicators=a.visible, mean=Appraisal.mean(visible)),
        latent_achievements=AchievementsPublic(indicators=a.latent, mean=Appraisal.mean(latent)),
        recorded_by=a.recorded_by,
        recorded_at=a.recorded_at,
        version=a.version,
    )


async def record_appraisal(
    ctx: Context, principal: Principal, year: int, cadre_id: str, body: AppraisalIn
) -> AppraisalPublic:
    check_year(year)
    try:
        ratings = {r: check_rating(f"ratings.{r}", getattr(body.ratings, r)) for r in RATERS}
        visible = {k: check_rating(f"visible.{k}", v) for k, v in body.visible.items()}
        latent = {k: check_rating(f"latent.{k}", v) for k, v in body.latent.items()}
    except AppraisalError as exc:
        raise field_error(exc.field, exc.message) from None
    overlap = set(visible) & set(latent)
    if overlap:
        raise field_error("latent", f"an indicator is visible or latent, not both: {', '.join(sorted(overlap))}")
    async with ctx.runtime.uow() as uow:
        s = uow.session
        await known_cadre(ctx, s, cadre_id, for_input=False)
        weights = _weights(await s.get(YearPolicy, year))
        party, public, organization = ratings["party_committee"], ratings["public"], ratings["organization"]
        weighted = Appraisal(party, public, organization, {}, {}).weighted(weights)
        row = await s.get(AppraisalRow, (cadre_id, year))
        if row is None:
            row = AppraisalRow(
                cadre_id=cadre_id,
                year=year,
                party_committee=party,
                public=public,
                organization=organization,
                weighted=weighted,
                recorded_by=principal.sub,
            )
            s.add(row)
        else:
            row.party_committee, row.public, row.organization = party, public, organization
            row.version += 1
        row.weighted = weighted
        row.weights = {k: str(v) for k, v in weights.items()}
        row.visible = {k: str(v) for k, v in visible.items()}
        row.latent = {k: str(v) for k, v in latent.items()}
        row.recorded_by, row.recorded_at = principal.sub, utcnow()
        await uow.commit()
        return appraisal_public(row)


async def appraisal_view(ctx: Context, year: int, cadre_id: str) -> AppraisalView:
    """The ordinary appraisal with the key-post special appraisals beside it."""
    async with ctx.runtime.sessions() as s:
        await known_cadre(ctx, s, cadre_id, for_input=False)
        row = await s.get(AppraisalRow, (cadre_id, year))
        specials = (
            await s.execute(
                select(KeyPostAppraisal, KeyPost)
                .join(KeyPost, col(KeyPost.id) == col(KeyPostAppraisal.key_post_id))
                .where(col(KeyPostAppraisal.cadre_id) == cadre_id, col(KeyPostAppraisal.year) == year)
            )
        ).all()
    return AppraisalView(
        cadre_id=cadre_id,
        year=year,
        appraisal=None if row is None else appraisal_public(row),
        key_post_appraisals=[key_post_appraisal_public(a, p) for a, p in specials],
    )


# ---- key posts -------------------------------------------------------------------------


def key_post_appraisal_public(a: KeyPostAppraisal, p: KeyPost) -> KeyPostAppraisalPublic:
    return KeyPostAppraisalPublic(
        id=a.id,
        key_post=KeyPostPublic.model_validate(p),
        cadre_id=a.cadre_id,
        year=a.year,
        special_assessment=a.special_assessment,
        inspection=a.inspection,
        audit=a.audit,
        note=a.note,
        recorded_by=a.recorded_by,
        recorded_at=a.recorded_at,
    )


async def create_key_post(ctx: Context, principal: Principal, body: KeyPostIn) -> KeyPostPublic:
    await await_references(ctx.runtime, mirror, units={"unit_id": body.unit_id})
    async with ctx.runtime.uow() as uow:
        s = uow.session
        if await get_unit(s, mirror, body.unit_id) is None:
            raise field_error("unit_id", f"no unit {body.unit_id} is known to scoring")
        post = KeyPost(title=body.title, unit_id=body.unit_id, created_by=principal.sub)
        s.add(post)
        await uow.commit()
        return KeyPostPublic.model_validate(post)


async def list_key_posts(ctx: Context, scope: Scope, unit_id: str | None) -> list[KeyPostPublic]:
    stmt = select(KeyPost).where(scope.clause(col(KeyPost.unit_id))).order_by(col(KeyPost.created_at), col(KeyPost.id))
    if unit_id:
        stmt = stmt.where(col(KeyPost.unit_id) == unit_id)
    async with ctx.runtime.sessions() as s:
        return [KeyPostPublic.model_validate(p) for p in (await s.execute(stmt)).scalars()]


async def record_key_post_appraisal(
    ctx: Context, principal: Principal, post_id: str, body: KeyPostAppraisalIn
) -> KeyPostAppraisalPublic:
    year = check_year(body.year)
    await await_references(ctx.runtime, mirror, cadres={"cadre_id": body.cadre_id})
    async with ctx.runtime.uow() as uow:
        s = uow.session
        post = await s.get(KeyPost, post_id)
        if post is None:
            raise NotFound(f"key post {post_id} does not exist")
        await known_cadre(ctx, s, body.cadre_id)
        exists = (
            await s.execute(
                select(col(KeyPostAppraisal.id)).where(
                    col(KeyPostAppraisal.key_post_id) == post_id,
                    col(KeyPostAppraisal.cadre_id) == body.cadre_id,
                    col(KeyPostAppraisal.year) == year,
                )
            )
        ).first()
        if exists:
            raise Conflict(f"this key post's {year} special appraisal of the cadre is already recorded")
        a = KeyPostAppraisal(
            key_post_id=post_id,
            cadre_id=body.cadre_id,
            year=year,
            special_assessment=body.special_assessment,
            inspection=body.inspection,
            audit=body.audit,
            note=body.note,
            recorded_by=principal.sub,
        )
        s.add(a)
        await uow.commit()
        return key_post_appraisal_public(a, post)
