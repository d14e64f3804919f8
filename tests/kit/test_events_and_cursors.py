from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from cadrekit import context
from cadrekit.errors import Invalid
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.uow import EventRows
from contracts import scoring, topics
from contracts.envelope import BadEnvelope, dumps, parse
from contracts.samples import sample


def test_envelope_is_cloudevents_1_0_with_correlation_and_string_decimals() -> None:
    token = context.correlation_id.set("req-abc")
    try:
        # The outbox's rows take the request's correlation id (cadrekit.uow.EventRows).
        changed = sample(scoring.ScoreChanged, cadre_id="1", total=Decimal("1.20"))
        row = EventRows(source="scoring", topic=topics.SCORING).row(changed.event())
    finally:
        context.correlation_id.reset(token)
    env = parse(row[4].encode())
    assert env["specversion"] == "1.0" and env["source"] == "scoring" and env["correlationid"] == "req-abc"
    uuid.UUID(env["id"])
    assert env["time"].endswith("Z")
    assert env["subject"] == "cadre/1" and parse(dumps(env))["data"]["total"] == "1.20"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"specversion": "1.0"}',
        b'{"specversion":"0.3","id":"x","source":"s","type":"t","data":{}}',
    ],
)
def test_parse_refuses_what_is_not_a_cloudevent(raw: bytes) -> None:
    with pytest.raises(BadEnvelope):
        parse(raw)


def test_cursor_round_trip_and_tampered_cursor_is_a_field_error() -> None:
    assert decode_cursor(encode_cursor(["张三", "id-1"]), 2) == ["张三", "id-1"]
    with pytest.raises(Invalid) as err:
        decode_cursor("%%%not-base64", 2)
    assert err.value.errors and err.value.errors[0]["field"] == "cursor"
    with pytest.raises(Invalid):
        decode_cursor(encode_cursor(["only-one"]), 2)


def test_a_window_keeps_the_page_and_points_after_its_last_row() -> None:
    from types import SimpleNamespace

    from cadrekit.pagination import by_id, decode_cursor, window

    rows = [SimpleNamespace(id=f"r{i}", name=f"n{i}") for i in range(4)]
    page, cursor = window(rows, 3, by_id)  # four read for a page of three: there are more
    assert [r.id for r in page] == ["r0", "r1", "r2"] and decode_cursor(cursor, 1) == ["r2"]
    page, cursor = window(rows[:3], 3, lambda r: [r.name, r.id])
    assert len(page) == 3 and cursor is None  # no more: no cursor
    assert window([], 3, by_id) == ([], None)
