"""docs/events.md's tables are what the generator writes from the models."""

from __future__ import annotations

from contracts import compat
from contracts.base import REGISTRY
from deploy.event_docs import DOC, generated, render


def test_docs_events_is_what_the_generator_writes() -> None:
    doc = DOC.read_text()
    assert render(doc) == doc, "docs/events.md is out of date: run `python -m deploy.event_docs`"


def test_every_event_type_has_its_row() -> None:
    table = generated()
    assert all(f"| `{event_type}` |" in table for event_type, _ in REGISTRY)


def test_the_record_of_published_versions_is_what_the_generator_writes() -> None:
    assert compat.load() == compat.recorded(), (
        "contracts/published.json is out of date: run `python -m deploy.event_docs`"
    )
