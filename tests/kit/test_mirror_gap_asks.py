"""Every roster mirror publishes the gaps it cannot heal by itself (contracts.mirror_gaps):
a roster event one of the service's consumers dead-letters is recorded as an open gap and,
in the same transaction, written to the service's outbox as ``<service>.mirror_gap.found``,
which roster answers with the subject's snapshot (tests/integration/test_ordering.py)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from contracts import mirror_gaps, topics
from deploy.kafka_access import PRINCIPALS
from tests.gateway.conftest import gateway
from tests.matching.conftest import matching, matching_db
from tests.scoring.conftest import scoring, scoring_db
from tests.secondment.conftest import sec, secondment_db

__all__ = ["gateway", "matching", "matching_db", "scoring", "scoring_db", "sec", "secondment_db"]  # fixtures


async def test_in_matching(matching: Any) -> None:
    await dead_letter_is_an_asked_gap("matching", matching)


async def test_in_scoring(scoring: Any) -> None:
    await dead_letter_is_an_asked_gap("scoring", scoring)


async def test_in_secondment(sec: Any) -> None:
    await dead_letter_is_an_asked_gap("secondment", sec)


async def test_in_the_gateway(gateway: Any) -> None:
    await dead_letter_is_an_asked_gap("gateway", gateway)


def test_every_service_that_mirrors_roster_publishes_its_gaps_and_is_tested_here() -> None:
    mirroring = {p.name for p in PRINCIPALS if topics.ROSTER in p.consumes}
    assert set(mirror_gaps.OF_SERVICE) == mirroring == {"matching", "scoring", "secondment", "gateway"}


async def dead_letter_is_an_asked_gap(service: str, harness: Any) -> None:
    runtime = harness.app.state.runtime
    [consumer] = [c for c in runtime.consumers if topics.ROSTER in c.topics]
    cadre_id = str(uuid.uuid4())
    dead = {
        "id": str(uuid.uuid4()),
        "type": "roster.cadre.updated",
        "subject": f"cadre/{cadre_id}",
        "data": {"cadre_id": cadre_id, "version": 4},
    }
    for hook in consumer.on_dead_letter:  # as EventConsumer._note_dead_letter runs them
        async with runtime.sessions() as session:
            await hook(session, dead)
            await session.commit()

    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(runtime.kit.outbox.select().order_by(runtime.kit.outbox.c.id))).all()
    asked = [orjson.loads(r.payload) for r in rows if r.type == mirror_gaps.OF_SERVICE[service].TYPE]
    assert [(r.topic, r.key) for r in rows if r.type == mirror_gaps.OF_SERVICE[service].TYPE] == [
        (topics.OF_SERVICE[service], cadre_id)
    ]
    assert asked[0]["data"] | {"found_at": None} == {
        "subject_kind": "cadre",
        "subject_id": cadre_id,
        "held_version": None,
        "missing_version": 4,
        "how": "dead_lettered",
        "found_at": None,
    }
    report = await runtime.reports["mirror"]()
    assert report["gaps_open"] == 1 and report["snapshot_request"] == {"unit_ids": [], "cadre_ids": [cadre_id]}
