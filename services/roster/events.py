"""What roster publishes on ``roster.events`` (keyed by cadre id; units by unit id).

Events carry what subscribers need to act — ids, unit, birth date and gender for age
rules, the five dimensions — and never the ID number.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from cadrekit.events import Event
from services.roster.domain import registration
from services.roster.domain.registration import NEW_STATUS, NEW_VERSION, Registration
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, Unit

CADRE_REGISTERED = "roster.cadre.registered"
CADRE_UPDATED = "roster.cadre.updated"
CADRE_MOVED = "roster.cadre.moved"
CADRE_LEFT = "roster.cadre.left"
UNIT_CREATED = "roster.unit.created"
UNIT_UPDATED = "roster.unit.updated"

_ID = {"type": "string", "format": "uuid"}
_DATE = {"type": "string", "format": "date"}
_CADRE_STATE: dict[str, Any] = {
    "type": "object",
    "required": ["cadre_id", "version", "name", "unit_id", "status"],
    "properties": {
        "cadre_id": _ID,
        "version": {"type": "integer", "description": "grows with every change; apply only newer versions"},
        "name": {"type": "string"},
        "gender": {"enum": ["male", "female"]},
        "birth_date": _DATE,
        "unit_id": _ID,
        "post_title": {"type": ["string", "null"]},
        "rank": {"type": ["string", "null"]},
        "party_member": {"type": "boolean"},
        "education": {"type": ["string", "null"]},
        "years_of_service": {"type": ["integer", "null"]},
        "grassroots_periods": {"type": "array", "items": {"type": "object"}},
        "grassroots_years": {"type": "string"},
        "strengths": {"type": "array", "items": {"type": "string"}},
        "post_wishes": {"type": "array", "items": {"type": "string"}},
        "professional_field": {"type": ["string", "null"]},
        "willingness": {"type": "object"},
        "leadership_status": {"enum": ["in_post", "second_line", "non_leading"]},
        "health": {"type": "string"},
        "retirement_date": _DATE,
        "retirement_rule": {"type": "string", "description": "the rule that gave retirement_date, in words"},
        "retirement_rule_zh": {"type": "string", "description": "the same in Chinese"},
        "status": {"enum": ["active", "left"]},
        "snapshot": {"type": "boolean", "description": "true when re-published by a snapshot: an upsert"},
    },
}
_UNIT_STATE: dict[str, Any] = {
    "type": "object",
    "required": ["unit_id", "name", "kind", "path", "version"],
    "properties": {
        "unit_id": _ID,
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "region": {"type": ["string", "null"]},
        "body": {"type": ["string", "null"]},
        "parent_id": {"type": ["string", "null"]},
        "path": {"type": "array", "items": _ID, "description": "unit ids from the root down to the unit"},
        "version": {"type": "integer"},
        "changed": {"type": "object"},
        "snapshot": {"type": "boolean"},
    },
}

# The ``data`` of every event roster publishes, for the AsyncAPI document. No ID numbers.
SCHEMAS: dict[str, dict[str, Any]] = {
    "roster.cadre.registered": {"summary": "A cadre was registered (or re-published by a snapshot).", **_CADRE_STATE},
    "roster.cadre.updated": {
        "summary": "Fields of a cadre changed; `changed` holds the new values.",
        "type": "object",
        "required": ["cadre_id", "version", "unit_id", "changed"],
        "properties": {
            "cadre_id": _ID,
            "version": {"type": "integer"},
            "unit_id": _ID,
            "changed": {"type": "object"},
            "id_number_changed": {"type": "boolean"},
        },
    },
    "roster.cadre.moved": {
        "summary": "A cadre moved to another unit or post.",
        "type": "object",
        "required": ["cadre_id", "version", "from_unit_id", "to_unit_id"],
        "properties": {
            "cadre_id": _ID,
            "version": {"type": "integer"},
            "from_unit_id": _ID,
            "to_unit_id": _ID,
            "post_title": {"type": ["string", "null"]},
            "effective_on": _DATE,
            "reason": {"type": "string"},
        },
    },
    "roster.cadre.left": {
        "summary": "A cadre left the roster (retired, transferred out, deceased).",
        "type": "object",
        "required": ["cadre_id", "version", "kind", "date"],
        "properties": {
            "cadre_id": _ID,
            "version": {"type": "integer"},
            "unit_id": _ID,
            "kind": {"type": "string"},
            "date": _DATE,
        },
    },
    "roster.unit.created": {"summary": "A unit was created (keyed by unit id).", **_UNIT_STATE},
    "roster.unit.updated": {"summary": "A unit changed or moved (keyed by unit id).", **_UNIT_STATE},
}

# Everything roster publishes about a cadre: the fields a registration sets, in their order,
# except the retirement inputs (the date they give is published, with its rule), and the status.
_RETIREMENT_INPUTS = frozenset(
    {
        "retirement_category",
        "retirement_decision",
        "retirement_decision_on",
        "retirement_decided_on",
        "retirement_date_override",
        "retirement_law",
        "retirement_category_in_force",
    }
)
PUBLISHED_CADRE_FIELDS = (*(f for f in registration.FIELDS if f not in _RETIREMENT_INPUTS), "status")
_REGISTERED_FIELDS = PUBLISHED_CADRE_FIELDS[:-1]
_FROM_REGISTRATION = itemgetter(*(registration.FIELDS.index(f) for f in _REGISTERED_FIELDS))


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def cadre_state(cadre: Cadre) -> dict[str, Any]:
    return cadre_data(cadre.id, cadre.version, (_plain(getattr(cadre, f)) for f in PUBLISHED_CADRE_FIELDS))


def cadre_data(cadre_id: str, version: int, published: Iterable[Any]) -> dict[str, Any]:
    """A cadre event's state from the values of PUBLISHED_CADRE_FIELDS, in that order."""
    data = dict(zip(PUBLISHED_CADRE_FIELDS, published, strict=True))
    data["cadre_id"] = cadre_id
    data["version"] = version
    return data


def registered(cadre_id: str, new: Registration) -> Event:
    """The event of a registration, from the registration itself: ``POST /cadres`` and the
    import make it the same way. Dates stay dates; the outbox writes them as ISO text."""
    # cadre_data's shape and key order, built directly: the import makes one per row.
    state = dict(zip(_REGISTERED_FIELDS, _FROM_REGISTRATION(new)))  # noqa: B905 (equal by construction)
    state["status"], state["cadre_id"], state["version"] = NEW_STATUS, cadre_id, NEW_VERSION
    return Event(CADRE_REGISTERED, f"cadre/{cadre_id}", cadre_id, state)


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
