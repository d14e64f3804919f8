"""A cadre's confirmed placements, for the gateway's cadre profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from services.matching.models import Campaign, Placement, Post
from services.matching.schemas.cadres import CadrePlacements, PlacementPublic
from services.matching.service.context import Context


async def cadre_placements(ctx: Context, cadre_id: str) -> CadrePlacements:
    """Every confirmed placement of a cadre, newest year first."""
    async with ctx.uow() as uow:
        stmt = (
            select(Placement, col(Campaign.name), col(Post.title), col(Post.host_unit_id))
            .join(Campaign, col(Campaign.id) == Placement.campaign_id)
            .join(Post, col(Post.id) == Placement.post_id)
            .where(col(Placement.cadre_id) == cadre_id)
            .order_by(col(Placement.year).desc(), col(Placement.confirmed_at).desc())
        )
        items = [
            PlacementPublic(
                campaign_id=p.campaign_id,
                campaign_name=name,
                year=p.year,
                post_id=p.post_id,
                post_title=title,
                host_unit_id=host,
                post_kind=p.post_kind,
                starts_on=p.starts_on,
                ends_on=p.ends_on,
                confirmed_at=p.confirmed_at,
            )
            for p, name, title, host in (await uow.session.execute(stmt.limit(500))).all()
        ]
        return CadrePlacements(cadre_id=cadre_id, items=items)
