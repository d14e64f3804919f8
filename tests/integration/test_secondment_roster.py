"""Roster ↔ secondment through the real broker: secondment builds its roster mirror from
roster.events and its points from scoring.events (published here, as scoring would);
roster reacts to secondment.started/ended (availability, grassroots experience), and
the resulting roster.cadre.updated flows back into secondment's mirror."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from cadrekit.testing.plugin import Broker, Signer
from contracts import scoring
from contracts.envelope import dumps, envelope
from contracts.samples import sample
from services.secondment.app import MIGRATIONS
from services.secondment.app import create_app as create_secondment
from services.secondment.models import CadreScore, mirror
from services.secondment.settings import SecondmentSettings
from tests.conftest import RosterHarness
from tests.integration.conftest import eventually
from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND


@pytest.fixture
async def live_secondment(
    backend: str, database_factories: Any, signer: Signer, broker: Broker
) -> AsyncIterator[SecondmentHarness]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    settings = SecondmentSettings(
        database_url=url,
        mode="test",
        **broker.client_settings("secondment"),
        outbox_poll_seconds=0.1,
        broker_check_seconds=0.5,
    )
    app = create_secondment(settings, key_source=signer.key_source, configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://secondment") as client,
    ):
        yield SecondmentHarness(app, client, signer)


async def publish_score(broker: Broker, cadre_id: str, year: int, total: str) -> None:
    producer = AIOKafkaProducer(**broker.client_options(), acks="all")
    await producer.start()
    try:
        changed = sample(scoring.ScoreChanged, cadre_id=cadre_id, year=year, total=total, delta=total)
        env = envelope("scoring", changed.event())
        await producer.send_and_wait(changed.TOPIC, dumps(env), key=cadre_id.encode())
    finally:
        await producer.stop()


async def mirrored(sec: SecondmentHarness, cadre_id: str) -> dict[str, Any] | None:
    async with sec.app.state.runtime.engine.connect() as conn:
        row = (await conn.execute(select(mirror.cadres).where(mirror.cadres.c.cadre_id == cadre_id))).first()
    return None if row is None else dict(row._mapping)


async def foshan_pair(
    roster: RosterHarness, sec: SecondmentHarness, broker: Broker, **down: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """佛山市科技局 and 白坭镇 with one cadre each (``down`` in the organ, ``up`` in the town),
    both in secondment's roster mirror, ``up`` a strong performer (2.40 points in 2016):
    (organ, town, down, up)."""
    city = await roster.unit("佛山市", "city", region="佛山")
    district = await roster.unit("三水区", "district", city["id"], region="三水")
    organ = await roster.unit("佛山市科技局", "city_organ", city["id"], region="佛山")
    town = await roster.unit("白坭镇", "town", district["id"], region="三水")
    city_cadre = await roster.cadre(organ["id"], birth_date="1983-05-01", leadership_status="in_post", **down)
    up = await roster.cadre(town["id"], birth_date="1986-02-01", gender="female", party_member=False)

    async def both_mirrored() -> bool:
        return all([await mirrored(sec, city_cadre["id"]), await mirrored(sec, up["id"])])

    await eventually(both_mirrored, what="cadres in secondment's roster mirror")
    await publish_score(broker, up["id"], 2016, "2.40")

    async def scored() -> bool:
        async with sec.app.state.runtime.sessions() as s:
            return (await s.get(CadreScore, (up["id"], 2016))) is not None

    await eventually(scored, what="scoring.score.changed applied")
    return organ, town, city_cadre, up


async def nominate_vetted(
    sec: SecondmentHarness, batch_id: str, pair_id: str, nominees: list[tuple[dict[str, Any], str]]
) -> list[dict[str, Any]]:
    """Each (cadre, title held) nominated to the pair and vetted sound, in order."""
    nominated = []
    for cadre, title in nominees:
        n = await sec.ok(
            f"/batches/{batch_id}/nominations", {"cadre_id": cadre["id"], "pair_id": pair_id, "title_held": title}, 201
        )
        await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
        nominated.append(n)
    return nominated


async def test_a_paired_secondment_across_roster_and_secondment(
    live_roster: RosterHarness, live_secondment: SecondmentHarness, broker: Broker
) -> None:
    roster, sec = live_roster, live_secondment
    organ, town, down, up = await foshan_pair(roster, sec, broker, strengths=["科技创新"])
    batch = await sec.ok(
        "/batches",
        {"name": "首批", "year": 2017, "starts_on": "2017-04-01", "needed_specialties": ["科技创新"]},
        201,
    )
    pair = await sec.ok(
        f"/batches/{batch['id']}/pairs", {"city_organ_id": organ["id"], "grassroots_unit_id": town["id"]}, 201
    )
    nominated = await nominate_vetted(sec, batch["id"], pair["id"], [(down, "党委委员"), (up, "科员")])
    perf = next(r for r in nominated[1]["eligibility"] if r["rule"] == "strong_performer")
    assert perf["passed"] and "2.40 points in 2016 rank 1 of 1" in perf["detail"]
    await sec.ok(f"/batches/{batch['id']}/approve", {})
    for n in nominated:
        await sec.ok(f"/secondments/{n['id']}/start", {})

    async def availability(cadre_id: str, year: int) -> dict[str, Any]:
        resp = await roster.client.get(
            f"/api/v1/roster/cadres/{cadre_id}", params={"year": year}, headers=roster.auth()
        )
        return resp.json()  # type: ignore[no-any-return]

    async def both_seconded() -> bool:
        return all([(await availability(c["id"], 2018))["availability"]["status"] == "seconded" for c in (down, up)])

    await eventually(both_seconded, what="roster shows both cadres seconded")

    await sec.ok(f"/secondments/{nominated[0]['id']}/end", {"kind": "completed"})
    await sec.ok(
        f"/secondments/{nominated[1]['id']}/end", {"kind": "early", "ended_on": "2018-01-01", "reason": "工作需要"}
    )

    async def returned() -> bool:
        a, b = await availability(down["id"], 2019), await availability(up["id"], 2018)
        return a["grassroots_years"] == "2.0" and b["availability"]["status"] == "available"

    await eventually(returned, what="roster accrued grassroots years and cleared the secondments")
    city_cadre = await availability(down["id"], 2020)
    assert city_cadre["availability"]["status"] == "available"
    assert city_cadre["grassroots_periods"] == [{"start": "2017-04-01", "end": "2019-03-31", "unit_name": "白坭镇"}]
    town_cadre = await availability(up["id"], 2018)
    assert town_cadre["grassroots_periods"] == []  # seconded to a city organ: no grassroots time
    history = (await roster.client.get(f"/api/v1/roster/cadres/{down['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "seconded", "returned"]

    # roster.cadre.updated flows back: the city cadre now has two years and no longer qualifies
    async def mirror_updated() -> bool:
        row = await mirrored(sec, down["id"])
        return row is not None and row["state"].get("grassroots_years") == "2.0"

    await eventually(mirror_updated, what="secondment's mirror updated from roster")
    second = await sec.ok("/batches", {"name": "第二批", "year": 2019, "starts_on": "2019-06-01"}, 201)
    pair2 = await sec.ok(
        f"/batches/{second['id']}/pairs", {"city_organ_id": organ["id"], "grassroots_unit_id": town["id"]}, 201
    )
    check = (await sec.get(f"/batches/{second['id']}/eligibility", cadre_id=down["id"], pair_id=pair2["id"])).json()
    assert [r["rule"] for r in check["rules"] if not r["passed"]] == ["grassroots_experience_under_2_years"]
