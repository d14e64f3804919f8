from __future__ import annotations

import asyncio

from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND
from tests.secondment.service.test_rules_and_bad_input import fields, running, small_world


async def test_one_cadre_nominated_twice_at_once_gets_one_secondment(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    other = await sec.ok(
        "/batches", {"name": "另一批", "year": 2018, "starts_on": "2018-03-01", "allow_unpaired": True}, 201
    )
    paired = {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "副镇长"}
    loose = {"cadre_id": w["down"]["cadre_id"], "to_unit_id": w["town"]["unit_id"], "title_held": "副镇长"}
    a, b = await asyncio.gather(
        sec.post(f"/batches/{w['batch']['id']}/nominations", paired, sub="officer-a"),
        sec.post(f"/batches/{other['id']}/nominations", loose, sub="officer-b"),
    )
    assert sorted([a.status_code, b.status_code]) == [201, 409], (a.text, b.text)
    loser = a if a.status_code == 409 else b
    assert fields(loser) == ["cadre_id"]
    assert await sec.count("secondments") == 1
    assert [e["type"] for e in await sec.outbox()] == ["secondment.nominated"]


async def test_two_officers_starting_one_secondment_at_once_one_wins(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    s = await running(sec, w)
    up = (await sec.get("/secondments", direction="grassroots_to_city")).json()["items"][0]
    a, b = await asyncio.gather(
        sec.post(f"/secondments/{up['id']}/start", {}, sub="officer-a"),
        sec.post(f"/secondments/{up['id']}/start", {"starts_on": "2018-03-05"}, sub="officer-b"),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    started = [e for e in await sec.outbox() if e["type"] == "secondment.started"]
    assert sorted(e["data"]["secondment_id"] for e in started) == sorted([s["id"], up["id"]])
    assert (await sec.get(f"/secondments/{up['id']}")).json()["version"] == 4  # nominated, vetted, approved, active


async def test_a_placement_from_matching_during_the_term_excludes_the_cadre(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    url = f"/batches/{w['batch']['id']}"
    cadre = w["down"]["cadre_id"]
    await sec.placement(cadre, "campaign-1", "phased", "2017-09-01", "2018-06-30")
    check = (await sec.get(f"{url}/eligibility", cadre_id=cadre, pair_id=w["pair"]["id"])).json()
    [rule] = [r for r in check["rules"] if not r["passed"]]
    assert rule["rule"] == "not_already_placed" and "campaign-1" in rule["detail"]
    refused = await sec.post(f"{url}/nominations", {"cadre_id": cadre, "pair_id": w["pair"]["id"], "title_held": "x"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "not_already_placed"
    # the same campaign confirms again with a shorter term that ends before the batch starts
    await sec.placement(cadre, "campaign-1", "phased", "2017-09-01", "2018-02-28")
    assert (await sec.get(f"{url}/eligibility", cadre_id=cadre, pair_id=w["pair"]["id"])).json()["eligible"]


async def test_a_withdrawal_frees_the_cadre_and_is_published(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    n = await sec.ok(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "x"},
        201,
    )
    await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
    gone = await sec.ok(f"/secondments/{n['id']}/withdraw", {"reason": "家庭原因"})
    assert gone["state"] == "withdrawn" and gone["withdraw_reason"] == "家庭原因"
    withdrawn = [e for e in await sec.outbox() if e["type"] == "secondment.withdrawn"]
    assert [e["data"]["reason"] for e in withdrawn] == ["家庭原因"]
    again = await sec.ok(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "副镇长"},
        201,
    )
    assert again["state"] == "nominated"
    stats = (await sec.get(f"/batches/{w['batch']['id']}/stats")).json()
    assert stats["total"]["count"] == 1  # the withdrawn nomination is not counted
