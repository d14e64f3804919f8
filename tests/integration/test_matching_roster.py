"""Roster ↔ matching through the real broker: roster events build matching's pool, score
events (published here, as scoring would) move fit scores, and a confirmed campaign moves
the cadre in roster (standing post) or puts it on assignment (phased post); roster's own
move event then flows back into matching's mirror."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from cadrekit.roster_mirror import get_cadre, get_unit
from cadrekit.testing.plugin import Broker, Signer
from contracts import scoring
from contracts.base import EventData
from contracts.envelope import dumps, envelope
from contracts.samples import sample
from services.matching.app import MIGRATIONS
from services.matching.app import create_app as create_matching
from services.matching.models import mirror
from services.matching.settings import MatchingSettings
from tests.conftest import RosterHarness
from tests.integration.conftest import eventually
from tests.matching.conftest import MatchingHarness


@pytest.fixture
async def live_matching(
    backend: str, database_factories: Any, signer: Signer, broker: Broker
) -> AsyncIterator[MatchingHarness]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    settings = MatchingSettings(
        database_url=url,
        mode="test",
        **broker.client_settings("matching"),
        outbox_poll_seconds=0.1,
        broker_check_seconds=0.5,
    )
    app = create_matching(settings, key_source=signer.key_source, configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://matching") as client,
    ):
        yield MatchingHarness(app, client, signer)


async def publish(broker: Broker, data: EventData) -> None:
    producer = AIOKafkaProducer(**broker.client_options(), acks="all")
    await producer.start()
    try:
        event = data.event()
        env = envelope(data.TOPIC.split(".")[0], event)
        await producer.send_and_wait(data.TOPIC, dumps(env), key=event.key.encode())
    finally:
        await producer.stop()


async def test_roster_builds_the_pool_scores_move_fit_and_confirm_moves_the_cadre(
    live_roster: RosterHarness, live_matching: MatchingHarness, broker: Broker
) -> None:
    roster, m = live_roster, live_matching
    city = await roster.unit("平湖市", "city")
    organ = await roster.unit("市发改局", "city_organ", city["id"])
    town = await roster.unit("当湖街道", "town", city["id"], region="当湖")
    stayer = await roster.cadre(organ["id"], birth_date="1975-03-08", post_wishes=["经济管理"])
    temp = await roster.cadre(organ["id"], birth_date="1976-04-09", post_wishes=["城建交通"])
    retiring = await roster.cadre(organ["id"], birth_date="1966-05-01")  # 60 years 5 months: October 2026
    c = await m.campaign(year=2026)
    cid = c["id"]

    async def pool_complete() -> bool:
        resp = await m.put(
            f"/campaigns/{cid}/pool", {"filter": {"unit_id": city["id"], "leadership_status": "second_line"}}
        )
        body = resp.json()
        return resp.status_code == 200 and len(body["eligible"]) + len(body["excluded"]) == 3

    await eventually(pool_complete, what="roster events reach matching's mirror")
    pool = (await m.get(f"/campaigns/{cid}/pool")).json()
    assert [(e["cadre_id"], e["reason"]) for e in pool["excluded"]] == [(retiring["id"], "retiring")]
    # the date comes with the rule that gave it, from roster (issue 17)
    assert pool["excluded"][0]["detail"] == (
        "retires on 2026-10-01 (60 years 5 months (original age 60, delayed 5 months; NPCSC decision of 13 September 2024))"
    )

    standing = await m.add_post(cid, town["id"], title="招商专班副组长", category="经济管理")
    phased = await m.add_post(
        cid, town["id"], title="重点工程", category="城建交通", kind="phased", term_months=6, starts_on="2026-03-01"
    )

    async def points() -> str:
        table = (await m.get(f"/campaigns/{cid}/balance-table")).json()
        row = next(
            r
            for p in table["posts"]
            if p["post_id"] == standing["id"]
            for r in p["shortlist"]
            if r["cadre_id"] == stayer["id"]
        )
        return str(row["breakdown"]["points"]["value"])

    assert await points() == "0.0000"
    changed = sample(scoring.ScoreChanged, cadre_id=stayer["id"], year=2026, total="1.20", delta="1.20")
    await publish(broker, changed)

    async def moved_fit() -> bool:
        return await points() == "0.4000"

    await eventually(moved_fit, what="the score event changes the fit")

    await m.post(f"/campaigns/{cid}/open", None, expect=200)
    run = await m.run(cid, {"method": "stable"})
    results = await m.results(cid, run["id"])
    assert results[stayer["id"]]["post_id"] == standing["id"]
    assert results[temp["id"]]["post_id"] == phased["id"]
    await m.post(f"/campaigns/{cid}/confirm", {}, expect=200)

    async def roster_moved() -> bool:
        got = (await roster.client.get(f"/api/v1/roster/cadres/{stayer['id']}", headers=roster.auth())).json()
        return bool(got["unit_id"] == town["id"] and got["post_title"] == "招商专班副组长")

    await eventually(roster_moved, what="roster moves the cadre onto the standing post")
    hist = (await roster.client.get(f"/api/v1/roster/cadres/{stayer['id']}/history", headers=roster.auth())).json()
    assert any(h["kind"] == "moved" and cid in (h.get("reason") or "") for h in hist)

    async def on_assignment() -> bool:
        got = (await roster.client.get(f"/api/v1/roster/cadres/{temp['id']}?year=2026", headers=roster.auth())).json()
        return bool(got["availability"]["status"] == "on_assignment" and got["unit_id"] == organ["id"])

    await eventually(on_assignment, what="roster marks the phased placement as on assignment")

    async def mirror_follows() -> bool:
        async with m.runtime.sessions() as s:
            cadre = await get_cadre(s, mirror, stayer["id"])
        return cadre is not None and cadre.unit_id == town["id"]

    await eventually(mirror_follows, what="roster's move event flows back into matching's mirror")


async def test_a_post_at_a_unit_created_a_moment_ago_waits_for_the_mirror_and_lag_is_409_not_422(
    live_roster: RosterHarness, live_matching: MatchingHarness
) -> None:
    """Issue 17: for 1–4 s after a unit was created, a post at it answered 422 "unknown unit"."""
    roster, m = live_roster, live_matching
    city = await roster.unit("平湖市", "city")
    c = await m.campaign(year=2026)

    async def mirror_running() -> bool:  # the consumer has joined its group and caught up
        async with m.runtime.sessions() as s:
            return await get_unit(s, mirror, city["id"]) is not None

    await eventually(mirror_running, what="matching's mirror follows roster")
    # at once: the write waits (up to mirror_wait_seconds) for roster's event to arrive
    at_once = await roster.unit("新设专班", "city_organ", city["id"])
    made = await m.post(
        f"/campaigns/{c['id']}/posts",
        {"title": "专班", "host_unit_id": at_once["id"], "category": "经济管理", "seats": 1},
    )
    assert made.status_code == 201, made.text

    # the mirror's consumer is held back: the reference is not known *yet*, said so with Retry-After
    consumer = next(x for x in m.runtime.consumers if "roster.events" in x.topics)
    await consumer.stop()
    try:
        later = await roster.unit("又一专班", "city_organ", city["id"])
        body = {"title": "专班二", "host_unit_id": later["id"], "category": "经济管理", "seats": 1}
        lagging = await m.client.post(
            f"/api/v1/matching/campaigns/{c['id']}/posts",
            headers={**m.auth(), "Accept-Language": "zh-CN"},
            json=body,
        )
        assert lagging.status_code == 409, lagging.text
        assert lagging.headers["retry-after"] == "2"
        problem = lagging.json()
        assert problem["errors"][0]["field"] == "host_unit_id" and "稍后重试" in problem["errors"][0]["message"]
    finally:
        await consumer.start()

    async def accepted() -> bool:
        return (await m.post(f"/campaigns/{c['id']}/posts", body)).status_code == 201

    await eventually(accepted, what="the same request succeeds once the mirror caught up")
    # caught up, an id roster never had is the caller's mistake: 422 naming the field
    unknown = await m.post(
        f"/campaigns/{c['id']}/posts", {**body, "host_unit_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "host_unit_id"
