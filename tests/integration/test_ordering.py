"""Ordering a subscriber can rely on, through the real broker on both database backends: an
older state sent again (a dead letter replayed with ``cadre dlq replay`` after newer events
were applied) changes nothing, and a mirror that misses an update says so and heals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cadrekit.inbox import EventConsumer, Handler
from cadrekit.roster_mirror import get_cadre
from cadrekit.testing.plugin import Broker
from contracts import mirror_gaps, scoring, topics
from contracts import roster as roster_contract
from services.matching.models import CadrePoints, mirror
from services.secondment.models import CadreScore
from tests.conftest import RosterHarness
from tests.integration.conftest import eventually
from tests.integration.test_matching_roster import live_matching, publish
from tests.integration.test_secondment_roster import live_secondment
from tests.matching.conftest import MatchingHarness
from tests.reliability.test_poison_and_dlq_replay import cadre_cli
from tests.secondment.conftest import SecondmentHarness

__all__ = ["live_matching", "live_secondment"]  # fixtures, used by name


class Outage(RuntimeError):
    """What the consumer's handler meets while the cause outside is not yet fixed."""


@contextmanager
def failing(consumer: EventConsumer, event_type: str, when: Callable[[dict[str, Any]], bool]) -> Iterator[None]:
    """The consumer's handler of ``event_type`` fails for the events ``when`` picks, every
    attempt, so they are dead-lettered; the real handler is back afterwards."""
    real: Handler = consumer.handlers[event_type]

    async def handler(session: AsyncSession, envelope: dict[str, Any]) -> None:
        if when(envelope):
            raise Outage("the database of a dependency is away")
        await real(session, envelope)

    consumer.handlers[event_type] = handler
    consumer.retry_delay = 0.01
    try:
        yield
    finally:
        consumer.handlers[event_type] = real


@contextmanager
def not_answering_gaps(roster: RosterHarness) -> Iterator[None]:
    """Roster ignores the mirrors' gaps for a while (its handlers of them are away)."""
    consumer = _consumer(roster.app, topics.MATCHING)
    away = {t: consumer.handlers.pop(t) for t in [m.TYPE for m in mirror_gaps.OF_SERVICE.values()]}
    try:
        yield
    finally:
        consumer.handlers.update(away)


def _consumer(app: Any, topic: str) -> EventConsumer:
    return next(c for c in app.state.runtime.consumers if topic in c.topics)


def _score(cadre_id: str, sequence: int, total: str) -> scoring.ScoreChanged:
    return scoring.ScoreChanged.model_validate(
        {
            "cadre_id": cadre_id,
            "year": 2026,
            "total": total,
            "previous_total": "0.00",
            "delta": total,
            "cause_entry_id": f"00000000-0000-4000-8000-{sequence:012d}",
            "cause": "approval",
            "catalogue_version": 1,
            "sequence": sequence,
        }
    )


async def _replay_score_after_newer(app: Any, broker: Broker, held: Callable[[], Any]) -> None:
    consumer = _consumer(app, scoring.ScoreChanged.TOPIC)
    cadre = "c0ffee00-0000-4000-8000-000000000018"
    await publish(broker, _score(cadre, 1, "80.00"))

    async def total_is(total: str, sequence: int) -> bool:
        row = await held()
        return row is not None and (row.total, row.sequence) == (total, sequence)

    await eventually(lambda: total_is("80.00", 1), what="the first total held")
    dead_before = consumer.state["dead_lettered"]
    with failing(consumer, scoring.ScoreChanged.TYPE, lambda e: e["data"]["sequence"] == 2):
        await publish(broker, _score(cadre, 2, "85.00"))

        async def dead_lettered() -> bool:
            return consumer.state["dead_lettered"] > dead_before

        await eventually(dead_lettered, what="the second total dead-lettered")
    await publish(broker, _score(cadre, 3, "90.00"))
    await eventually(lambda: total_is("90.00", 3), what="the newer total held")

    applied_before = consumer.state["applied"]
    code, done, err = await asyncio.to_thread(
        cadre_cli, "dlq", "replay", scoring.ScoreChanged.TOPIC, "--consumer", consumer.name, kafka=broker.cli_env()
    )
    assert code == 0 and done["replayed"] == 1, err

    async def replay_consumed() -> bool:
        return consumer.state["applied"] > applied_before

    # The replayed event is applied (it never was: its inbox row went with the failure) …
    await eventually(replay_consumed, what="the replayed total consumed")
    # … and changes nothing: the held total is newer.
    assert await total_is("90.00", 3), await held()


