"""Bad input answers problem+json naming the field, and writes nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from services.matching.models import PoolMember, Post, Run
from tests.matching.conftest import API, MatchingHarness

FUTURE = "2030-01-01"


async def _count(h: MatchingHarness, model: type) -> int:
    async with h.runtime.sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


def _fields(resp: object) -> list[str]:
    body = resp.json()  # type: ignore[attr-defined]
    assert resp.headers["content-type"] == "application/problem+json", body  # type: ignore[attr-defined]
    return [e["field"] for e in body["errors"]]


async def test_posts_refuse_bad_seats_unknown_units_and_missing_terms(matching: MatchingHarness) -> None:
    unit = await matching.unit()
    c = await matching.campaign()
    base = {"title": "岗位", "host_unit_id": unit, "category": "经济管理"}
    zero = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 0})
    assert zero.status_code == 422 and _fields(zero) == ["seats"]
    unknown = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 1, "host_unit_id": "nope"})
    assert unknown.status_code == 422 and _fields(unknown) == ["host_unit_id"]
    phased = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 1, "kind": "phased"})
    assert phased.status_code == 422
    category = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 1, "category": "其他"})
    assert category.status_code == 422 and _fields(category) == ["category"]
    extra = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 1, "status": "x"})
    assert extra.status_code == 422 and _fields(extra) == ["status"]
    nul = await matching.post(f"/campaigns/{c['id']}/posts", {**base, "seats": 1, "title": "a\x00b"})
    assert nul.status_code == 422
    assert await _count(matching, Post) == 0
    missing = await matching.post("/campaigns/nope/posts", {**base, "seats": 1})
    assert missing.status_code == 404


async def test_rankings_naming_unknown_or_repeated_entries_are_refused(matching: MatchingHarness) -> None:
    unit = await matching.unit()
    cadres = [await matching.cadre(unit, retirement_date=FUTURE) for _ in range(2)]
    c = await matching.campaign()
    p = await matching.add_post(c["id"], unit)
    ids = [x["cadre_id"] for x in cadres]
    bad_pool = await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [ids[0], "ghost", ids[0]]})
    assert bad_pool.status_code == 422 and sorted(_fields(bad_pool)) == ["cadre_ids[1]", "cadre_ids[2]"]
    both = await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": ids, "filter": {}})
    assert both.status_code == 422
    assert await _count(matching, PoolMember) == 0
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": ids}, 200)
    url = f"/campaigns/{c['id']}/preferences/cadres/{ids[0]}"
    unknown = await matching.put(url, {"posts": [p["id"], "ghost-post"]})
    assert unknown.status_code == 422 and _fields(unknown) == ["posts[1]"]
    twice = await matching.put(url, {"posts": [p["id"], p["id"]]})
    assert twice.status_code == 422 and _fields(twice) == ["posts[1]"]
    post_url = f"/campaigns/{c['id']}/preferences/posts/{p['id']}"
    outsider = await matching.put(post_url, {"cadres": [ids[1], "ghost"]})
    assert outsider.status_code == 422 and _fields(outsider) == ["cadres[1]"]
    not_member = await matching.put(f"/campaigns/{c['id']}/preferences/cadres/ghost", {"posts": []})
    assert not_member.status_code == 404
    pool = (await matching.get(f"/campaigns/{c['id']}/pool")).json()
    assert all(m["ranking"] is None for m in pool["eligible"])


async def test_infeasible_quotas_name_the_quota_and_the_shortfall_and_write_nothing(matching: MatchingHarness) -> None:
    organ = await matching.unit("县政府", body="government")
    town = await matching.unit("某镇", "town")
    cadres = [await matching.cadre(organ, retirement_date=FUTURE, post_wishes=["经济管理"]) for _ in range(3)]
    c = await matching.campaign()
    await matching.add_post(c["id"], organ, seats=5)
    await matching.add_post(c["id"], town, seats=5, category="民生事业")
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [x["cadre_id"] for x in cadres]}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    quotas = [
        {"dimension": "body", "value": "government", "min": 1},
        {"dimension": "category", "value": "民生事业", "min": 2, "max": 4},
    ]
    resp = await matching.post(f"/campaigns/{c['id']}/runs", {"method": "optimal", "quotas": quotas})
    assert resp.status_code == 422
    err = resp.json()["errors"]
    assert [(e["field"], e["quota"], e["short_by"]) for e in err] == [("quotas[1]", "category=民生事业", 2)]
    none = await matching.post(
        f"/campaigns/{c['id']}/runs", {"method": "optimal", "quotas": [{"dimension": "body", "value": "cppcc"}]}
    )
    assert none.status_code == 422 and _fields(none) == ["quotas[0].value"]
    upside = await matching.post(
        f"/campaigns/{c['id']}/runs",
        {"method": "optimal", "quotas": [{"dimension": "body", "value": "government", "min": 3, "max": 2}]},
    )
    assert upside.status_code == 422
    stable = await matching.post(f"/campaigns/{c['id']}/runs", {"method": "stable", "quotas": quotas[:1]})
    assert stable.status_code == 422 and _fields(stable) == ["quotas"]
    assert await _count(matching, Run) == 0


async def test_quotas_that_clash_fail_the_run_with_the_shortfall(matching: MatchingHarness) -> None:
    # Each quota alone is reachable; together they need 4 placements from 3 cadres.
    gov = await matching.unit("县政府", body="government")
    cppcc = await matching.unit("县政协", body="cppcc")
    cadres = [await matching.cadre(gov, retirement_date=FUTURE, post_wishes=["党政群团"]) for _ in range(3)]
    c = await matching.campaign()
    await matching.add_post(c["id"], gov, seats=3, category="党政群团")
    await matching.add_post(c["id"], cppcc, seats=3, category="党政群团")
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [x["cadre_id"] for x in cadres]}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    quotas = [
        {"dimension": "body", "value": "government", "min": 2},
        {"dimension": "body", "value": "cppcc", "min": 2},
    ]
    run = await matching.run(c["id"], {"method": "optimal", "quotas": quotas})
    assert run["status"] == "failed"
    assert sum(e["short_by"] for e in run["error"]["errors"]) == 1
    assert (await matching.get(f"/campaigns/{c['id']}")).json()["status"] == "open"
    assert (await matching.get(f"/campaigns/{c['id']}/runs/{run['id']}/results")).json()["items"] == []


async def test_campaign_changes_need_the_current_version(matching: MatchingHarness) -> None:
    c = await matching.campaign()
    url = f"{API}/campaigns/{c['id']}"
    missing = await matching.client.patch(url, headers=matching.auth(), json={"name": "新名称"})
    assert missing.status_code == 428
    ok = await matching.client.patch(url, headers={**matching.auth(), "If-Match": '"v1"'}, json={"ratio": 3})
    assert ok.status_code == 200 and ok.headers["etag"] == '"v2"' and ok.json()["ratio"] == 3
    stale = await matching.client.patch(url, headers={**matching.auth(), "If-Match": '"v1"'}, json={"ratio": 4})
    assert stale.status_code == 412
    weights = await matching.client.patch(
        url, headers={**matching.auth(), "If-Match": '"v2"'}, json={"weights": {"wish": "150"}}
    )
    assert weights.status_code == 422 and _fields(weights) == ["weights.wish"]


async def test_concurrent_confirms_place_each_cadre_once(matching: MatchingHarness) -> None:
    unit = await matching.unit()
    cadres = [await matching.cadre(unit, retirement_date=FUTURE) for _ in range(3)]
    c = await matching.campaign()
    await matching.add_post(c["id"], unit, seats=3)
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [x["cadre_id"] for x in cadres]}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    await matching.run(c["id"], {"method": "stable"})
    answers = await asyncio.gather(*(matching.post(f"/campaigns/{c['id']}/confirm", {}) for _ in range(4)))
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert len(await matching.outbox("matching.placement.confirmed")) == 3


async def test_roles(matching: MatchingHarness) -> None:
    body = {"name": "练兵", "kind": "training", "year": 2021}
    assert (await matching.post("/campaigns", body, role="portal")).status_code == 403
    assert (await matching.post("/campaigns", body, role="auditor")).status_code == 403
    c = await matching.campaign()
    assert (await matching.get(f"/campaigns/{c['id']}", role="portal")).status_code == 200
    assert (await matching.get(f"/campaigns/{c['id']}", role="auditor")).status_code == 403
    assert (await matching.client.get(f"{API}/campaigns")).status_code == 401


async def test_confirm_refuses_placements_that_no_longer_hold(matching: MatchingHarness) -> None:
    unit = await matching.unit()
    cadres = [await matching.cadre(unit, retirement_date=FUTURE) for _ in range(2)]
    ids = [x["cadre_id"] for x in cadres]
    c = await matching.campaign()
    await matching.add_post(c["id"], unit, seats=2)
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": ids}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    run = await matching.run(c["id"], {"method": "stable", "what_if": True})
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": ids[:1]}, 200)
    await matching.deliver(
        "secondment.started",
        ids[0],
        {"cadre_id": ids[0], "secondment_id": "s-9", "starts_on": "2022-01-01", "version": 3},
    )
    refused = await matching.post(f"/campaigns/{c['id']}/confirm", {"run_id": run["id"]})
    assert refused.status_code == 409
    assert {(e["cadre_id"], e["message"].split(":")[0]) for e in refused.json()["errors"]} == {
        (ids[0], "seconded"),
        (ids[1], "no longer in the campaign's pool"),
    }
    assert (await matching.get(f"/campaigns/{c['id']}")).json()["status"] == "open"
    assert await matching.outbox("matching.placement.confirmed") == []


async def test_concurrent_overrides_never_overfill_a_seat(matching: MatchingHarness) -> None:
    unit = await matching.unit()
    cadres = [await matching.cadre(unit, retirement_date=FUTURE, post_wishes=["经济管理"]) for _ in range(3)]
    c = await matching.campaign()
    await matching.add_post(c["id"], unit, seats=3)
    spare = await matching.add_post(c["id"], unit, seats=1, category="民生事业")
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [x["cadre_id"] for x in cadres]}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    run = await matching.run(c["id"], {"method": "stable"})
    url = f"/campaigns/{c['id']}/runs/{run['id']}/overrides"
    answers = await asyncio.gather(
        *(matching.post(url, {"cadre_id": x["cadre_id"], "post_id": spare["id"], "reason": "组织调整"}) for x in cadres)
    )
    assert sorted(r.status_code for r in answers) == [200, 409, 409]
    results = await matching.results(c["id"], run["id"])
    assert sum(1 for r in results.values() if r["post_id"] == spare["id"]) == 1
    assert len((await matching.get(url)).json()) == 1
