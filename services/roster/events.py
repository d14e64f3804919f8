"""What roster publishes on ``roster.events`` (keyed by cadre id; units by unit id).

Events carry what subscribers need to act — ids, unit, birth date and gender for age
rules, the five dimensions — and never the ID number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cadrekit.events import Event
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, Unit

CADRE_REGISTERED = "roster.cadre.registered"
CADRE_UPDATED = "roster.cadre.updated"
CADRE_MOVED = "roster.cadre.moved"
CADRE_LEFT = "roster.cadre.left"
UNIT_CREATED = "roster.unit.created"
UNIT_UPDATED = "roster.unit.updated"

PUBLISHED_CADRE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "unit_id",
    "post_title",
    "rank",
    "party_member",
    "education",
    "years_of_service",
    "grassroots_periods",
    "grassroots_years",
    "strengths",
    "post_wishes",
    "professional_field",
    "willingness",
    "leadership_status",
    "health",
    "retirement_date",
    "status",
)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def cadre_state(cadre: Cadre) -> dict[str, Any]:
    return cadre_data(cadre.id, cadre.version, (_plain(getattr(cadre, f)) for f in PUBLISHED_CADRE_FIELDS))


def cadre_data(cadre_id: str, version: int, published: Iterable[Any]) -> dict[str, Any]:
    """A cadre event's state from the values of PUBLISHED_CADRE_FIELDS, in that order and
    already plain (dates as ISO text): bulk imports build it without a Cadre object."""
    data = dict(zip(PUBLISHED_CADRE_FIELDS, published, strict=True))
    data["cadre_id"] = cadre_id
    data["version"] = version
    return data


def unit_state(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "region": unit.region,
        "body": unit.body,
        "parent_id": unit.parent_id,
        "path": path_ids(unit.path),
        "version": unit.version,
    }


def cadre_registered(cadre: Cadre, *, snapshot: bool = False) -> Event:
    data = cadre_state(cadre)
    if snapshot:
        data["snapshot"] = True
    return Event(CADRE_REGISTERED, f"cadre/{cadre.id}", cadre.id, data)


def cadre_updated(cadre: Cadre, changed: dict[str, Any]) -> Event:
    data = {
        "cadre_id": cadre.id,
        "version": cadre.version,
        "unit_id": cadre.unit_id,
        "changed": {k: _plain(v) for k, v in changed.items() if k != "id_number"},
    }
    if "id_number" in changed:
        data["id_number_changed"] = True
    return Event(CADRE_UPDATED, f"cadre/{cadre.id}", cadre.id, data)


def cadre_moved(cadre: Cadre, from_unit: str, effective_on: Any, reason: str) -> Event:
    return Event(
        CADRE_MOVED,
        f"cadre/{cadre.id}",
        cadre.id,
        {
            "cadre_id": cadre.id,
            "version": cadre.version,
            "from_unit_id": from_unit,
            "to_unit_id": cadre.unit_id,
            "post_title": cadre.post_title,
            "effective_on": _plain(effective_on),
            "reason": reason,
        },
    )


def cadre_left(cadre: Cadre) -> Event:
    return Event(
        CADRE_LEFT,
        f"cadre/{cadre.id}",
        cadre.id,
        {
            "cadre_id": cadre.id,
            "version": cadre.version,
            "unit_id": cadre.unit_id,
            "kind": cadre.exit_kind,
            "date": _plain(cadre.exit_date),
        },
    )


def unit_created(unit: Unit, *, snapshot: bool = False) -> Event:
    data = unit_state(unit)
    if snapshot:
        data["snapshot"] = True
    return Event(UNIT_CREATED, f"unit/{unit.id}", unit.id, data)


def unit_updated(unit: Unit, changed: dict[str, Any]) -> Event:
    data = unit_state(unit)
    data["changed"] = changed
    return Event(UNIT_UPDATED, f"unit/{unit.id}", unit.id, data)