async def test_a_replayed_older_total_changes_nothing_in_matching(
    live_matching: MatchingHarness, broker: Broker
) -> None:
    app = live_matching.app

    async def held() -> Any:
        async with app.state.runtime.sessions() as s:
            return (await s.execute(select(CadrePoints))).scalars().first()

    await _replay_score_after_newer(app, broker, held)


async def test_a_replayed_older_total_changes_nothing_in_secondment(
    live_secondment: SecondmentHarness, broker: Broker
) -> None:
    app = live_secondment.app

    async def held() -> Any:
        async with app.state.runtime.sessions() as s:
            return (await s.execute(select(CadreScore))).scalars().first()

    await _replay_score_after_newer(app, broker, held)
    assert Decimal((await held()).total) == Decimal("90")


# a mirror that misses an update --------------------------------------------------------------
async def _mirror_version(m: MatchingHarness, cadre_id: str) -> int | None:
    async with m.app.state.runtime.sessions() as s:
        held = await get_cadre(s, mirror, cadre_id)
    return None if held is None else held.version


async def _roster_then_miss_version_3(roster: RosterHarness, m: MatchingHarness) -> tuple[str, EventConsumer]:
    """A cadre at version 2 in both; its version 3 (a new rank) dead-lettered by matching."""
    unit = await roster.unit()
    cadre = (await roster.cadre(unit["id"]))["id"]
    url = f"/api/v1/roster/cadres/{cadre}"
    resp = await roster.client.patch(url, headers={**roster.auth(), "If-Match": '"v1"'}, json={"post_title": "科员"})
    assert resp.status_code == 200, resp.text

    async def at(version: int) -> bool:
        return await _mirror_version(m, cadre) == version

    await eventually(lambda: at(2), what="the mirror at version 2")
    consumer = _consumer(m.app, topics.ROSTER)
    dead_before = consumer.state["dead_lettered"]
    with failing(consumer, roster_contract.CadreUpdated.TYPE, lambda e: e["data"]["version"] == 3):
        resp = await roster.client.patch(
            url, headers={**roster.auth(), "If-Match": '"v2"'}, json={"rank": "一级主任科员"}
        )
        assert resp.status_code == 200, resp.text

        async def dead_lettered() -> bool:
            return consumer.state["dead_lettered"] > dead_before

        await eventually(dead_lettered, what="version 3 dead-lettered")
    return cadre, consumer


async def _gaps(m: MatchingHarness) -> dict[str, Any]:
    health = (await m.client.get("/health")).json()
    return dict(health["mirror"])


def _metric(text: str, state: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(f'mirror_version_gaps{{state="{state}"}}'))
    return float(line.split()[-1])


async def test_a_missed_update_is_reported_and_the_next_change_heals_it(
    live_roster: RosterHarness, live_matching: MatchingHarness
) -> None:
    roster, m = live_roster, live_matching
    with not_answering_gaps(roster):  # so the next change, not an asked snapshot, heals it
        cadre, _ = await _roster_then_miss_version_3(roster, m)
        await _gaps_healed_by_the_next_change(roster, m, cadre)


