"""Emitted equals published: every event the code under test writes to an outbox is checked
against the schema its service publishes, and the suite knows which types it has seen.

Every outbox row of every service and the gateway is made by ``cadrekit.uow.EventRows.make``
(``uow.record``, event handlers' own events, the roster import's bulk path, the companions
of an older data version alike), so the
recorder wraps that one function for the test session: the real code path of each event
runs, and its exact payload — the bytes the relay sends to Kafka — is validated against
``contracts.catalogue.message_schema`` of its type and data version (what ``/events/catalog``
and the AsyncAPI document publish). The test that emitted a message outside its contract
fails by name; a whole-suite run fails when an event type, or an older version published
beside a newer one, was never emitted (``pytest_sessionfinish`` in the plugin).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import orjson

from cadrekit import uow
from contracts import catalogue, topics
from contracts.base import BESIDE, REGISTRY, UnknownEvent, model_of
from contracts.envelope import Event


def published_types() -> set[str]:
    return {t for t, _ in REGISTRY}


def published_older_versions() -> set[str]:
    """The older versions published beside a newer one, as ``type@version``."""
    return {f"{m.TYPE}@{m.DATAVERSION}" for models in BESIDE.values() for m in models}


@functools.cache
def _entry(topic: str, event_type: str, dataversion: str) -> dict[str, Any] | None:
    try:
        model = model_of(event_type, dataversion)
    except UnknownEvent:
        return None
    newest = catalogue.schemas(topic).get(event_type)
    if newest is not None and newest["x-dataversion"] == dataversion:
        return newest
    return catalogue.described(model) if model in BESIDE.get(event_type, ()) else None


@functools.cache
def _validator(topic: str, event_type: str, dataversion: str) -> jsonschema.protocols.Validator | None:
    entry = _entry(topic, event_type, dataversion)
    if entry is None:
        return None
    schema = catalogue.message_schema(event_type, entry)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@dataclass
class Recorder:
    seen: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)  # by "type@version"
    # problems of the running test, taken (and failed on) by the plugin after each test
    problems: list[str] = field(default_factory=list)

    def check(self, topic: str, key: str, payload: str) -> None:
        message = orjson.loads(payload)
        event_type = message.get("type", "?")
        version = str(message.get("dataversion", "1"))
        self.seen[event_type] += 1
        self.versions[f"{event_type}@{version}"] += 1
        if topic not in topics.ALL:
            self.problems.append(f"{event_type}: written for topic {topic!r}, which no contract names")
            return
        validator = _validator(topic, event_type, version)
        if validator is None:
            self.problems.append(f"{event_type}: version {version} is not in the catalogue of {topic}")
            return
        for error in validator.iter_errors(message):
            where = "/".join(str(p) for p in error.absolute_path) or "(message)"
            self.problems.append(f"{event_type}: {where}: {error.message}")
        entry = _entry(topic, event_type, version)
        assert entry is not None
        data = message.get("data") or {}
        if key != str(data.get(entry["x-key"])):
            self.problems.append(f"{event_type}: key {key!r} is not data.{entry['x-key']} as published")
        subject_kind, subject_field = entry["x-subject"].split("/", 1)
        expected_subject = f"{subject_kind}/{data.get(subject_field.strip('<>'))}"
        if message.get("subject") != expected_subject:
            self.problems.append(f"{event_type}: subject {message.get('subject')!r}, published {expected_subject!r}")
        order = entry["x-order"]
        if order is not None and data.get(order["by"]) is None:
            # Optional in the schema (events from before it existed lack it), never in what is emitted now.
            self.problems.append(f"{event_type}: data.{order['by']} orders its states and is missing")

    def take_problems(self) -> list[str]:
        out, self.problems = self.problems, []
        return out

    def missing(self) -> set[str]:
        """Types never emitted, and older versions published beside a newer one never written."""
        return (published_types() - set(self.seen)) | (published_older_versions() - set(self.versions))


RECORDER = Recorder()


def install(recorder: Recorder = RECORDER) -> Callable[[], None]:
    """Wrap ``EventRows.make`` so every outbox row is checked by ``recorder`` (alone: a test
    of the recorder's own refusals does not fail the session's); returns the undo."""
    previous = uow.EventRows.make
    original = getattr(previous, "unchecked", previous)

    def make(
        self: uow.EventRows, event: Event, event_id: str | None = None, *, superseded_by: str | None = None
    ) -> tuple[Any, ...]:
        made = original(self, event, event_id, superseded_by=superseded_by)
        _id, topic, key, _type, payload, *_ = made
        recorder.check(topic, key, payload)
        return made

    make.unchecked = original  # type: ignore[attr-defined]
    uow.EventRows.make = make  # type: ignore[method-assign]

    def undo() -> None:
        uow.EventRows.make = previous  # type: ignore[method-assign]

    return undo
