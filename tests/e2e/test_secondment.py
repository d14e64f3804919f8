"""The Foshan first batch end to end, through the gateway, as the cadre office would run it:
the roster entered, 15 + 15 in pairs nominated, vetted, approved against the quota, started,
completed; the statistics as Foshan reported them; roster sees the secondments and accrues
the grassroots years. Scoring's events are published here, as scoring would publish them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook

from contracts import scoring
from contracts.envelope import dumps, envelope
from contracts.samples import sample
from deploy.launcher import System
from tests.e2e.support import read_topic, token
from tests.factories import cadre_body
from tests.secondment.foshan import ORGANS, START, TOWNS, people

pytestmark = pytest.mark.e2e
SEC = "/api/v1/secondment"
SOUND = {
    "political_quality": "sound",
    "moral_quality": "sound",
    "results": "sound",
    "diligence": "sound",
    "integrity": "sound",
    "discipline_reference": "佛纪函〔2017〕8号",
    "discipline_opinion": "未发现违纪问题",
}


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


async def officer_headers(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    made = await client.post(
        "/api/v1/auth/clients", headers=admin, json={"name": "市委组织部干部科", "role": "officer"}
    )
    assert made.status_code == 201, made.text
    resp = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made.json()["client_id"],
            "client_secret": made.json()["client_secret"],
        },
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def publish_scores(bootstrap: str, totals: dict[str, str], year: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for cadre_id, total in totals.items():
            changed = sample(
                scoring.ScoreChanged,
                cadre_id=cadre_id,
                year=year,
                total=total,
                delta=total,
                cause_entry_id=f"e-{cadre_id[:8]}",
            )
            env = envelope("scoring", changed.event())
            await producer.send_and_wait(changed.TOPIC, dumps(env), key=cadre_id.encode())
    finally:
        await producer.stop()


async def test_the_foshan_first_batch_through_the_gateway(system: System) -> None:
    bootstrap = f"127.0.0.1:{system.layout.broker_port}"
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        office = await officer_headers(client, admin)

        async def post(path: str, body: dict[str, Any], status: int = 200, headers: dict[str, str] = office) -> Any:
            resp = await client.post(path, headers=headers, json=body)
            assert resp.status_code == status, f"{path}: {resp.status_code} {resp.text}"
            return resp.json()

        # the roster: the city, five districts, 15 organs, 15 towns, 30 cadres
        city = await post("/api/v1/roster/units", {"name": "佛山市", "kind": "city", "region": "佛山"}, 201, admin)
        districts = {
            r: await post(
                "/api/v1/roster/units",
                {"name": f"{r}区", "kind": "district", "region": r, "parent_id": city["id"]},
                201,
                admin,
            )
            for r in sorted({r for _, r in TOWNS})
        }
        organs = [
            await post(
                "/api/v1/roster/units",
                {"name": n, "kind": "city_organ", "region": "佛山", "parent_id": city["id"]},
                201,
                admin,
            )
            for n in ORGANS
        ]
        towns = [
            await post(
                "/api/v1/roster/units",
                {"name": n, "kind": "town", "region": r, "parent_id": districts[r]["id"]},
                201,
                admin,
            )
            for n, r in TOWNS
        ]
        cadres: dict[tuple[str, int], dict[str, Any]] = {}
        for p in people():
            unit = organs[p.index] if p.side == "city" else towns[p.index]
            body = cadre_body(
                unit["id"],
                name=p.name,
                gender=p.gender,
                birth_date=p.birth_date,
                party_member=p.party_member,
                strengths=[p.strength],
                leadership_status="non_leading",
            )
            cadres[(p.side, p.index)] = await post("/api/v1/roster/cadres", body, 201, admin)

        # 2016 points: the first five town cadres lead; the office judges the other ten by hand
        await publish_scores(
            bootstrap,
            {cadres[("town", i)]["id"]: f"{(4.0 if i < 5 else 1.0) + i / 10:.2f}" for i in range(15)},
            2016,
        )

        bad = await client.post(
            f"{SEC}/batches",
            headers={**office, "Accept-Language": "zh-CN"},
            json={"name": "x", "year": 2017, "starts_on": "2017-04-01", "term_months": 120},
        )
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["errors"][0]["field"] == "term_months" and bad.json()["title"] == "请求参数无效"

        batch = await post(
            f"{SEC}/batches",
            {
                "name": "首批优秀年轻干部双向挂职锻炼",
                "year": 2017,
                "starts_on": START.isoformat(),
                "needed_specialties": ["城市规划", "社会保障", "科技创新", "财政", "农业"],
                "quota_rules": [{"direction": "city_to_grassroots", "regions": ["三水", "高明"], "min_share": "2/3"}],
            },
            201,
        )

        async def pair_for(i: int) -> dict[str, Any]:
            body = {"city_organ_id": organs[i]["id"], "grassroots_unit_id": towns[i]["id"]}
            resp = await client.post(f"{SEC}/batches/{batch['id']}/pairs", headers=office, json=body)
            if resp.status_code == 422:  # not mirrored yet: roster events still on their way
                return {}
            assert resp.status_code == 201, resp.text
            return resp.json()  # type: ignore[no-any-return]

        pairs: list[dict[str, Any]] = []
        for i in range(15):
            got: dict[str, Any] = {}

            async def made(i: int = i) -> bool:
                nonlocal got
                got = await pair_for(i)
                return bool(got)

            await until(made, f"pair {i} (units mirrored from roster)")
            pairs.append(got)

        async def last_cadre_mirrored_and_scored() -> bool:
            resp = await client.get(
                f"{SEC}/batches/{batch['id']}/eligibility",
                headers=office,
                params={"cadre_id": cadres[("town", 4)]["id"], "pair_id": pairs[4]["id"]},
            )
            return resp.status_code == 200 and resp.json()["eligible"]

        await until(last_cadre_mirrored_and_scored, "cadres and points mirrored")

        unjudged = await client.post(
            f"{SEC}/batches/{batch['id']}/nominations",
            headers=office,
            json={"cadre_id": cadres[("town", 9)]["id"], "pair_id": pairs[9]["id"], "title_held": "科员"},
        )
        assert unjudged.status_code == 422 and unjudged.json()["errors"][0]["rule"] == "strong_performer"

        secondments = []
        for i in range(15):
            for side, title in (("city", "党委委员"), ("town", "科员")):
                nomination: dict[str, Any] = {
                    "cadre_id": cadres[(side, i)]["id"],
                    "pair_id": pairs[i]["id"],
                    "title_held": title,
                }
                if side == "town" and i >= 5:
                    nomination["performance_judgement"] = "strong"
                secondments.append(await post(f"{SEC}/batches/{batch['id']}/nominations", nomination, 201))
        for s in secondments[:-1]:
            assert (await post(f"{SEC}/secondments/{s['id']}/vetting", SOUND))["state"] == "vetted"
        # no approval without complete vetting: the last nominee has only part of it
        partial = await post(f"{SEC}/secondments/{secondments[-1]['id']}/vetting", {"political_quality": "sound"})
        assert partial["state"] == "nominated" and "discipline_reference" in partial["vetting"]["missing"]
        early = await client.post(f"{SEC}/batches/{batch['id']}/approve", headers=office)
        assert early.status_code == 409 and [u["secondment_id"] for u in early.json()["unvetted"]] == [
            secondments[-1]["id"]
        ]
        assert (await post(f"{SEC}/secondments/{secondments[-1]['id']}/vetting", SOUND))["state"] == "vetted"
        approved = await post(f"{SEC}/batches/{batch['id']}/approve", {})
        assert approved["state"] == "approved" and approved["approved"] == 30

        stats = (await client.get(f"{SEC}/batches/{batch['id']}/stats", headers=office)).json()
        total = stats["total"]
        assert (total["count"], total["average_age"], total["non_party"], total["women"]) == (30, "33.8", 7, 3)
        down = stats["by_direction"]["city_to_grassroots"]
        assert down["count"] == 15 and (down["by_region"]["三水"], down["by_region"]["高明"]) == (7, 4)
        assert stats["by_direction"]["grassroots_to_city"]["count"] == 15

        for s in secondments:
            started = await post(f"{SEC}/secondments/{s['id']}/start", {})
            assert started["ends_on"] == "2019-03-31"  # the term's last day (issue 17)
        city_ids = [cadres[("city", i)]["id"] for i in range(15)]

        async def roster_status(cadre_id: str, year: int) -> dict[str, Any]:
            resp = await client.get(f"/api/v1/roster/cadres/{cadre_id}", headers=admin, params={"year": year})
            return resp.json()  # type: ignore[no-any-return]

        async def all_seconded() -> bool:
            return all([(await roster_status(c, 2018))["availability"]["status"] == "seconded" for c in city_ids])

        await until(all_seconded, "roster shows the city cadres seconded")

        for s in secondments:
            await post(f"{SEC}/secondments/{s['id']}/end", {"kind": "completed"})
        review = await post(
            f"{SEC}/secondments/{secondments[0]['id']}/reviews",
            {"kind": "end_of_term", "rating": "excellent", "reviewed_on": "2019-04-01", "comments": "业绩突出"},
            201,
        )
        assert review["reserve_entry"]["cadre_id"] == city_ids[0]
        pool = (await client.get(f"{SEC}/reserve-pool", headers=office)).json()["items"]
        assert [e["cadre_id"] for e in pool] == [city_ids[0]]

        async def all_accrued() -> bool:
            got = [await roster_status(c, 2020) for c in city_ids]
            return all(g["grassroots_years"] == "2.0" and g["availability"]["status"] == "available" for g in got)

        await until(all_accrued, "roster accrued two grassroots years for every city cadre")
        town_cadre = await roster_status(cadres[("town", 0)]["id"], 2020)
        assert town_cadre["grassroots_years"] == "0.0" and town_cadre["availability"]["status"] == "available"

        export = await client.get(f"{SEC}/batches/{batch['id']}/export", headers=office)
        assert export.status_code == 200 and export.content[:2] == b"PK"
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert sheet is not None and sheet.max_row == 31

        contract = (await client.get("/api/v1/asyncapi.json")).json()
        assert "secondment.events" in contract["channels"]
        names = {m["name"] for m in contract["components"]["messages"].values()}
        assert {"secondment.started", "secondment.ended", "secondment.reserve.added"} <= names

    # each placement event at version 2, and its version-1 companion (docs/events.md "Versions")
    published = await read_topic(bootstrap, "secondment.events", want=30 * 4 * 2 + 2, timeout_s=60)
    kinds: dict[str, int] = {}
    for e in published:
        name = f"{e['type']}@{e.get('dataversion', '1')}"
        kinds[name] = kinds.get(name, 0) + 1
    placements = ("nominated", "approved", "started", "ended")
    assert kinds == {
        **{f"secondment.{p}@2": 30 for p in placements},
        **{f"secondment.{p}@1": 30 for p in placements},
        "secondment.review.recorded@1": 1,
        "secondment.reserve.added@1": 1,
    }
    assert all(
        e["dataversion"] == "2" for e in published if e["type"] == "secondment.started" and "supersededby" not in e
    )
    assert "未发现违纪问题" not in str(published)
