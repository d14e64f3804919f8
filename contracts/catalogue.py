"""The published schemas, generated from the models: each service's ``/events/catalog``
and the gateway's AsyncAPI document read them from here, never from a hand-written copy."""

from __future__ import annotations

from typing import Any

from contracts import (
    gateway,
    matching,
    mirror_gaps,  # noqa: F401  (its models join the registry on import)
    roster,
    scoring,
    secondment,
    topics,
)
from contracts.base import BESIDE, REGISTRY, EventData, current, of_topic
from contracts.envelope import json_schema
from contracts.samples import sample_data

MODULES = {"roster": roster, "matching": matching, "scoring": scoring, "secondment": secondment, "gateway": gateway}


def _strip_titles(schema: Any) -> Any:
    """pydantic titles every property after its name; the documents read better without."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A nested model's schema in place of its ``$ref``: the data schema stands alone inside
    the envelope's and the AsyncAPI document's, where ``#/$defs`` would point elsewhere."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def data_schema(model: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of the event's ``data`` as it is emitted (serialisation mode)."""
    schema: dict[str, Any] = model.model_json_schema(mode="serialization")
    defs = schema.pop("$defs", {})
    return dict(_strip_titles(_inline(schema, defs)))


def described(model: type[EventData]) -> dict[str, Any]:
    """One event's entry in a catalogue: summary, key, data version, example and schema."""
    entry: dict[str, Any] = {
        "summary": model.summary(),
        "x-key": model.KEY,
        "x-key-name": model.key_name(),
        "x-subject": f"{model.SUBJECT[0]}/<{model.SUBJECT[1]}>",
        "x-dataversion": model.DATAVERSION,
        # what orders the subject's states (None: a record made once)
        "x-order": None if model.ORDER is None else {"of": list(model.ORDER.of), "by": model.ORDER.by},
        **data_schema(model),
        # the model's own example where it has one, otherwise one filled from the types
        "examples": [sample_data(model)],
    }
    if model.SUNSET is not None:
        # an older version published beside the newest until its sunset, as a companion
        entry["x-sunset"] = model.SUNSET.isoformat()
        entry["x-beside"] = current(model.TYPE).DATAVERSION
        entry["deprecated"] = True
    return entry


def message_schema(event_type: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The whole message of one event type (envelope and ``data``) as its catalogue entry
    publishes it: the AsyncAPI payload, and what the suite checks every emitted event against."""
    data = {k: v for k, v in entry.items() if k not in ("summary", "examples") and not k.startswith("x-")}
    return json_schema(event_type, entry.get("x-dataversion", "1"), data)


def schemas(topic: str) -> dict[str, dict[str, Any]]:
    """Every event type published on ``topic``, by type (the newest version of each)."""
    newest: dict[str, type[EventData]] = {}
    for model in of_topic(topic):
        if model.TYPE not in newest or int(model.DATAVERSION) > int(newest[model.TYPE].DATAVERSION):
            newest[model.TYPE] = model
    return {t: described(m) for t, m in sorted(newest.items())}


def deprecated(topic: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The older versions published on ``topic`` beside the newest, by type and data version
    (each with its ``x-sunset``); a companion carries ``supersededby``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for event_type, models in sorted(BESIDE.items()):
        for model in sorted(models, key=lambda m: int(m.DATAVERSION)):
            if topic == model.TOPIC:
                out.setdefault(event_type, {})[model.DATAVERSION] = described(model)
    return out


def catalog(service: str) -> dict[str, Any]:
    topic = topics.OF_SERVICE[service]
    events = schemas(topic)
    keys = sorted({e["x-key-name"] for e in events.values()})
    return {
        "service": service,
        "topic": topic,
        "key": " or ".join(keys),
        "events": events,
        "deprecated": deprecated(topic),
    }


def every_type() -> list[str]:
    return sorted({t for t, _ in REGISTRY})
