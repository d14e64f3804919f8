"""Tutor suggestions for training campaigns (练兵导师, seed 002: one tutor per trainee).

Ranked by field match (same professional field), then seniority (years of service),
then unit proximity (same unit, then the same parent unit, then the same region), then id.
Tutors cannot be trainees of the same campaign; a tutor already at the campaign's
capacity (one trainee unless the campaign allows more) is not suggested.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    cadre_id: str
    name: str
    professional_field: str | None
    years_of_service: int
    unit_id: str
    parent_unit_id: str | None
    region: str | None


def proximity(trainee: Person, tutor: Person) -> int:
    """3 same unit, 2 same parent unit, 1 same region, 0 otherwise."""
    if tutor.unit_id == trainee.unit_id:
        return 3
    if tutor.parent_unit_id is not None and tutor.parent_unit_id == trainee.parent_unit_id:
        return 2
    if tutor.region is not None and tutor.region == trainee.region:
        return 1
    return 0


def suggest(
    trainee: Person, candidates: Iterable[Person], *, excluded: set[str], limit: int = 10
) -> list[dict[str, object]]:
    ranked = []
    for t in candidates:
        if t.cadre_id == trainee.cadre_id or t.cadre_id in excluded:
            continue
        field = 1 if t.professional_field and t.professional_field == trainee.professional_field else 0
        near = proximity(trainee, t)
        ranked.append(((-field, -t.years_of_service, -near, t.cadre_id), t, field, near))
    ranked.sort(key=lambda x: x[0])
    return [
        {
            "cadre_id": t.cadre_id,
            "name": t.name,
            "field_match": bool(field),
            "years_of_service": t.years_of_service,
            "proximity": near,
        }
        for _, t, field, near in ranked[:limit]
    ]
