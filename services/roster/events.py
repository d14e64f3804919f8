"""Roster's events, built from their contracts (``contracts.roster``: the models, keys and
schemas), from the rows that changed. Never the ID number."""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from contracts import roster as contract
from contracts.envelope import Event
from services.roster.domain import registration
from services.roster.domain.registration import NEW_STATUS, NEW_VERSION, Registration
from services.roster.domain.units import path_ids
from services.roster.models import Cadre, Unit

# Everything roster publishes about a cadre: the contract's state fields, each a column of
# the cadre row; the registration's own fields among them come straight from it.
PUBLISHED_CADRE_FIELDS = tuple(f for f in contract.CADRE_STATE_FIELDS if f != "snapshot")
_REGISTERED_FIELDS = PUBLISHED_CADRE_FIELDS[:-1]  # all but the status (a new row's)
assert set(_REGISTERED_FIELDS) <= set(registration.FIELDS), "a published field no registration sets"
_FROM_REGISTRATION = itemgetter(*(registration.FIELDS.index(f) for f in _REGISTERED_FIELDS))


def cadre_state(cadre: Cadre) -> dict[str, Any]:
    return cadre_data(cadre.id, cadre.version, cadre_values(cadre))


def cadre_data(cadre_id: str, version: int, published: Iterable[Any]) -> dict[str, Any]:
    """A cadre's state from the values of PUBLISHED_CADRE_FIELDS, in that order."""
    data = dict(zip(PUBLISHED_CADRE_FIELDS, published, strict=True))
    data["cadre_id"] = cadre_id
    data["version"] = version
    return data


def registered(cadre_id: str, new: Registration) -> Event:
    """The event of a registration, from the registration itself: ``POST /cadres`` and the
    import make it the same way, in the contract's shape without building the model (one
    per imported row; tests/contracts check what it emits)."""
    state = dict(zip(_REGISTERED_FIELDS, _FROM_REGISTRATION(new)))  # noqa: B905 (equal by construction)
    state["status"], state["cadre_id"], state["version"] = NEW_STATUS, cadre_id, NEW_VERSION
    state["snapshot"] = False
    return contract.CadreRegistered.event_of_trusted(state)


def cadre_registered(cadre: Cadre, *, snapshot: bool = False) -> Event:
    return contract.CadreRegistered.model_validate({**cadre_state(cadre), "snapshot": snapshot}).event()


def cadre_fields(cadre: Cadre) -> contract.CadreFields:
    """The whole published state every change carries (not only what changed), so a mirror
    that missed an event is whole again with the next."""
    return contract.CadreFields.model_validate(dict(zip(PUBLISHED_CADRE_FIELDS, cadre_values(cadre), strict=True)))


def cadre_values(cadre: Cadre) -> Iterable[Any]:
    return (getattr(cadre, f) for f in PUBLISHED_CADRE_FIELDS)


def cadre_updated(cadre: Cadre, changed: dict[str, Any]) -> Event:
    return contract.CadreUpdated(
        cadre_id=cadre.id,
        version=cadre.version,
        unit_id=cadre.unit_id,
        changed={k: v for k, v in changed.items() if k != "id_number"},
        id_number_changed="id_number" in changed,
        state=cadre_fields(cadre),
    ).event()


def cadre_moved(cadre: Cadre, from_unit: str, effective_on: Any, reason: str) -> Event:
    return contract.CadreMoved(
        cadre_id=cadre.id,
        version=cadre.version,
        state=cadre_fields(cadre),
        from_unit_id=from_unit,
        to_unit_id=cadre.unit_id,
        post_title=cadre.post_title,
        effective_on=effective_on,
        reason=reason,
    ).event()


def cadre_left(cadre: Cadre) -> Event:
    return contract.CadreLeft.model_validate(
        {
            "cadre_id": cadre.id,
            "version": cadre.version,
            "unit_id": cadre.unit_id,
            "kind": cadre.exit_kind,
            "date": cadre.exit_date,
            "state": cadre_fields(cadre),
        }
    ).event()


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


def unit_created(unit: Unit, *, snapshot: bool = False) -> Event:
    return contract.UnitCreated.model_validate({**unit_state(unit), "snapshot": snapshot}).event()


def unit_updated(unit: Unit, changed: dict[str, Any]) -> Event:
    return contract.UnitUpdated.model_validate({**unit_state(unit), "changed": changed}).event()
