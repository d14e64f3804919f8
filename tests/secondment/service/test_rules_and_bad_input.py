"""Bad input is a clear problem+json naming the field or the state, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND

PROBLEM = "application/problem+json"


async def small_world(sec: SecondmentHarness, **batch: Any) -> dict[str, Any]:
    """One organ, one town in Sanshui, a city cadre and a town cadre, a batch and their pair."""
    city = await sec.unit("佛山市", "city", "佛山")
    district = await sec.unit("三水区", "district", "三水", city)
    organ = await sec.unit("佛山市科技局", "city_organ", "佛山", city)
    other_organ = await sec.unit("佛山市财政局", "city_organ", "佛山", city)
    town = await sec.unit("北滘镇", "town", "三水", district)
    village = await sec.unit("某村", "village", "三水", town)
    down = await sec.cadre(organ, name="市直甲", strengths=["科技创新"])
    up = await sec.cadre(village, name="村干部乙")
    body = {"name": "2018 批", "year": 2018, "starts_on": "2018-03-01", "needed_specialties": ["科技创新"], **batch}
    b = await sec.ok("/batches", body, 201)
    pair = await sec.ok(
        f"/batches/{b['id']}/pairs", {"city_organ_id": organ["unit_id"], "grassroots_unit_id": town["unit_id"]}, 201
    )
    return {"batch": b, "pair": pair, "organ": organ, "other_organ": other_organ, "town": town, "down": down, "up": up}


async def running(sec: SecondmentHarness, w: dict[str, Any]) -> dict[str, Any]:
    """Both sides nominated, vetted, approved and the city cadre's secondment started."""
    b, pair = w["batch"], w["pair"]
    down = await sec.ok(
        f"/batches/{b['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": pair["id"], "title_held": "副镇长"},
        201,
    )
    up = await sec.ok(
        f"/batches/{b['id']}/nominations",
        {
            "cadre_id": w["up"]["cadre_id"],
            "pair_id": pair["id"],
            "title_held": "科员",
            "performance_judgement": "strong",
        },
        201,
    )
    for n in (down, up):
        await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
    await sec.ok(f"/batches/{b['id']}/approve", {})
    return await sec.ok(f"/secondments/{down['id']}/start", {})


def fields(resp: Any) -> list[str]:
    return [e["field"] for e in resp.json().get("errors", [])]


@pytest.mark.parametrize("months", [0, 120, -3])
async def test_a_term_of_0_or_120_months_is_refused(sec: SecondmentHarness, months: int) -> None:
    resp = await sec.post("/batches", {"name": "x", "year": 2018, "starts_on": "2018-03-01", "term_months": months})
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM
    assert fields(resp) == ["term_months"] and "between 1 and 60" in resp.json()["errors"][0]["message"]
    assert await sec.count("batches") == 0


async def test_contradictory_quota_rules_are_refused_naming_the_rules(sec: SecondmentHarness) -> None:
    rules = [
        {"regions": ["三水"], "min_count": 8},
        {"regions": ["三水", "高明"], "max_count": 6},
        {"regions": ["高明"], "min_share": "2/3"},
        {"regions": ["顺德"], "min_share": "1/2"},
    ]
    resp = await sec.post("/batches", {"name": "x", "year": 2018, "starts_on": "2018-03-01", "quota_rules": rules})
    assert resp.status_code == 422, resp.text
    assert fields(resp) == ["quota_rules[0].min_count", "quota_rules[2].min_share"]
    bad_share = await sec.post(
        "/batches",
        {
            "name": "x",
            "year": 2018,
            "starts_on": "2018-03-01",
            "quota_rules": [{"regions": ["三水"], "min_share": "3/2"}],
        },
    )
    assert bad_share.status_code == 422 and fields(bad_share) == ["quota_rules[0].min_share"]
    assert await sec.count("batches") == 0


