"""Older event versions read as the current one (cadrekit.upcasts)."""

from __future__ import annotations

from cadrekit.upcasts import secondment_data


def test_a_version_1_secondment_event_moves_its_end_dates_back_one_day() -> None:
    data = {"starts_on": "2017-04-01", "ends_on": "2019-04-01", "ended_on": "2019-04-01", "days_served": 730}
    assert secondment_data({"dataversion": "1", "data": data}) == {
        "starts_on": "2017-04-01",
        "ends_on": "2019-03-31",
        "ended_on": "2019-03-31",
        "days_served": 730,
    }
    assert data["ends_on"] == "2019-04-01"  # the event itself is not changed
    assert secondment_data({"data": {"ends_on": None}}) == {"ends_on": None}  # no version is version 1


def test_a_version_2_event_is_read_as_it_is() -> None:
    data = {"starts_on": "2017-04-01", "ends_on": "2019-03-31"}
    assert secondment_data({"dataversion": "2", "data": data}) is data
