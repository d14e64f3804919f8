"""A breaking change's deprecation period through the real services and broker
(docs/events.md, "Versions"): secondment's placement events are at data version 2 and
version 1 is published beside them. Read back from the topic, a consumer of version 1 and
one of version 2 each see every event once, in their own version; the roster, a version-2
consumer, skips the companions and still reads a version-1 event from before the change."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaProducer

from cadrekit.testing.plugin import Broker
from contracts import secondment, topics
from contracts.base import REGISTRY, EventData, UnknownEvent, current, superseded
from contracts.envelope import dumps, envelope
from contracts.samples import sample
from services.roster.models import Cadre
from tests.conftest import RosterHarness
from tests.integration.conftest import eventually
from tests.integration.test_secondment_roster import foshan_pair, live_secondment, nominate_vetted
from tests.reliability.support import read_all
from tests.secondment.conftest import SecondmentHarness

__all__ = ["live_secondment"]  # a fixture, used by name

# What a consumer written against version 1 knows: every type, in version 1 only.
VERSION_1 = {t: m for (t, v), m in REGISTRY.items() if v == "1" and t.startswith("secondment.")}


def read_as_version_1(env: dict[str, Any]) -> EventData | None:
    """An old consumer: a version it does not know is skipped, as it always was."""
    model = VERSION_1.get(env["type"])
    if model is None or str(env.get("dataversion") or "1") != "1":
        return None
    return model.of(env)


def read_as_version_2(env: dict[str, Any]) -> EventData | None:
    """A consumer of the newest models: the companions are skipped, older events upcast."""
    if superseded(env):
        return None
    try:
        return current(env["type"]).of(env)
    except UnknownEvent:
        return None


async def _seconded_until(roster: RosterHarness, cadre_id: str) -> dt.date | None:
    async with roster.app.state.runtime.sessions() as s:
        cadre = await s.get(Cadre, cadre_id)
        return None if cadre is None else cadre.seconded_until


async def test_consumers_of_either_version_read_every_placement_event_once(
    live_roster: RosterHarness, live_secondment: SecondmentHarness, broker: Broker
) -> None:
    roster, sec = live_roster, live_secondment
    organ, town, cadre, up = await foshan_pair(roster, sec, broker)
    batch = await sec.ok("/batches", {"name": "首批", "year": 2017, "starts_on": "2017-04-01"}, 201)
    pair = await sec.ok(
        f"/batches/{batch['id']}/pairs", {"city_organ_id": organ["id"], "grassroots_unit_id": town["id"]}, 201
    )
    both = await nominate_vetted(sec, batch["id"], pair["id"], [(cadre, "党委委员"), (up, "科员")])
    nominated = both[0]
    await sec.ok(f"/batches/{batch['id']}/approve", {})
    for n in both:
        await sec.ok(f"/secondments/{n['id']}/start", {})

    async def seconded() -> bool:
        return await _seconded_until(roster, cadre["id"]) is not None

    await eventually(seconded, what="the roster applied secondment.started")
    # version 2 says the term's last day, and the roster (a version-2 consumer) holds it
    assert await _seconded_until(roster, cadre["id"]) == dt.date(2019, 3, 31)
    await sec.ok(f"/secondments/{nominated['id']}/end", {"kind": "completed"})

    async def returned() -> bool:
        return await _seconded_until(roster, cadre["id"]) is None

    await eventually(returned, what="the roster applied secondment.ended")

    messages = [env for _, env in await read_all(broker.client_options(), topics.SECONDMENT)]
    placements = ("secondment.nominated", "secondment.approved", "secondment.started", "secondment.ended")
    by_id = {env["id"]: env for env in messages}
    companions = [env for env in messages if env.get("supersededby")]
    mine = [env for env in companions if env["data"]["cadre_id"] == cadre["id"]]
    assert sorted(env["type"] for env in mine) == sorted(placements)
    for env in companions:
        newer = by_id[env["supersededby"]]
        assert (env["dataversion"], newer["dataversion"], env["type"]) == ("1", "2", newer["type"])
        assert env["subject"] == newer["subject"] and env["data"]["cadre_id"] == newer["data"]["cadre_id"]

    old = [e for e in map(read_as_version_1, messages) if e is not None]
    new = [e for e in map(read_as_version_2, messages) if e is not None]
    seen_old = Counter((type(e).TYPE, e.cadre_id) for e in old)
    seen_new = Counter((type(e).TYPE, e.cadre_id) for e in new)
    assert seen_old == seen_new and {t for t, _ in seen_new} == set(placements) and max(seen_new.values()) == 1
    ended_old = next(e for e in old if isinstance(e, secondment.Ended) and e.cadre_id == cadre["id"])
    ended_new = next(e for e in new if isinstance(e, secondment.Ended) and e.cadre_id == cadre["id"])
    assert type(ended_old).DATAVERSION == "1" and type(ended_new).DATAVERSION == "2"
    # each in its own meaning: version 1 the return day, version 2 the last day
    assert (ended_old.ends_on, ended_new.ends_on) == (dt.date(2019, 4, 1), dt.date(2019, 3, 31))
    assert ended_old.model_dump(exclude={"ends_on", "ended_on"}) == ended_new.model_dump(
        exclude={"ends_on", "ended_on"}
    )

    # the roster skipped every companion it met and applied each event once
    consumer = next(c for c in roster.app.state.runtime.consumers if topics.SECONDMENT in c.topics)
    assert consumer.state["superseded"] >= 2  # the started and ended companions, at least
    history = (await roster.client.get(f"/api/v1/roster/cadres/{cadre['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "seconded", "returned"]


async def test_a_version_2_consumer_reads_a_version_1_event_from_before_the_change(
    live_roster: RosterHarness, broker: Broker
) -> None:
    """A replay of history: version 1, no companion mark; the roster upcasts it."""
    roster = live_roster
    city = await roster.unit("佛山市", "city", region="佛山")
    district = await roster.unit("三水区", "district", city["id"], region="三水")
    town = await roster.unit("白坭镇", "town", district["id"], region="三水")
    cadre = await roster.cadre(city["id"], birth_date="1984-03-01")
    started = sample(
        secondment.StartedV1,
        cadre_id=cadre["id"],
        from_unit_id=city["id"],
        to_unit_id=town["id"],
        to_unit_kind="town",
        starts_on="2017-04-01",
        ends_on="2019-04-01",  # version 1: the return day
    )
    producer = AIOKafkaProducer(**broker.client_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.SECONDMENT, dumps(envelope("secondment", started.event())), key=cadre["id"].encode()
        )
    finally:
        await producer.stop()

    async def seconded() -> bool:
        return await _seconded_until(roster, cadre["id"]) is not None

    await eventually(seconded, what="the roster applied the version-1 event")
    assert await _seconded_until(roster, cadre["id"]) == dt.date(2019, 3, 31)  # read as version 2
