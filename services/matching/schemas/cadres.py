"""A cadre's confirmed placements."""

from __future__ import annotations

import datetime as dt

from cadrekit.schemas import ReadModel


class PlacementPublic(ReadModel):
    campaign_id: str
    campaign_name: str
    year: int
    post_id: str
    post_title: str
    host_unit_id: str
    post_kind: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    confirmed_at: dt.datetime


class CadrePlacements(ReadModel):
    cadre_id: str
    items: list[PlacementPublic]
