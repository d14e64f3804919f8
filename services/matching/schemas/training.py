"""Training campaigns: tutors, plans, inspections and the growth index."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from cadrekit.schemas import NO_NUL, Id, Name, ReadModel, Reason, Strict


class TutorAssign(Strict):
    tutor_id: Id
    reason: Reason | None = None


class TutorPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    tutor_id: str
    reason: str | None
    assigned_by: str
    assigned_at: dt.datetime


class TutorSuggestion(ReadModel):
    cadre_id: str
    name: str
    field_match: bool
    years_of_service: int
    proximity: int


class PlanIn(Strict):
    duties: list[Name] = Field(min_length=1, max_length=50)
    goals: list[Name] = Field(min_length=1, max_length=50)
    starts_on: dt.date
    ends_on: dt.date

    @model_validator(mode="after")
    def _period(self) -> PlanIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class PlanPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    tutor_id: str
    duties: list[str]
    goals: list[str]
    starts_on: dt.date
    ends_on: dt.date
    version: int
    agreed_by: str
    updated_at: dt.datetime


Mark = Annotated[int, Field(ge=0, le=100)]


class RatingIn(Strict):
    role: Literal["tutor", "host_unit", "public"]
    rater: Name
    performance: Mark
    adaptation: Mark


class InspectionIn(Strict):
    inspected_on: dt.date
    ratings: list[RatingIn] = Field(min_length=1, max_length=100)
    notes: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] | None = None


class InspectionPublic(ReadModel):
    id: str
    campaign_id: str
    trainee_id: str
    inspected_on: dt.date
    ratings: list[dict[str, Any]]
    notes: str | None
    score: str
    recorded_by: str
    recorded_at: dt.datetime


class GrowthPublic(ReadModel):
    campaign_id: str
    trainee_id: str
    value: str | None
    inspections: int
    weights: dict[str, Any]
    method: str
