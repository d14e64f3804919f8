"""A campaign's pool: drawn by a filter over the roster mirror or by a list of cadre ids, each
member with its exclusion as of now (queries.evaluate_pool)."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.errors import Invalid, field_error
from cadrekit.roster_mirror import MirroredCadre, await_references, get_unit, list_cadres
from cadrekit.scope import WHOLE_TREE, Scope
from services.matching.models import Campaign, PoolMember, mirror
from services.matching.schemas.campaigns import ExcludedPublic, PoolMemberPublic, PoolPublic, PoolRequest
from services.matching.service.campaigns import claim, require_status
from services.matching.service.context import Context
from services.matching.service.queries import PoolState, cadres_by_id, campaign_of, evaluate_pool, members_of


def pool_public(c: Campaign, state: PoolState, scope: Scope) -> PoolPublic:
    """The members in scope; one no longer in the roster has no unit, so only a token for
    the whole tree sees it."""
    return PoolPublic(
        campaign_id=c.id,
        eligible=[
            PoolMemberPublic(cadre_id=mb.cadre_id, name=mb.name, unit_id=cadre.unit_id, ranking=mb.ranking)
            for mb, cadre in scope.keep(state.eligible, lambda e: e[1].unit_id)
        ],
        excluded=[
            ExcludedPublic(cadre_id=mb.cadre_id, name=mb.name, reason=why.reason, detail=why.detail)
            for mb, why in scope.keep(state.excluded, lambda e: state.unit_of.get(e[0].cadre_id))
        ],
    )


async def set_pool(ctx: Context, principal: Principal, campaign_id: str, body: PoolRequest) -> PoolPublic:
    await await_references(
        ctx.runtime,
        mirror,
        units={"filter.unit_id": body.filter.unit_id if body.filter else None},
        cadres={f"cadre_ids[{n}]": cid for n, cid in enumerate(body.cadre_ids or [])},
    )
    async with ctx.uow() as uow:
        s = uow.session
        c = await campaign_of(s, campaign_id, lock=True)
        require_status(c, ("draft", "open"), "drawing the pool")
        chosen: list[MirroredCadre]
        if body.cadre_ids is not None:
            ids = body.cadre_ids
            seen: set[str] = set()
            errors = []
            for n, cid in enumerate(ids):
                if cid in seen:
                    errors.append({"field": f"cadre_ids[{n}]", "message": "listed twice"})
                seen.add(cid)
            found = await cadres_by_id(s, ids)
            errors += [
                {"field": f"cadre_ids[{n}]", "message": "unknown cadre (not in the roster)"}
                for n, cid in enumerate(ids)
                if cid not in found
            ]
            if errors:
                raise Invalid(f"{len(errors)} cadre ids are invalid", errors=errors)
            chosen = [found[cid] for cid in ids]
        else:
            f = body.filter
            assert f is not None  # PoolRequest holds exactly one of the two
            if f.unit_id and await get_unit(s, mirror, f.unit_id) is None:
                raise field_error("filter.unit_id", "unknown unit (not in the roster)")
            chosen = await list_cadres(s, mirror, unit_id=f.unit_id, leadership_status=f.leadership_status)
        old = {mb.cadre_id: mb.ranking for mb in await members_of(s, c.id)}
        await s.execute(delete(PoolMember).where(col(PoolMember.campaign_id) == c.id))
        rows = [
            {"campaign_id": c.id, "cadre_id": cd.cadre_id, "name": cd.name, "ranking": old.get(cd.cadre_id)}
            for cd in sorted(chosen, key=lambda x: x.cadre_id)
        ]
        for i in range(0, len(rows), 1000):
            await s.execute(insert(PoolMember), rows[i : i + 1000])
        state = await evaluate_pool(s, c)
        if state.excluded:
            t = PoolMember.__table__  # type: ignore[attr-defined]
            await s.execute(
                update(t)
                .where(t.c.campaign_id == c.id, t.c.cadre_id == bindparam("cid"))
                .values(excluded=bindparam("reason"), excluded_detail=bindparam("detail")),
                [{"cid": mb.cadre_id, "reason": why.reason, "detail": why.detail[:300]} for mb, why in state.excluded],
            )
        await claim(s, c, c.version)
        await uow.commit()
        return pool_public(c, state, WHOLE_TREE)  # drawing the pool needs a token for the whole tree


async def get_pool(ctx: Context, campaign_id: str, scope: Scope) -> PoolPublic:
    async with ctx.uow() as uow:
        c = await campaign_of(uow.session, campaign_id)
        return pool_public(c, await evaluate_pool(uow.session, c), scope)
