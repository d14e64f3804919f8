"""Versions (docs/events.md): older event versions read as the current one through the event's
model, an older version published beside the newest as a companion until its sunset, and the
record of published versions that refuses a breaking change in place (contracts.compat)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import orjson
import pytest

from cadrekit.uow import EventRows
from contracts import compat, scoring, secondment, topics
from contracts.base import BESIDE, REGISTRY, EventData, companions, current, model_of, superseded
from contracts.samples import sample, sample_data

TODAY = secondment.VERSION_1_SUNSET - dt.timedelta(days=30)  # within version 1's deprecation period

_PLACEMENT: dict[str, Any] = {
    "secondment_id": "s-1",
    "batch_id": "b-1",
    "cadre_id": "c-1",
    "direction": "city_to_grassroots",
    "from_unit_id": "u-1",
    "to_unit_id": "u-2",
    "to_unit_kind": "town",
    "term_months": 24,
    "end_kind": "completed",
    "grassroots_days": 730,
}


def test_a_version_1_secondment_event_moves_its_end_dates_back_one_day() -> None:
    data = {
        **_PLACEMENT,
        "starts_on": "2017-04-01",
        "ends_on": "2019-04-01",
        "ended_on": "2019-04-01",
        "days_served": 730,
    }
    read = secondment.Ended.of({"dataversion": "1", "data": data})
    assert (read.ends_on.isoformat(), read.ended_on.isoformat(), read.days_served) == ("2019-03-31", "2019-03-31", 730)
    assert data["ends_on"] == "2019-04-01"  # the event itself is not changed
    no_version = secondment.Ended.of({"data": data})  # no version is version 1
    assert no_version.ends_on == read.ends_on


def test_a_version_2_event_is_read_as_it_is() -> None:
    data = {
        **_PLACEMENT,
        "starts_on": "2017-04-01",
        "ends_on": "2019-03-31",
        "ended_on": "2019-03-31",
        "days_served": 730,
    }
    read = secondment.Ended.of({"dataversion": "2", "data": data})
    assert (read.ends_on.isoformat(), read.ended_on.isoformat()) == ("2019-03-31", "2019-03-31")


def test_a_consumer_ignores_fields_it_does_not_know() -> None:
    data = {**_PLACEMENT, "starts_on": "2017-04-01", "ends_on": "2019-03-31", "ended_on": "2019-03-31"}
    read = secondment.Ended.of({"dataversion": "2", "data": {**data, "days_served": 1, "added_later": "x"}})
    assert not hasattr(read, "added_later") and read.days_served == 1


def test_every_event_type_says_what_orders_its_states() -> None:
    """A subscriber keeps the newest state by the declared field, never by arrival; a type
    without one must say it is a record made once (ORDER = None), not forget."""
    for (event_type, _), model in REGISTRY.items():
        assert "ORDER" in dir(model), f"{event_type}: declares no ORDER"
        order = model.ORDER
        if order is None:
            continue
        fields = model.model_fields
        assert order.by in fields and all(f in fields for f in order.of), (event_type, order)


# an older version published beside the newest (a breaking change's deprecation period) ------
def _placements() -> list[type[EventData]]:
    return [m for ms in BESIDE.values() for m in ms]


def test_every_older_version_published_beside_reads_back_as_the_newest() -> None:
    """Companion and upcast agree: the newest data, written in the old version and read back
    through the newest model, is what it was (for every type with a companion)."""
    assert {m.TYPE for m in _placements()} >= {"secondment.started", "secondment.ended", "secondment.extended"}
    for older in _placements():
        newest = current(older.TYPE)
        data = sample_data(newest, starts_on="2017-04-01", ends_on="2019-03-31")
        if "ended_on" in newest.model_fields:
            data["ended_on"] = "2019-03-31"
        [companion] = companions(newest.model_validate(data).event(), TODAY)
        assert companion.dataversion == older.DATAVERSION and companion.key == data["cadre_id"]
        assert companion.data["ends_on"] == dt.date(2019, 4, 1)  # version 1: the return day
        read = newest.of({"dataversion": companion.dataversion, "data": companion.data})
        assert read == newest.model_validate(data), older.TYPE


def test_companions_stop_on_the_sunset_and_the_newest_alone_has_none() -> None:
    started = sample(secondment.Started, ends_on="2019-03-31").event()
    assert [c.dataversion for c in companions(started, secondment.VERSION_1_SUNSET - dt.timedelta(days=1))] == ["1"]
    assert companions(started, secondment.VERSION_1_SUNSET) == []
    assert companions(sample(scoring.ScoreChanged).event(), TODAY) == []


def test_the_outbox_writes_the_companion_after_its_event_on_the_same_key() -> None:
    rows = EventRows(source="secondment", topic=topics.SECONDMENT)
    first, companion = rows.rows(sample(secondment.Ended, ends_on="2019-03-31", ended_on="2019-03-31").event())
    main, old = orjson.loads(first[4]), orjson.loads(companion[4])
    assert (main["dataversion"], old["dataversion"]) == ("2", "1") and "supersededby" not in main
    assert old["supersededby"] == main["id"] != old["id"]
    assert (companion[2], old["subject"], old["correlationid"]) == (first[2], main["subject"], main["correlationid"])
    assert (old["data"]["ended_on"], main["data"]["ended_on"]) == ("2019-04-01", "2019-03-31")
    with pytest.raises(ValueError, match="use rows"):  # a bulk writer's one-row shortcut cannot drop it
        rows.row(sample(secondment.Started).event())


def test_a_consumer_skips_a_companion_only_when_it_reads_a_newer_version() -> None:
    companion = {"type": "secondment.started", "dataversion": "1", "supersededby": "e-2"}
    assert superseded(companion)
    assert not superseded({"type": "secondment.started", "dataversion": "1"})  # from before version 2
    assert not superseded({"type": "secondment.started", "dataversion": "2"})
    assert not superseded({**companion, "type": "secondment.unknown"})  # not a type this reader knows


def test_a_version_1_reader_reads_the_companion_as_version_1_published_it() -> None:
    v1 = model_of("secondment.started", "1")
    assert v1.SUNSET == secondment.VERSION_1_SUNSET and v1 is secondment.StartedV1
    event = sample(secondment.Started, starts_on="2017-04-01", ends_on="2019-03-31").event()
    [companion] = companions(event, TODAY)
    read = v1.of({"dataversion": "1", "data": companion.data})  # no upcast: it is its version
    assert read.ends_on == dt.date(2019, 4, 1)


# the record of published versions (contracts.compat) -----------------------------------------
def test_no_published_version_has_changed_in_a_breaking_way() -> None:
    assert compat.check(compat.load(), TODAY) == []


def test_an_added_optional_field_is_additive_and_everything_else_is_breaking() -> None:
    old = compat.recorded()["secondment.ended@2"]["data"]

    def changed(edit: Any) -> list[str]:
        new = copy.deepcopy(old)
        edit(new)
        return compat.breaking_changes(old, new)

    assert changed(lambda s: s["properties"].update(note={"type": "string"})) == []
    assert changed(lambda s: s["properties"]["reason"].update(description="words only")) == []
    assert changed(lambda s: s["properties"].pop("reason")) == ["data.reason was removed"]
    assert changed(lambda s: s["required"].append("reason")) == ["data.reason was optional and is now required"]
    assert changed(lambda s: (s["properties"].update(note={"type": "string"}), s["required"].append("note"))) == [
        "data.note is new and required: events already published lack it"
    ]
    [values] = changed(lambda s: s["properties"]["end_kind"].update(enum=["completed", "early", "recalled"]))
    assert values.startswith("data.end_kind takes other values")
    [bounds] = changed(lambda s: s["properties"]["days_served"].update(minimum=1))
    assert bounds.startswith("data.days_served takes other values")


def test_a_published_version_may_leave_the_models_only_after_its_sunset() -> None:
    gone = {"secondment.recalled@1": {"data": {"type": "object", "properties": {}}, "sunset": "2027-01-01"}}
    assert compat.check(gone, dt.date(2027, 1, 1)) == []
    assert compat.check(gone, dt.date(2026, 12, 31)) == [
        "secondment.recalled@1 is published and no model reads it (only a version past its sunset may go)"
    ]
    assert compat.check({"secondment.recalled@1": {"data": {}}}, TODAY) != []  # never a sunset: never goes