async def _gaps_healed_by_the_next_change(roster: RosterHarness, m: MatchingHarness, cadre: str) -> None:
    gaps = await _gaps(m)
    assert gaps["gaps_open"] == 1, gaps
    assert gaps["open"][0] | {"found_at": None} == {
        "subject": f"cadre/{cadre}",
        "held_version": 2,
        "missing_version": 3,
        "how": "dead_lettered",
        "found_at": None,
    }
    assert _metric((await m.client.get("/metrics")).text, "open") == 1

    resp = await roster.client.patch(
        f"/api/v1/roster/cadres/{cadre}", headers={**roster.auth(), "If-Match": '"v3"'}, json={"post_title": "副科长"}
    )
    assert resp.status_code == 200, resp.text

    async def at_4() -> bool:
        return await _mirror_version(m, cadre) == 4

    await eventually(at_4, what="the mirror at version 4")
    async with m.app.state.runtime.sessions() as s:
        held = await get_cadre(s, mirror, cadre)
    assert held is not None
    # Version 4 carried the whole state: the rank version 3 set is there, not lost.
    assert (held.state["rank"], held.post_title) == ("一级主任科员", "副科长")
    gaps = await _gaps(m)
    assert (gaps["gaps_found"], gaps["gaps_open"]) == (1, 0), gaps
    metrics = (await m.client.get("/metrics")).text
    assert (_metric(metrics, "open"), _metric(metrics, "healed")) == (0, 1)


async def test_a_missed_last_update_is_healed_by_the_snapshot_the_mirror_asks_for(
    live_roster: RosterHarness, live_matching: MatchingHarness
) -> None:
    """Nothing else is on its way for the cadre: the mirror publishes the gap
    (matching.mirror_gap.found), roster answers with the cadre's snapshot, the gap heals."""
    roster, m = live_roster, live_matching
    cadre, _ = await _roster_then_miss_version_3(roster, m)
    asked = await m.outbox(mirror_gaps.MatchingMirrorGapFound.TYPE)
    assert [e["data"] | {"found_at": None} for e in asked] == [
        {
            "subject_kind": "cadre",
            "subject_id": cadre,
            "held_version": 2,
            "missing_version": 3,
            "how": "dead_lettered",
            "found_at": None,
        }
    ]

    async def healed() -> bool:
        return (await _gaps(m))["gaps_open"] == 0

    await eventually(healed, what="the asked snapshot heals the gap")
    async with m.app.state.runtime.sessions() as s:
        held = await get_cadre(s, mirror, cadre)
    assert held is not None and held.version == 3 and held.state["rank"] == "一级主任科员"
    gaps = await _gaps(m)
    assert gaps["gaps_found"] == 1 and gaps["snapshot_request"] == {"unit_ids": [], "cadre_ids": []}
    snapshots = [
        e for e in await roster.outbox() if e["type"] == "roster.cadre.registered" and e["data"].get("snapshot")
    ]
    assert [e["data"]["cadre_id"] for e in snapshots] == [cadre]


async def test_a_gap_roster_cannot_answer_stays_open_and_an_operator_asks_with_the_health_body(
    live_roster: RosterHarness, live_matching: MatchingHarness
) -> None:
    roster, m = live_roster, live_matching
    with not_answering_gaps(roster):
        cadre, _ = await _roster_then_miss_version_3(roster, m)
        await asyncio.sleep(1.0)  # nothing else is on its way: the gap stays open
        assert (await _gaps(m))["gaps_open"] == 1
    assert await _mirror_version(m, cadre) == 2

    # /health names the request that heals every open gap; a cadre roster never held is named back
    request = (await _gaps(m))["snapshot_request"]
    assert request == {"unit_ids": [], "cadre_ids": [cadre]}
    other = "00000000-0000-4000-8000-00000000dead"
    resp = await roster.client.post(
        "/api/v1/roster/events/snapshot",
        headers=roster.auth(),
        json={**request, "cadre_ids": [*request["cadre_ids"], other]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"events": 1, "not_found": [other]}

    async def healed() -> bool:
        return (await _gaps(m))["gaps_open"] == 0

    await eventually(healed, what="the snapshot heals the gap")
    async with m.app.state.runtime.sessions() as s:
        held = await get_cadre(s, mirror, cadre)
    assert held is not None and held.version == 3 and held.state["rank"] == "一级主任科员"
    assert (await _gaps(m))["gaps_found"] == 1