async def test_a_pair_of_two_city_organs_is_refused(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    resp = await sec.post(
        f"/batches/{w['batch']['id']}/pairs",
        {"city_organ_id": w["organ"]["unit_id"], "grassroots_unit_id": w["other_organ"]["unit_id"]},
    )
    assert resp.status_code == 422 and fields(resp) == ["grassroots_unit_id"]
    assert "city_organ" in resp.json()["errors"][0]["message"]
    swapped = await sec.post(
        f"/batches/{w['batch']['id']}/pairs",
        {"city_organ_id": w["town"]["unit_id"], "grassroots_unit_id": w["town"]["unit_id"]},
    )
    assert swapped.status_code == 422 and fields(swapped) == ["city_organ_id"]
    unknown = await sec.post(
        f"/batches/{w['batch']['id']}/pairs",
        {"city_organ_id": "no-such-unit", "grassroots_unit_id": w["town"]["unit_id"]},
    )
    assert unknown.status_code == 422 and fields(unknown) == ["city_organ_id"]
    again = await sec.post(
        f"/batches/{w['batch']['id']}/pairs",
        {"city_organ_id": w["organ"]["unit_id"], "grassroots_unit_id": w["town"]["unit_id"]},
    )
    assert again.status_code == 409
    assert await sec.count("pairs") == 1


async def test_a_cadre_in_two_active_secondments_is_refused(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    await running(sec, w)
    second = await sec.ok(
        "/batches", {"name": "2019 批", "year": 2019, "starts_on": "2019-03-01", "needed_specialties": []}, 201
    )
    pair = await sec.ok(
        f"/batches/{second['id']}/pairs",
        {"city_organ_id": w["organ"]["unit_id"], "grassroots_unit_id": w["town"]["unit_id"]},
        201,
    )
    before = await sec.count("outbox")
    resp = await sec.post(
        f"/batches/{second['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": pair["id"], "title_held": "x"},
    )
    assert resp.status_code == 409 and fields(resp) == ["cadre_id"]
    assert await sec.count("outbox") == before and await sec.count("secondments") == 2


async def test_transitions_that_do_not_fit_the_state_are_409_naming_it(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    b, pair = w["batch"], w["pair"]
    n = await sec.ok(
        f"/batches/{b['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": pair["id"], "title_held": "x"},
        201,
    )
    for path, body in (
        ("start", {}),
        ("end", {"kind": "completed"}),
        ("extend", {"months": 3, "reason": "工作需要"}),
    ):
        resp = await sec.post(f"/secondments/{n['id']}/{path}", body)
        assert resp.status_code == 409 and resp.headers["content-type"] == PROBLEM, resp.text
        assert resp.json()["state"] == "nominated" and "state nominated" in resp.json()["detail"]
    review = await sec.post(
        f"/secondments/{n['id']}/reviews", {"kind": "routine", "rating": "competent", "reviewed_on": "2018-05-01"}
    )
    assert review.status_code == 409 and review.json()["state"] == "nominated"
    assert await sec.count("reviews") == 0
    withdrawn = await sec.ok(f"/secondments/{n['id']}/withdraw", {"reason": "本人申请"})
    assert withdrawn["state"] == "withdrawn"
    again = await sec.post(f"/secondments/{n['id']}/vetting", SOUND)
    assert again.status_code == 409 and again.json()["state"] == "withdrawn"


async def test_pairs_go_both_ways_before_approval(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    n = await sec.ok(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "x"},
        201,
    )
    await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
    resp = await sec.post(f"/batches/{w['batch']['id']}/approve", {})
    assert resp.status_code == 409 and resp.json()["incomplete_pairs"] == [w["pair"]["id"]]


async def test_unpaired_placements_only_when_the_batch_allows(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    body = {"cadre_id": w["down"]["cadre_id"], "to_unit_id": w["town"]["unit_id"], "title_held": "x"}
    refused = await sec.post(f"/batches/{w['batch']['id']}/nominations", body)
    assert refused.status_code == 422 and fields(refused) == ["pair_id"]
    loose = await sec.ok(
        "/batches", {"name": "单向", "year": 2018, "starts_on": "2018-03-01", "allow_unpaired": True}, 201
    )
    placed = await sec.ok(f"/batches/{loose['id']}/nominations", body, 201)
    assert placed["direction"] == "city_to_grassroots" and placed["pair_id"] is None
    await sec.ok(f"/secondments/{placed['id']}/vetting", SOUND)
    assert (await sec.ok(f"/batches/{loose['id']}/approve", {}))["approved"] == 1


async def test_ending_dates_and_early_ends(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    s = await running(sec, w)
    assert (s["starts_on"], s["ends_on"]) == ("2018-03-01", "2020-02-29")
    before = await sec.post(
        f"/secondments/{s['id']}/end", {"kind": "early", "ended_on": "2018-02-01", "reason": "调动"}
    )
    assert before.status_code == 422 and fields(before) == ["ended_on"]
    no_reason = await sec.post(f"/secondments/{s['id']}/end", {"kind": "early", "ended_on": "2018-12-01"})
    assert no_reason.status_code == 422 and fields(no_reason) == ["reason"]
    too_soon = await sec.post(f"/secondments/{s['id']}/end", {"kind": "completed", "ended_on": "2019-03-01"})
    assert too_soon.status_code == 422 and fields(too_soon) == ["ended_on"]
    bad_review = await sec.post(
        f"/secondments/{s['id']}/reviews", {"kind": "routine", "rating": "competent", "reviewed_on": "2018-01-01"}
    )
    assert bad_review.status_code == 422 and fields(bad_review) == ["reviewed_on"]
    no_reason_ext = await sec.post(f"/secondments/{s['id']}/extend", {"months": 6})
    assert no_reason_ext.status_code == 422 and fields(no_reason_ext) == ["reason"]
    too_long = await sec.post(f"/secondments/{s['id']}/extend", {"months": 40, "reason": "项目未完"})
    assert too_long.status_code == 422 and fields(too_long) == ["months"]
    assert (await sec.get(f"/secondments/{s['id']}")).json()["state"] == "active"
    ext = await sec.ok(f"/secondments/{s['id']}/extend", {"months": 6, "reason": "项目未完"})
    assert ext["ends_on"] == "2020-08-31" and ext["term_months"] == 30 and ext["extensions"][0]["reason"] == "项目未完"
    ended = await sec.ok(f"/secondments/{s['id']}/end", {"kind": "early", "ended_on": "2018-11-30", "reason": "调动"})
    assert (ended["state"], ended["end_kind"], ended["days_served"]) == ("ended_early", "early", 275)
    events = [e for e in await sec.outbox() if e["type"] in ("secondment.extended", "secondment.ended")]
    assert [e["type"] for e in events] == ["secondment.extended", "secondment.ended"]
    assert events[1]["data"]["grassroots_days"] == 275 and events[1]["data"]["reason"] == "调动"
    end_review = await sec.post(
        f"/secondments/{s['id']}/reviews", {"kind": "end_of_term", "rating": "excellent", "reviewed_on": "2018-12-01"}
    )
    assert end_review.status_code == 409 and end_review.json()["state"] == "ended_early"
    # the cadre is free again
    nominated_again = await sec.post(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "x"},
    )
    assert nominated_again.status_code == 409 and nominated_again.json()["state"] == "approved"  # the batch is closed


async def test_unknown_fields_and_nul_are_refused(sec: SecondmentHarness) -> None:
    resp = await sec.post("/batches", {"name": "x", "year": 2018, "starts_on": "2018-03-01", "state": "approved"})
    assert resp.status_code == 422 and fields(resp) == ["state"]
    nul = await sec.post("/batches", {"name": "a\x00b", "year": 2018, "starts_on": "2018-03-01"})
    assert nul.status_code == 422 and fields(nul) == ["name"]
    missing = await sec.get("/secondments/nope")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
