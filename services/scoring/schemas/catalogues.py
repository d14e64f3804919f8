"""Request bodies and read models of ``api/catalogues.py``: the points catalogues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field, computed_field

from cadrekit.schemas import ReadModel, Strict
from services.scoring.schemas import JsonList


class CategoryIn(Strict):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    direction: Literal["positive", "negative"]
    default: bool = False


class RuleIn(Strict):
    code: str = Field(min_length=1, max_length=30)
    category: str = Field(min_length=1, max_length=30)
    direction: Literal["positive", "negative"] | None = None
    points: Decimal = Field(max_digits=6, decimal_places=2)
    cap_per_year: Decimal | None = Field(default=None, max_digits=6, decimal_places=2)
    description: str = Field(default="", max_length=500)
    sanction_kind: str | None = Field(default=None, max_length=30)
    default: bool = False


class CatalogueIn(Strict):
    categories: list[CategoryIn] | None = Field(default=None, max_length=50)
    rules: list[RuleIn] | None = Field(default=None, max_length=500)
    impact_months: dict[str, int] | None = None
    note: str | None = Field(default=None, max_length=2000)


class CatalogueEdit(Strict):
    categories: list[CategoryIn] = Field(max_length=50)
    rules: list[RuleIn] = Field(max_length=500)
    impact_months: dict[str, int] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2000)
    row_version: int = Field(ge=1, description="the row_version you read; a stale one is refused")


class CatalogueContent(ReadModel):
    categories: JsonList
    rules: JsonList
    impact_months: dict[str, int]


class CatalogueCounts(ReadModel):
    positive_categories: int
    negative_categories: int
    rules: int
    department_defaults: int


class CataloguePublic(ReadModel):
    id: str
    year: int
    version: int
    status: str
    categories: JsonList
    rules: JsonList
    impact_months: dict[str, int]
    note: str | None
    created_by: str
    created_at: dt.datetime
    published_by: str | None
    published_at: dt.datetime | None
    row_version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> CatalogueCounts:
        return CatalogueCounts(
            positive_categories=sum(1 for c in self.categories if c["direction"] == "positive"),
            negative_categories=sum(1 for c in self.categories if c["direction"] == "negative"),
            rules=len(self.rules),
            department_defaults=sum(1 for r in self.rules if r.get("default")),
        )
