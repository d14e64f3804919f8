"""Appraisals and excellence: year policies, three-rater appraisals, key-post special
appraisals, unit ratings, incentive-pool grants, and excellence ratings within quotas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.db import utcnow
from cadrekit.problems import Conflict, NotFound, field_error
from cadrekit.roster_mirror import get_unit, list_cadres
from cadrekit.scope import Scope
from services.scoring import events
from services.scoring.domain.appraisal import (
    DEFAULT_WEIGHTS,
    RATERS,
    Appraisal,
    AppraisalError,
    check_rating,
    check_weights,
)
from services.scoring.domain.impact import excellence_verdict
from services.scoring.domain.money import ZERO, text
from services.scoring.domain.quotas import (
    DEFAULT_EXCELLENCE_RATIOS,
    DEFAULT_UNIT_RATING,
    RESERVE_SOURCE,
    UNIT_SOURCE,
    Candidate,
    propose,
    unit_quota,
)
from services.scoring.models import (
    AppraisalRow,
    Entry,
    KeyPost,
    KeyPostAppraisal,
    QuotaGrant,
    Rating,
    Total,
    UnitRating,
    YearPolicy,
    mirror,
)
from services.scoring.scoring import Scoring, check_year, known_cadre, unit_of_record
from services.scoring.views import periods_of

CENTRAL_WORK = "central_work"


# ---- year policy ---------------------------------------------------------------------


def policy_public(year: int, row: YearPolicy | None) -> dict[str, Any]:
    weights = (
        row.appraisal_weights if row and row.appraisal_weights else {k: str(v) for k, v in DEFAULT_WEIGHTS.items()}
    )
    ratios = (
        row.excellence_ratios
        if row and row.excellence_ratios
        else {k: str(v) for k, v in DEFAULT_EXCELLENCE_RATIOS.items()}
    )
    return {
        "year": year,
        "appraisal_weights": weights,
        "excellence_ratios": ratios,
        "default_unit_rating": DEFAULT_UNIT_RATING,
        "incentive_pool": row.incentive_pool if row else 0,
        "second_line_reserved": row.second_line_reserved if row else 0,
        "defaults": row is None,
        "version": row.version if row else 0,
    }


async def policy(sc: Scoring, year: int) -> dict[str, Any]:
    check_year(year)
    async with sc.runtime.sessions() as s:
        return policy_public(year, await s.get(YearPolicy, year))


async def set_policy(sc: Scoring, who: Principal, year: int, body: dict[str, Any]) -> dict[str, Any]:
    check_year(year)
    try:
        weights = check_weights(body["appraisal_weights"]) if body.get("appraisal_weights") else dict(DEFAULT_WEIGHTS)
    except AppraisalError as exc:
        raise field_error(exc.field, exc.message) from None
    ratios = body.get("excellence_ratios") or dict(DEFAULT_EXCELLENCE_RATIOS)
    for k, v in ratios.items():
        if not Decimal(0) <= Decimal(v) <= Decimal(1):
            raise field_error(f"excellence_ratios.{k}", "a share between 0 and 1")
    async with sc.runtime.uow() as uow:
        s = uow.session
        row = await s.get(YearPolicy, year)
        granted = await _granted(s, year)
        pool = body.get("incentive_pool", row.incentive_pool if row else 0)
        if pool < granted:
            raise field_error("incentive_pool", f"{granted} quotas are already granted from the pool")
        values = {
            "appraisal_weights": {k: str(v) for k, v in weights.items()},
            "excellence_ratios": {k: str(Decimal(v)) for k, v in ratios.items()},
            "incentive_pool": pool,
            "second_line_reserved": body.get("second_line_reserved", row.second_line_reserved if row else 0),
            "updated_by": who.sub,
            "updated_at": utcnow(),
        }
        if row is None:
            row = YearPolicy(year=year, **values)
            s.add(row)
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.version += 1
        await uow.commit()
        return policy_public(year, row)


def _weights(row: YearPolicy | None) -> dict[str, Decimal]:
    if row is None or not row.appraisal_weights:
        return dict(DEFAULT_WEIGHTS)
    return {k: Decimal(v) for k, v in row.appraisal_weights.items()}


def _ratios(row: YearPolicy | None) -> dict[str, Decimal]:
    if row is None or not row.excellence_ratios:
        return dict(DEFAULT_EXCELLENCE_RATIOS)
    return {k: Decimal(v) for k, v in row.excellence_ratios.items()}


# ---- appraisals ----------------------------------------------------------------------


def appraisal_public(a: AppraisalRow) -> dict[str, Any]:
    visible = {k: Decimal(v) for k, v in a.visible.items()}
    latent = {k: Decimal(v) for k, v in a.latent.items()}
    vm, lm = Appraisal.mean(visible), Appraisal.mean(latent)
    return {
        "cadre_id": a.cadre_id,
        "year": a.year,
        "ratings": {r: text(getattr(a, r)) for r in RATERS},
        "weights": a.weights,
        "weighted": text(a.weighted),
        "visible_achievements": {"indicators": a.visible, "mean": None if vm is None else text(vm)},
        "latent_achievements": {"indicators": a.latent, "mean": None if lm is None else text(lm)},
        "recorded_by": a.recorded_by,
        "recorded_at": a.recorded_at,
        "version": a.version,
    }


async def record_appraisal(sc: Scoring, who: Principal, year: int, cadre_id: str, body: dict[str, Any]) -> dict:
    check_year(year)
    try:
        ratings = {r: check_rating(f"ratings.{r}", body["ratings"][r]) for r in RATERS}
        visible = {k: check_rating(f"visible.{k}", v) for k, v in (body.get("visible") or {}).items()}
        latent = {k: check_rating(f"latent.{k}", v) for k, v in (body.get("latent") or {}).items()}
    except AppraisalError as exc:
        raise field_error(exc.field, exc.message) from None
    overlap = set(visible) & set(latent)
    if overlap:
        raise field_error("latent", f"an indicator is visible or latent, not both: {', '.join(sorted(overlap))}")
    async with sc.runtime.uow() as uow:
        s = uow.session
        await known_cadre(sc, s, cadre_id, for_input=False)
        weights = _weights(await s.get(YearPolicy, year))
        weighted = Appraisal(ratings["party_committee"], ratings["public"], ratings["organization"], {}, {}).weighted(
            weights
        )
        row = await s.get(AppraisalRow, (cadre_id, year))
        values: dict[str, Any] = {
            **ratings,
            "weighted": weighted,
            "weights": {k: str(v) for k, v in weights.items()},
            "visible": {k: str(v) for k, v in visible.items()},
            "latent": {k: str(v) for k, v in latent.items()},
            "recorded_by": who.sub,
            "recorded_at": utcnow(),
        }
        if row is None:
            row = AppraisalRow(cadre_id=cadre_id, year=year, **values)
            s.add(row)
        else:
            for k, v in values.items():
                setattr(row, k, v)
            row.version += 1
        await uow.commit()
        return appraisal_public(row)


async def appraisal_view(sc: Scoring, year: int, cadre_id: str) -> dict[str, Any]:
    """The ordinary appraisal with the key-post special appraisals beside it."""
    async with sc.runtime.sessions() as s:
        await known_cadre(sc, s, cadre_id, for_input=False)
        row = await s.get(AppraisalRow, (cadre_id, year))
        specials = (
            await s.execute(
                select(KeyPostAppraisal, KeyPost)
                .join(KeyPost, col(KeyPost.id) == col(KeyPostAppraisal.key_post_id))
                .where(col(KeyPostAppraisal.cadre_id) == cadre_id, col(KeyPostAppraisal.year) == year)
            )
        ).all()
    return {
        "cadre_id": cadre_id,
        "year": year,
        "appraisal": None if row is None else appraisal_public(row),
        "key_post_appraisals": [key_post_appraisal_public(a, p) for a, p in specials],
    }


# ---- key posts -------------------------------------------------------------------------


def key_post_public(p: KeyPost) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "unit_id": p.unit_id, "created_by": p.created_by, "created_at": p.created_at}


def key_post_appraisal_public(a: KeyPostAppraisal, p: KeyPost) -> dict[str, Any]:
    return {
        "id": a.id,
        "key_post": key_post_public(p),
        "cadre_id": a.cadre_id,
        "year": a.year,
        "special_assessment": a.special_assessment,
        "inspection": a.inspection,
        "audit": a.audit,
        "note": a.note,
        "recorded_by": a.recorded_by,
        "recorded_at": a.recorded_at,
    }


async def create_key_post(sc: Scoring, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
    async with sc.runtime.uow() as uow:
        s = uow.session
        if await get_unit(s, mirror, body["unit_id"]) is None:
            raise field_error("unit_id", f"no unit {body['unit_id']} is known to scoring")
        post = KeyPost(title=body["title"], unit_id=body["unit_id"], created_by=who.sub)
        s.add(post)
        await uow.commit()
        return key_post_public(post)


async def list_key_posts(sc: Scoring, scope: Scope, unit_id: str | None) -> list[dict[str, Any]]:
    stmt = select(KeyPost).where(scope.clause(col(KeyPost.unit_id))).order_by(col(KeyPost.created_at), col(KeyPost.id))
    if unit_id:
        stmt = stmt.where(col(KeyPost.unit_id) == unit_id)
    async with sc.runtime.sessions() as s:
        return [key_post_public(p) for p in (await s.execute(stmt)).scalars()]


async def record_key_post_appraisal(sc: Scoring, who: Principal, post_id: str, body: dict[str, Any]) -> dict:
    year = check_year(body["year"])
    async with sc.runtime.uow() as uow:
        s = uow.session
        post = await s.get(KeyPost, post_id)
        if post is None:
            raise NotFound(f"key post {post_id} does not exist")
        await known_cadre(sc, s, body["cadre_id"])
        exists = (
            await s.execute(
                select(col(KeyPostAppraisal.id)).where(
                    col(KeyPostAppraisal.key_post_id) == post_id,
                    col(KeyPostAppraisal.cadre_id) == body["cadre_id"],
                    col(KeyPostAppraisal.year) == year,
                )
            )
        ).first()
        if exists:
            raise Conflict(f"this key post's {year} special appraisal of the cadre is already recorded")
        a = KeyPostAppraisal(
            key_post_id=post_id,
            cadre_id=body["cadre_id"],
            year=year,
            special_assessment=body["special_assessment"],
            inspection=body["inspection"],
            audit=body["audit"],
            note=body.get("note"),
            recorded_by=who.sub,
        )
        s.add(a)
        await uow.commit()
        return key_post_appraisal_public(a, post)


# ---- unit ratings, pool grants, quotas ------------------------------------------------


async def set_unit_rating(sc: Scoring, who: Principal, year: int, unit_id: str, rating: str) -> dict[str, Any]:
    check_year(year)
    async with sc.runtime.uow() as uow:
        s = uow.session
        ratios = _ratios(await s.get(YearPolicy, year))
        if rating not in ratios:
            raise field_error("rating", f"one of {', '.join(ratios)} (the {year} excellence ratio table)")
        if await get_unit(s, mirror, unit_id) is None:
            raise NotFound(f"no unit {unit_id} is known to scoring")
        row = await s.get(UnitRating, (year, unit_id))
        if row is None:
            row = UnitRating(year=year, unit_id=unit_id, rating=rating, set_by=who.sub)
            s.add(row)
        else:
            row.rating, row.set_by, row.set_at = rating, who.sub, utcnow()
        await uow.commit()
    return {"year": year, "unit_id": unit_id, "rating": rating, "ratio": text(ratios[rating])}


async def _granted(s: AsyncSession, year: int, unit_id: str | None = None) -> int:
    stmt = select(func.coalesce(func.sum(QuotaGrant.count), 0)).where(col(QuotaGrant.year) == year)
    if unit_id is not None:
        stmt = stmt.where(col(QuotaGrant.unit_id) == unit_id)
    return int((await s.execute(stmt)).scalar_one())


async def grant_quota(sc: Scoring, who: Principal, year: int, body: dict[str, Any]) -> dict[str, Any]:
    check_year(year)
    async with sc.runtime.uow() as uow:
        s = uow.session
        # The policy row is the pool's lock: two grants at once cannot both take the last quota.
        row = (
            await s.execute(select(YearPolicy).where(col(YearPolicy.year) == year).with_for_update())
        ).scalar_one_or_none()
        pool = row.incentive_pool if row else 0
        if await get_unit(s, mirror, body["unit_id"]) is None:
            raise field_error("unit_id", f"no unit {body['unit_id']} is known to scoring")
        granted = await _granted(s, year)
        if granted + body["count"] > pool:
            raise field_error(
                "count", f"the {year} incentive pool holds {pool}; {granted} granted, {pool - granted} left"
            )
        g = QuotaGrant(
            year=year, unit_id=body["unit_id"], count=body["count"], reason=body["reason"], granted_by=who.sub
        )
        s.add(g)
        await uow.commit()
        return {
            "id": g.id,
            "year": year,
            "unit_id": g.unit_id,
            "count": g.count,
            "reason": g.reason,
            "pool": pool,
            "pool_left": pool - granted - g.count,
        }


async def unit_quotas(s: AsyncSession, year: int, unit_ids: set[str]) -> dict[str, dict[str, Any]]:
    policy_row = await s.get(YearPolicy, year)
    ratios = _ratios(policy_row)
    out: dict[str, dict[str, Any]] = {}
    for unit_id in sorted(unit_ids):
        rating_row = await s.get(UnitRating, (year, unit_id))
        rating = rating_row.rating if rating_row else DEFAULT_UNIT_RATING
        headcount = len(await _members(s, unit_id))
        granted = await _granted(s, year, unit_id)
        out[unit_id] = {
            "unit_id": unit_id,
            "rating": rating,
            "ratio": text(ratios.get(rating, ZERO)),
            "headcount": headcount,
            "granted_from_pool": granted,
            "quota": unit_quota(headcount, ratios.get(rating, ZERO), granted),
        }
    return out


async def _members(s: AsyncSession, unit_id: str) -> list[Any]:
    c = mirror.cadres
    return list((await s.execute(select(c).where(c.c.unit_id == unit_id, c.c.status == "active"))).all())


# ---- ratings -----------------------------------------------------------------------------


def rating_public(r: Rating) -> dict[str, Any]:
    return {
        "cadre_id": r.cadre_id,
        "year": r.year,
        "unit_id": r.unit_id,
        "grade": r.grade,
        "source": r.source,
        "status": r.status,
        "proposed_by": r.proposed_by,
        "proposed_at": r.proposed_at,
        "confirmed_by": r.confirmed_by,
        "confirmed_at": r.confirmed_at,
    }


async def _candidates(s: AsyncSession, scope: Scope, year: int, unit_id: str | None) -> list[Candidate]:
    cadres = scope.keep(await list_cadres(s, mirror, unit_id=unit_id), lambda c: c.unit_id)
    ids = [c.cadre_id for c in cadres]
    appraisals = {
        a.cadre_id: a.weighted
        for a in (
            await s.execute(
                select(AppraisalRow).where(col(AppraisalRow.year) == year, col(AppraisalRow.cadre_id).in_(ids))
            )
        ).scalars()
    }
    totals = {
        t.cadre_id: t.total
        for t in (await s.execute(select(Total).where(col(Total.year) == year, col(Total.cadre_id).in_(ids)))).scalars()
    }
    central = set(
        (
            await s.execute(
                select(col(Entry.cadre_id)).where(
                    col(Entry.year) == year,
                    col(Entry.status) == "approved",
                    col(Entry.kind) == "award",
                    col(Entry.reversed_by_id).is_(None),
                    col(Entry.rule_code).in_(await _central_rule_codes(s, year)),
                )
            )
        ).scalars()
    )
    out = []
    for c in cadres:
        verdict = excellence_verdict(await periods_of(s, c.cadre_id), year)
        out.append(
            Candidate(
                c.cadre_id,
                c.unit_id,
                appraisals.get(c.cadre_id),
                totals.get(c.cadre_id, ZERO),
                verdict.reasons,
                c.leadership_status == "second_line" and c.cadre_id in central,
            )
        )
    return out


async def _central_rule_codes(s: AsyncSession, year: int) -> list[str]:
    from services.scoring.models import Catalogue as CatalogueRow

    rows = (await s.execute(select(CatalogueRow).where(col(CatalogueRow.year) == year))).scalars()
    return sorted({r["code"] for row in rows for r in row.rules if r["category"] == CENTRAL_WORK})


async def propose_ratings(sc: Scoring, who: Principal, scope: Scope, year: int, unit_id: str | None) -> dict[str, Any]:
    """Replace the year's unconfirmed proposals (for a unit's subtree, or all in scope) with
    new ones. Quotas are shown for the units in scope; the second-line reserve is the
    city's, so what other units already confirmed from it counts too."""
    check_year(year)
    async with sc.runtime.uow() as uow:
        s = uow.session
        if unit_id is not None and await get_unit(s, mirror, unit_id) is None:
            raise field_error("unit_id", f"no unit {unit_id} is known to scoring")
        candidates = await _candidates(s, scope, year, unit_id)
        confirmed = list(
            (
                await s.execute(select(Rating).where(col(Rating.year) == year, col(Rating.status) == "confirmed"))
            ).scalars()
        )
        done = {r.cadre_id for r in confirmed}
        candidates = [c for c in candidates if c.cadre_id not in done]
        quota_units = {c.unit_id for c in candidates} | {r.unit_id for r in scope.keep(confirmed, lambda r: r.unit_id)}
        quotas = await unit_quotas(s, year, quota_units)
        used = _used(confirmed)
        policy_row = await s.get(YearPolicy, year)
        reserve_left = (policy_row.second_line_reserved if policy_row else 0) - used.get(RESERVE_SOURCE, 0)
        proposals, passed = propose(
            candidates, {u: q["quota"] for u, q in quotas.items()}, max(reserve_left, 0), used=used
        )
        ids = [c.cadre_id for c in candidates]
        await s.execute(
            delete(Rating).where(
                col(Rating.year) == year, col(Rating.status) == "proposed", col(Rating.cadre_id).in_(ids)
            )
        )
        rows = [
            Rating(cadre_id=p.cadre_id, year=year, unit_id=p.unit_id, source=p.source, proposed_by=who.sub)
            for p in proposals
        ]
        s.add_all(rows)
        await uow.commit()
    return {
        "year": year,
        "quotas": list(quotas.values()),
        "second_line_reserve_left": max(reserve_left, 0) - sum(1 for p in proposals if p.source == RESERVE_SOURCE),
        "proposed": [rating_public(r) for r in rows],
        "not_proposed": [{"cadre_id": p.cadre_id, "unit_id": p.unit_id, "reason": p.reason} for p in passed],
    }


