"""The Foshan first batch through the API: 15 + 15 in pairs, quotas, vetting, the term,
reviews and the reserve pool, and the statistics as Foshan reported them."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from openpyxl import load_workbook

from tests.secondment.conftest import SecondmentHarness
from tests.secondment.foshan import ORGANS, START, TOWNS, people

SOUND = {
    "political_quality": "sound",
    "moral_quality": "sound",
    "results": "sound",
    "diligence": "sound",
    "integrity": "sound",
    "discipline_reference": "佛纪函〔2017〕8号",
    "discipline_opinion": "未发现违纪问题",
}
TWO_THIRDS = {"direction": "city_to_grassroots", "regions": ["三水", "高明"], "min_share": "2/3"}


async def seed(sec: SecondmentHarness, towns: list[tuple[str, str]] = TOWNS) -> dict[str, Any]:
    """Units and cadres in the mirror, 2016 points for grassroots cadres."""
    city = await sec.unit("佛山市", "city", "佛山")
    districts = {r: await sec.unit(f"{r}区", "district", r, city) for r in sorted({r for _, r in towns})}
    organs = [await sec.unit(n, "city_organ", "佛山", city) for n in ORGANS]
    town_units = [await sec.unit(n, "town", r, districts[r]) for n, r in towns]
    cadres: dict[tuple[str, int], dict[str, Any]] = {}
    for p in people():
        unit = organs[p.index] if p.side == "city" else town_units[p.index]
        cadres[(p.side, p.index)] = await sec.cadre(
            unit,
            name=p.name,
            gender=p.gender,
            birth_date=p.birth_date,
            party_member=p.party_member,
            strengths=[p.strength],
        )
        if p.side == "town":
            await sec.score(cadres[(p.side, p.index)]["cadre_id"], 2016, f"{3 + p.index / 10:.2f}")
    # 35 more grassroots cadres with fewer points: 15 of 50 is the top 30%
    for i in range(35):
        other = await sec.cadre(town_units[i % 15], name=f"镇街其他{i}")
        await sec.score(other["cadre_id"], 2016, f"{i / 20:.2f}")
    return {"organs": organs, "towns": town_units, "cadres": cadres}


async def nominate_all(sec: SecondmentHarness, batch_id: str, world: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for i in range(15):
        pair = await sec.ok(
            f"/batches/{batch_id}/pairs",
            {"city_organ_id": world["organs"][i]["unit_id"], "grassroots_unit_id": world["towns"][i]["unit_id"]},
            201,
        )
        for side, title in (("city", "党委委员"), ("town", "科员")):
            cadre = world["cadres"][(side, i)]
            body = {"cadre_id": cadre["cadre_id"], "pair_id": pair["id"], "title_held": title}
            out.append(await sec.ok(f"/batches/{batch_id}/nominations", body, 201))
    return out


async def foshan_batch(sec: SecondmentHarness, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "首批优秀年轻干部双向挂职",
        "year": 2017,
        "starts_on": START.isoformat(),
        "needed_specialties": ["城市规划", "社会保障", "科技创新", "财政", "农业"],
        "quota_rules": [TWO_THIRDS],
        **overrides,
    }
    return await sec.ok("/batches", body, 201)


async def test_the_first_batch_from_nomination_to_completion(sec: SecondmentHarness) -> None:
    world = await seed(sec)
    batch = await foshan_batch(sec)
    assert batch["term_months"] == 24 and batch["planned_ends_on"] == "2019-03-31"
    nominated = await nominate_all(sec, batch["id"], world)
    assert {n["direction"] for n in nominated} == {"city_to_grassroots", "grassroots_to_city"}
    up = next(n for n in nominated if n["direction"] == "grassroots_to_city")
    assert any("rank" in r["detail"] and r["passed"] for r in up["eligibility"] if r["rule"] == "strong_performer")

    early = await sec.post(f"/batches/{batch['id']}/approve", {})
    assert early.status_code == 409 and early.json()["state"] == "nominated" and len(early.json()["unvetted"]) == 30

    for n in nominated:
        vetted = await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
        assert vetted["state"] == "vetted" and vetted["vetting"]["discipline_opinion"] == "******"
    approved = await sec.ok(f"/batches/{batch['id']}/approve", {})
    assert approved["state"] == "approved" and approved["approved"] == 30

    stats = (await sec.get(f"/batches/{batch['id']}/stats")).json()
    total = stats["total"]
    assert (total["count"], total["average_age"], total["non_party"], total["women"]) == (30, "33.8", 7, 3)
    down = stats["by_direction"]["city_to_grassroots"]
    assert down["count"] == 15 and down["by_region"]["三水"] == 7 and down["by_region"]["高明"] == 4
    assert down["by_unit_kind"] == {"town": 15}
    assert stats["by_direction"]["grassroots_to_city"]["count"] == 15

    for n in nominated:
        started = await sec.ok(f"/secondments/{n['id']}/start", {})
        assert (started["starts_on"], started["ends_on"]) == ("2017-04-01", "2019-03-31")
    first = nominated[0]
    assert (
        await sec.ok(
            f"/secondments/{first['id']}/reviews",
            {"kind": "annual", "rating": "competent", "reviewed_on": "2017-12-20"},
            201,
        )
    )["reserve_entry"] is None
    for n in nominated:
        done = await sec.ok(f"/secondments/{n['id']}/end", {"kind": "completed"})
        assert (done["state"], done["days_served"], done["ended_on"]) == ("completed", 730, "2019-03-31")
    excellent = await sec.ok(
        f"/secondments/{first['id']}/reviews",
        {"kind": "end_of_term", "rating": "excellent", "reviewed_on": "2019-04-01", "comments": "业绩突出"},
        201,
    )
    assert excellent["reserve_entry"]["source"] == f"secondment/{first['id']}"
    pool = (await sec.get("/reserve-pool")).json()["items"]
    assert [(e["cadre_id"], e["added_on"]) for e in pool] == [(first["cadre_id"], "2019-04-01")]

    events = await sec.outbox()
    counts: dict[str, int] = {}
    for e in events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    assert counts == {
        "secondment.nominated": 30,
        "secondment.approved": 30,
        "secondment.started": 30,
        "secondment.ended": 30,
        "secondment.review.recorded": 2,
        "secondment.reserve.added": 1,
    }
    ended_down = next(
        e for e in events if e["type"] == "secondment.ended" and e["data"]["direction"] == "city_to_grassroots"
    )
    assert ended_down["data"]["grassroots_days"] == 730 and ended_down["data"]["to_unit_kind"] == "town"
    ended_up = next(
        e for e in events if e["type"] == "secondment.ended" and e["data"]["direction"] == "grassroots_to_city"
    )
    assert ended_up["data"]["grassroots_days"] == 0
    assert all(e["subject"].startswith(("secondment/", "reserve/")) for e in events)
    nominated_event = next(e for e in events if e["type"] == "secondment.nominated")
    assert (nominated_event["data"]["starts_on"], nominated_event["data"]["ends_on"]) == ("2017-04-01", "2019-03-31")
    assert nominated_event["dataversion"] == "2"  # ends_on is the term's last day since issue 17
    assert "未发现违纪问题" not in str(events)

    export = await sec.client.get(f"/api/v1/secondment/batches/{batch['id']}/export", headers=sec.auth("portal"))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("姓名", "方向", "派出单位", "挂职单位", "挂任职务") and len(rows) == 31
    assert sum(1 for r in rows[1:] if r[5] in ("三水", "高明") and r[1] == "市直→基层") == 11


async def test_approval_is_refused_with_the_unmet_rule_and_its_numbers(sec: SecondmentHarness) -> None:
    # only 5 of the 15 towns lie in Sanshui or Gaoming this time
    towns = [(n, "三水" if i < 5 else "南海") for i, (n, _) in enumerate(TOWNS)]
    world = await seed(sec, towns)
    batch = await foshan_batch(sec)
    for n in await nominate_all(sec, batch["id"], world):
        await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
    refused = await sec.post(f"/batches/{batch['id']}/approve", {})
    assert refused.status_code == 409, refused.text
    [rule] = refused.json()["unmet_rules"]
    assert (rule["count"], rule["of"], rule["bound"], rule["required"]) == (5, 15, "min_share", "2/3")
    assert "5 of 15" in refused.json()["detail"]
    assert (await sec.get(f"/batches/{batch['id']}")).json()["state"] == "open"
    assert not [e for e in await sec.outbox() if e["type"] == "secondment.approved"]


async def test_two_officers_approving_at_once_one_wins(sec: SecondmentHarness) -> None:
    world = await seed(sec)
    batch = await foshan_batch(sec)
    for n in await nominate_all(sec, batch["id"], world):
        await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
    a, b = await asyncio.gather(
        sec.post(f"/batches/{batch['id']}/approve", {}, sub="officer-a"),
        sec.post(f"/batches/{batch['id']}/approve", {}, sub="officer-b"),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    approved = [e for e in await sec.outbox() if e["type"] == "secondment.approved"]
    assert len(approved) == 30
    winner = a if a.status_code == 200 else b
    assert (await sec.get(f"/batches/{batch['id']}")).json()["approved_by"] == winner.json()["approved_by"]
