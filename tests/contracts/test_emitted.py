"""The recorder behind "emitted equals published" (``cadrekit.testing.published``): it
passes what the contract publishes and names what it refuses. The whole suite is its real
test: every outbox row any test's code writes goes through it, and a whole-suite run fails
when one of the published event types was never emitted."""

from __future__ import annotations

from decimal import Decimal

from cadrekit.testing.published import RECORDER, Recorder, install, published_older_versions, published_types
from cadrekit.uow import EventRows
from contracts import scoring, secondment, topics
from contracts.envelope import Event
from contracts.samples import sample, sample_data


def emit(recorder: Recorder, event: Event, topic: str = topics.SCORING) -> list[str]:
    undo = install(recorder)
    try:
        EventRows(source="test", topic=topic).rows(event)
    finally:
        undo()
    return recorder.take_problems()


def test_an_event_built_from_its_model_passes_and_is_counted() -> None:
    recorder = Recorder()
    assert emit(recorder, sample(scoring.ScoreChanged, total=Decimal("12.5")).event()) == []
    assert emit(recorder, sample(secondment.Started).event(), topics.SECONDMENT) == []
    # secondment.started at version 2, and its version-1 companion (published beside it)
    assert recorder.seen == {"scoring.score.changed": 1, "secondment.started": 2}
    assert recorder.versions == {"scoring.score.changed@1": 1, "secondment.started@2": 1, "secondment.started@1": 1}


def test_a_value_outside_the_schema_is_named_with_its_field() -> None:
    data = sample_data(scoring.ScoreChanged, cadre_id="cadre-1", total=12.5)  # a float where "12.50" is published
    problems = emit(Recorder(), Event("scoring.score.changed", "cadre/cadre-1", "cadre-1", data))
    assert problems and all(p.startswith("scoring.score.changed: data/total") for p in problems)


def test_a_missing_field_a_wrong_key_or_subject_and_an_unknown_type_are_named() -> None:
    data = sample_data(scoring.ScoreChanged, cadre_id="cadre-1")
    del data["year"]
    assert any(
        "'year' is a required property" in p
        for p in emit(Recorder(), Event("scoring.score.changed", "cadre/cadre-1", "cadre-1", data))
    )
    keyed = emit(
        Recorder(),
        Event(
            "scoring.score.changed", "cadre/cadre-1", "unit-1", sample_data(scoring.ScoreChanged, cadre_id="cadre-1")
        ),
    )
    assert keyed == ["scoring.score.changed: key 'unit-1' is not data.cadre_id as published"]
    subject = emit(
        Recorder(),
        Event("scoring.score.changed", "unit/u", "cadre-1", sample_data(scoring.ScoreChanged, cadre_id="cadre-1")),
    )
    assert subject == ["scoring.score.changed: subject 'unit/u', published 'cadre/cadre-1'"]
    assert emit(Recorder(), Event("scoring.score.guessed", "cadre/1", "1", {})) == [
        "scoring.score.guessed: version 1 is not in the catalogue of scoring.events"
    ]
    assert emit(Recorder(), sample(scoring.ScoreChanged).event(), "scoring.evnts") == [
        "scoring.score.changed: written for topic 'scoring.evnts', which no contract names"
    ]


def test_the_session_recorder_knows_every_published_type() -> None:
    assert len(published_types()) >= 31
    assert len(published_older_versions()) >= 6  # secondment's placement events at version 1
    assert RECORDER.missing() <= published_types() | published_older_versions()