def _used(confirmed: list[Rating]) -> dict[str, int]:
    used: dict[str, int] = {}
    for r in confirmed:
        key = RESERVE_SOURCE if r.source == RESERVE_SOURCE else r.unit_id
        used[key] = used.get(key, 0) + 1
    return used


async def confirm_rating(sc: Scoring, who: Principal, year: int, cadre_id: str) -> dict[str, Any]:
    """Confirm a proposal, re-checking its quota and the cadre's impact periods now: both
    may have changed since the proposal."""
    check_year(year)
    async with sc.runtime.uow() as uow:
        s = uow.session
        policy_row = (
            await s.execute(select(YearPolicy).where(col(YearPolicy.year) == year).with_for_update())
        ).scalar_one_or_none()
        r = await s.get(Rating, (cadre_id, year))
        if r is None:
            raise NotFound(f"no {year} rating is proposed for cadre {cadre_id}")
        if r.status == "confirmed":
            raise Conflict(f"the {year} rating of cadre {cadre_id} is already confirmed", state="confirmed")
        verdict = excellence_verdict(await periods_of(s, cadre_id), year)
        if not verdict.eligible:
            raise Conflict("refused: " + "; ".join(verdict.reasons), reasons=verdict.reasons)
        confirmed = list(
            (
                await s.execute(select(Rating).where(col(Rating.year) == year, col(Rating.status) == "confirmed"))
            ).scalars()
        )
        used = _used(confirmed)
        if r.source == UNIT_SOURCE:
            quota = (await unit_quotas(s, year, {r.unit_id}))[r.unit_id]["quota"]
            if used.get(r.unit_id, 0) >= quota:
                raise Conflict(f"refused: unit {r.unit_id} has used its excellence quota of {quota}", quota=quota)
        else:
            reserve = policy_row.second_line_reserved if policy_row else 0
            if used.get(RESERVE_SOURCE, 0) >= reserve:
                raise Conflict(f"refused: the second-line reserve of {reserve} is used up", quota=reserve)
        r.status, r.confirmed_by, r.confirmed_at = "confirmed", who.sub, utcnow()
        uow.record(events.rating_confirmed(r))
        await uow.commit()
        return rating_public(r)


async def list_ratings(sc: Scoring, scope: Scope, year: int, status: str | None) -> list[dict[str, Any]]:
    stmt = (
        select(Rating)
        .where(col(Rating.year) == year, scope.clause(unit_of_record(col(Rating.cadre_id), col(Rating.unit_id))))
        .order_by(col(Rating.unit_id), col(Rating.cadre_id))
    )
    if status:
        stmt = stmt.where(col(Rating.status) == status)
    async with sc.runtime.sessions() as s:
        return [rating_public(r) for r in (await s.execute(stmt)).scalars()]
