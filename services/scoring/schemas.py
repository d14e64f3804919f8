"""Request bodies of the scoring API (responses are documented by example in the README)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Id = Field(min_length=1, max_length=36)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refused here as a 422 naming the field, not a 500 there.
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class CategoryIn(Body):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    direction: Literal["positive", "negative"]
    default: bool = False


class RuleIn(Body):
    code: str = Field(min_length=1, max_length=30)
    category: str = Field(min_length=1, max_length=30)
    direction: Literal["positive", "negative"] | None = None
    points: Decimal = Field(max_digits=6, decimal_places=2)
    cap_per_year: Decimal | None = Field(default=None, max_digits=6, decimal_places=2)
    description: str = Field(default="", max_length=500)
    sanction_kind: str | None = Field(default=None, max_length=30)
    default: bool = False


class CatalogueIn(Body):
    categories: list[CategoryIn] | None = Field(default=None, max_length=50)
    rules: list[RuleIn] | None = Field(default=None, max_length=500)
    impact_months: dict[str, int] | None = None
    note: str | None = Field(default=None, max_length=2000)


class CatalogueEdit(Body):
    categories: list[CategoryIn] = Field(max_length=50)
    rules: list[RuleIn] = Field(max_length=500)
    impact_months: dict[str, int] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=2000)
    row_version: int = Field(ge=1, description="the row_version you read; a stale one is refused")


class EntryIn(Body):
    cadre_id: str = Id
    rule_code: str = Field(min_length=1, max_length=30)
    year: int
    occurred_on: dt.date
    evidence: str = Field(default="", max_length=5000)
    reference: str | None = Field(
        default=None, max_length=200, description="document number; the theme of a special reward"
    )


class Decision(Body):
    note: str | None = Field(default=None, max_length=2000)


class ReversalIn(Body):
    reason: str = Field(min_length=1, max_length=2000)


class WaiverIn(Body):
    reference: str = Field(min_length=1, max_length=200, description="the fault-tolerance decision's document number")
    reason: str = Field(min_length=1, max_length=2000)


class RestatementIn(Body):
    year: int
    version: int = Field(ge=1)
    apply: bool = False
    expected_difference: Decimal | None = Field(
        default=None,
        max_digits=8,
        decimal_places=2,
        description="the difference the preview showed; refused if it moved",
    )


class PolicyIn(Body):
    appraisal_weights: dict[str, Decimal] | None = None
    excellence_ratios: dict[str, Decimal] | None = None
    incentive_pool: int | None = Field(default=None, ge=0, le=100000)
    second_line_reserved: int | None = Field(default=None, ge=0, le=100000)


class Ratings(Body):
    party_committee: Decimal = Field(max_digits=5, decimal_places=2)
    public: Decimal = Field(max_digits=5, decimal_places=2)
    organization: Decimal = Field(max_digits=5, decimal_places=2)


class AppraisalIn(Body):
    ratings: Ratings
    visible: dict[str, Decimal] = Field(default_factory=dict, description="visible achievements (显绩), 0–100 each")
    latent: dict[str, Decimal] = Field(default_factory=dict, description="latent achievements (潜绩), 0–100 each")


class KeyPostIn(Body):
    title: str = Field(min_length=1, max_length=200)
    unit_id: str = Id


class KeyPostAppraisalIn(Body):
    cadre_id: str = Id
    year: int
    special_assessment: str = Field(min_length=1, max_length=200)
    inspection: str = Field(min_length=1, max_length=200)
    audit: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class UnitRatingIn(Body):
    rating: str = Field(min_length=1, max_length=20)


class GrantIn(Body):
    unit_id: str = Id
    count: int = Field(ge=1, le=1000)
    reason: str = Field(min_length=1, max_length=2000)


class ProposeIn(Body):
    unit_id: str | None = Field(default=None, max_length=36)
