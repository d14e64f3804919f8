"""What a data version may change and keep its number: only additions a reader of the
version can ignore. Each published (type, version)'s data schema is recorded in
``contracts/published.json`` (written by ``python -m deploy.event_docs``); a test compares
the models with it, so a breaking change made in place fails before it is published:

- a field removed, or one that was optional made required: readers of the version lose
  what they read, or events already on the topic stop being valid;
- a new field that is required: events already published (a replay) lack it;
- any change to a field's values (type, format, enum, bounds, nullability): a reader of
  the version meets values it was not written for, or a replay meets a tighter reader.

A new optional field, a new event type, a new description: additive, the version stays.
Anything else is a new data version, published beside the old one (``contracts.base``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from contracts.base import REGISTRY
from contracts.catalogue import data_schema

PUBLISHED = Path(__file__).with_name("published.json")
# Words about a value, not the value: free to change within a version.
_WORDS = frozenset({"description", "examples", "title", "deprecated"})


def recorded() -> dict[str, dict[str, Any]]:
    """Every published type and version (``type@version``): its data schema and sunset."""
    out: dict[str, dict[str, Any]] = {}
    for (event_type, version), model in sorted(REGISTRY.items()):
        entry: dict[str, Any] = {"data": data_schema(model)}
        if model.SUNSET is not None:
            entry["sunset"] = model.SUNSET.isoformat()
        out[f"{event_type}@{version}"] = entry
    return out


def load() -> dict[str, dict[str, Any]]:
    return dict(json.loads(PUBLISHED.read_text()))


def write() -> None:
    PUBLISHED.write_text(json.dumps(recorded(), ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def _values(schema: Any) -> Any:
    """The part of a schema that says which values are valid."""
    if isinstance(schema, dict):
        return {k: _values(v) for k, v in schema.items() if k not in _WORDS}
    if isinstance(schema, list):
        return [_values(v) for v in schema]
    return schema


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def breaking_changes(old: dict[str, Any], new: dict[str, Any], where: str = "data") -> list[str]:
    """What makes ``new`` unreadable as ``old``'s version, one line per field."""
    problems: list[str] = []
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_fields):
        if name not in new_fields:
            problems.append(f"{where}.{name} was removed")
    for name in sorted(new_required - old_required):
        if name in old_fields:
            problems.append(f"{where}.{name} was optional and is now required")
        else:
            problems.append(f"{where}.{name} is new and required: events already published lack it")
    for name in sorted(set(old_fields) & set(new_fields)):
        before, after = old_fields[name], new_fields[name]
        if _is_object(before) and _is_object(after):
            problems += breaking_changes(before, after, f"{where}.{name}")
        elif _values(before) != _values(after):
            problems.append(f"{where}.{name} takes other values: {_values(before)} → {_values(after)}")
    rest = {k: v for k, v in old.items() if k not in ("properties", "required")}
    if _values(rest) != _values({k: v for k, v in new.items() if k not in ("properties", "required")}):
        problems.append(f"{where} changed its shape")
    return problems


def check(published: dict[str, dict[str, Any]], today: dt.date) -> list[str]:
    """Every way the models break what ``published`` records; empty when they keep it (a
    version may leave the models only after its sunset)."""
    now = recorded()
    problems: list[str] = []
    for name, entry in sorted(published.items()):
        if name not in now:
            sunset = entry.get("sunset")
            if sunset is None or today < dt.date.fromisoformat(sunset):
                problems.append(f"{name} is published and no model reads it (only a version past its sunset may go)")
            continue
        problems += [f"{name}: {p}" for p in breaking_changes(entry["data"], now[name]["data"])]
    return problems
