"""The catalogue is generated from the models: every type has a summary, a key, a data
version and an example its own schema accepts."""

from __future__ import annotations

import jsonschema
import pytest

from contracts import catalogue, topics
from contracts.base import REGISTRY, current
from contracts.samples import sample, sample_data

TYPES = sorted({t for t, _ in REGISTRY})


def test_every_service_topic_has_its_events_in_the_catalogue() -> None:
    listed = {t for service in topics.OF_SERVICE for t in catalogue.catalog(service)["events"]}
    assert listed == set(TYPES)
    assert len(TYPES) >= 31


@pytest.mark.parametrize("event_type", TYPES)
def test_every_example_is_valid_against_the_published_schema(event_type: str) -> None:
    entry = catalogue.schemas(current(event_type).TOPIC)[event_type]
    assert entry["summary"] and entry["x-key"] and entry["x-dataversion"] == current(event_type).DATAVERSION
    schema = {k: v for k, v in entry.items() if not k.startswith("x-") and k not in ("summary", "examples")}
    for example in entry["examples"]:
        jsonschema.validate(example, schema)
        assert current(event_type).model_validate(example).model_dump(mode="json") == example


def test_a_sample_takes_the_fields_a_test_names_and_fills_the_rest() -> None:
    started = sample("secondment.started", cadre_id="c-7", term_months=24)
    assert started.cadre_id == "c-7" and started.term_months == 24  # type: ignore[attr-defined]
    assert sample_data("secondment.started", unknown="kept")["unknown"] == "kept"
    with pytest.raises(ValueError, match="term_months"):
        sample("secondment.started", term_months=0)
