"""Older event versions read as the current one, through the event's model (contracts.base)."""

from __future__ import annotations

from typing import Any

from contracts import secondment
from contracts.base import REGISTRY

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
