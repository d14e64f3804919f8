"""The test factory of mirrored cadres builds what roster publishes, so the mirrors the tests
fill cannot drift from the events the services really receive."""

from __future__ import annotations

import jsonschema

from contracts import catalogue, topics
from tests.factories import mirrored_cadre
from tests.matching.conftest import cadre_state as matching_cadre
from tests.secondment.conftest import cadre_state as secondment_cadre


def _schema(type_: str) -> dict[str, object]:
    return catalogue.schemas(topics.ROSTER)[type_]


def test_every_mirrored_cadre_builder_makes_a_valid_roster_cadre_state() -> None:
    for state in (
        mirrored_cadre("u1"),
        matching_cadre("u1"),
        secondment_cadre("c1", "u1", birth_date="1990-01-01"),
    ):
        jsonschema.validate(state, _schema("roster.cadre.registered"))
