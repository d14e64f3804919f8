"""The unit tree (create, rename, move; history and events) and the structure statistics."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import RosterHarness

API = "/api/v1/roster"


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    return resp.json()  # type: ignore[no-any-return]


async def get_unit(roster: RosterHarness, unit_id: str) -> dict[str, Any]:
    resp = await roster.client.get(f"{API}/units/{unit_id}", headers=roster.auth())
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def unit_history(roster: RosterHarness, unit_id: str) -> list[dict[str, Any]]:
    resp = await roster.client.get(f"{API}/units/{unit_id}/history", headers=roster.auth())
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def cadre_ids(roster: RosterHarness, **params: Any) -> set[str]:
    resp = await roster.client.get(f"{API}/cadres", headers=roster.auth(), params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    return {c["id"] for c in resp.json()["items"]}


# the tree ---------------------------------------------------------------------------------
async def test_create_rename_update_and_move_keep_history_and_publish_events(roster: RosterHarness) -> None:
    officer = roster.auth("officer", sub="officer-li")
    resp = await roster.client.post(
        f"{API}/units",
        headers=officer,
        json={"name": "三水区", "kind": "district", "region": "三水", "body": "government"},
    )
    assert resp.status_code == 201, resp.text
    sanshui = resp.json()
    assert (sanshui["parent_id"], sanshui["path"], sanshui["version"]) == (None, [sanshui["id"]], 1)
    gaoming = await roster.unit("高明区", "district", region="高明")
    town = await roster.unit("西南街道", "town", sanshui["id"], region="三水")
    village = await roster.unit("南村", "village", town["id"], region="三水")
    assert town["path"] == [sanshui["id"], town["id"]]
    assert village["path"] == [sanshui["id"], town["id"], village["id"]]

    created = await roster.outbox()
    assert [e["type"] for e in created] == ["roster.unit.created"] * 4
    assert created[0]["subject"] == f"unit/{sanshui['id']}"
    assert created[0]["data"]["name"] == "三水区" and created[0]["data"]["body"] == "government"

    renamed = await roster.client.patch(f"{API}/units/{town['id']}", headers=officer, json={"name": "西南街道办"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["version"]) == ("西南街道办", 2)
    updated = await roster.client.patch(
        f"{API}/units/{town['id']}", headers=officer, json={"region": "佛山三水", "name": "西南街道办"}
    )
    assert updated.json()["region"] == "佛山三水" and updated.json()["version"] == 3

    # a change to nothing is no change: no history, no event, no new version
    before = await roster.outbox()
    same = await roster.client.patch(f"{API}/units/{town['id']}", headers=officer, json={"name": "西南街道办"})
    assert same.json()["version"] == 3
    assert await roster.outbox() == before

    moved = await roster.client.post(
        f"{API}/units/{town['id']}/move", headers=officer, json={"parent_id": gaoming["id"], "reason": "区划调整"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == gaoming["id"]
    assert moved.json()["path"] == [gaoming["id"], town["id"]]
    assert moved.json()["version"] == 4
    # the subtree moves along
    assert (await get_unit(roster, village["id"]))["path"] == [gaoming["id"], town["id"], village["id"]]

    history = await unit_history(roster, town["id"])
    assert [h["kind"] for h in history] == ["created", "renamed", "updated", "moved"]
    assert all(h["actor"] == "officer-li" for h in history[1:])
    assert history[1]["changes"] == {"name": ["西南街道", "西南街道办"]}
    assert history[2]["changes"] == {"region": ["三水", "佛山三水"]}
    assert history[3]["changes"] == {"parent_id": [sanshui["id"], gaoming["id"]], "reason": "区划调整"}

    events = (await roster.outbox())[len(created) :]
    assert [e["type"] for e in events] == ["roster.unit.updated"] * 4
    rename_ev, region_ev, move_ev, descendant_ev = events
    assert rename_ev["data"]["changed"] == {"name": "西南街道办"}
    assert region_ev["data"]["changed"] == {"region": "佛山三水"}
    assert move_ev["subject"] == f"unit/{town['id']}" and move_ev["data"]["changed"] == {"parent_id": gaoming["id"]}
    assert descendant_ev["subject"] == f"unit/{village['id']}"
    assert descendant_ev["data"]["path"] == [gaoming["id"], town["id"], village["id"]]


async def test_a_unit_cannot_move_under_itself_or_its_descendants(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    town = await roster.unit("西南街道", "town", district["id"])
    village = await roster.unit("南村", "village", town["id"])
    before = await roster.outbox()
    # (the unit to move, its would-be parent)
    for moving, target in ((town, village), (district, village), (district, town), (town, town)):
        resp = await roster.client.post(
            f"{API}/units/{moving['id']}/move", headers=roster.auth(), json={"parent_id": target["id"]}
        )
        problem = assert_problem(resp, 422)
        assert [e["field"] for e in problem["errors"]] == ["parent_id"], (moving["name"], target["name"])
    assert await roster.outbox() == before
    assert (await get_unit(roster, town["id"]))["path"] == [district["id"], town["id"]]
    assert (await get_unit(roster, town["id"]))["version"] == 1
    assert [h["kind"] for h in await unit_history(roster, town["id"])] == ["created"]
    # moving to the top of the tree is allowed for the office
    top = await roster.client.post(f"{API}/units/{town['id']}/move", headers=roster.auth(), json={"parent_id": None})
    assert top.status_code == 200 and top.json()["path"] == [town["id"]]
    assert (await get_unit(roster, village["id"]))["path"] == [town["id"], village["id"]]


async def test_only_the_office_changes_the_tree(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    town = await roster.unit("西南街道", "town", district["id"])
    hr = roster.auth("unit_hr", unit_scope=[town["id"]])
    before = await roster.outbox()
    create = await roster.client.post(
        f"{API}/units", headers=hr, json={"name": "南村", "kind": "village", "parent_id": town["id"]}
    )
    assert_problem(create, 403)
    assert_problem(await roster.client.patch(f"{API}/units/{town['id']}", headers=hr, json={"name": "x"}), 403)
    move = await roster.client.post(f"{API}/units/{town['id']}/move", headers=hr, json={"parent_id": None})
    assert_problem(move, 403)
    assert await roster.outbox() == before


async def test_unit_filters_and_subtree_listing(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district", region="三水")
    town = await roster.unit("西南街道", "town", district["id"], region="三水")
    village = await roster.unit("南村", "village", town["id"], region="三水")
    organ = await roster.unit("市委组织部", "city_organ", region="佛山")

    async def ids(**params: Any) -> set[str]:
        resp = await roster.client.get(f"{API}/units", headers=roster.auth("portal"), params=params)
        assert resp.status_code == 200, resp.text
        return {u["id"] for u in resp.json()["items"]}

    assert await ids(within=district["id"]) == {district["id"], town["id"], village["id"]}
    assert await ids(within=town["id"]) == {town["id"], village["id"]}
    assert await ids(parent_id=district["id"]) == {town["id"]}
    assert await ids(kind="town") == {town["id"]}
    assert await ids(region="佛山") == {organ["id"]}
    assert await ids(name="村") == {village["id"]}


async def test_filtering_cadres_by_unit_covers_the_whole_subtree(roster: RosterHarness) -> None:
    sanshui = await roster.unit("三水区", "district")
    gaoming = await roster.unit("高明区", "district")
    town = await roster.unit("西南街道", "town", sanshui["id"])
    village = await roster.unit("南村", "village", town["id"])
    sibling = await roster.unit("白坭镇", "town", sanshui["id"])
    at_district = (await roster.cadre(sanshui["id"]))["id"]
    at_town = (await roster.cadre(town["id"]))["id"]
    at_village = (await roster.cadre(village["id"]))["id"]
    at_sibling = (await roster.cadre(sibling["id"]))["id"]
    at_gaoming = (await roster.cadre(gaoming["id"]))["id"]

    assert await cadre_ids(roster, unit_id=town["id"]) == {at_town, at_village}
    assert await cadre_ids(roster, unit_id=village["id"]) == {at_village}
    assert await cadre_ids(roster, unit_id=sanshui["id"]) == {at_district, at_town, at_village, at_sibling}
    assert await cadre_ids(roster, unit_id=gaoming["id"]) == {at_gaoming}

    # after the town moves to the other district its cadres are counted there
    moved = await roster.client.post(
        f"{API}/units/{town['id']}/move", headers=roster.auth(), json={"parent_id": gaoming["id"]}
    )
    assert moved.status_code == 200
    assert await cadre_ids(roster, unit_id=gaoming["id"]) == {at_gaoming, at_town, at_village}
    assert await cadre_ids(roster, unit_id=sanshui["id"]) == {at_district, at_sibling}
    stats = await roster.client.get(
        f"{API}/stats/structure", headers=roster.auth(), params={"unit_id": gaoming["id"], "year": 2025}
    )
    assert stats.json()["total"] == 3 and stats.json()["unit_id"] == gaoming["id"]


# statistics -------------------------------------------------------------------------------
async def test_structure_counts_a_known_population_exactly(roster: RosterHarness) -> None:
    organ = await roster.unit("市委组织部", "city_organ", region="平湖")
    town = await roster.unit("当湖街道", "town", organ["id"], region="三水")
    village = await roster.unit("南村", "village", town["id"], region=None)
    # ages are taken on 31 December of the year asked for (2025 here)
    await roster.cadre(  # 30
        organ["id"],
        birth_date="1995-06-01",
        party_member=True,
        rank="科员",
        education="硕士",
        leadership_status="non_leading",
        professional_field="法律",
    )
    await roster.cadre(  # 35 on the day: the 35_44 band
        town["id"],
        gender="female",
        birth_date="1990-12-31",
        party_member=False,
        rank="副科",
        education="本科",
        leadership_status="in_post",
        professional_field="经济",
    )
    await roster.cadre(  # 34: still under 35
        town["id"],
        birth_date="1991-01-01",
        party_member=True,
        rank="副科",
        education="本科",
        leadership_status="in_post",
        professional_field="经济",
    )
    await roster.cadre(  # 44
        town["id"],
        birth_date="1981-01-01",
        party_member=True,
        rank="正科",
        education=None,
        leadership_status="second_line",
        professional_field=None,
    )
    await roster.cadre(  # 54
        village["id"],
        gender="female",
        birth_date="1971-01-01",
        party_member=True,
        rank="正科",
        education="大专",
        leadership_status="second_line",
        professional_field="经济",
    )
    await roster.cadre(  # 55
        village["id"],
        birth_date="1970-12-31",
        party_member=True,
        rank=None,
        education="本科",
        leadership_status="second_line",
        professional_field="经济",
    )
    gone = await roster.cadre(village["id"], birth_date="1966-01-01")
    left = await roster.client.post(
        f"{API}/cadres/{gone['id']}/exit",
        headers=roster.auth(),
        json={"kind": "retired", "date": "2026-01-01", "reason": "到龄退休"},
    )
    assert left.status_code == 200  # a cadre who left is not counted

    resp = await roster.client.get(f"{API}/stats/structure", headers=roster.auth("portal"), params={"year": 2025})
    assert resp.status_code == 200, resp.text
    stats = resp.json()
    assert (stats["year"], stats["unit_id"], stats["total"]) == (2025, None, 6)
    by = stats["by"]
    assert by["age_band"] == {"under_35": 2, "35_44": 2, "45_54": 1, "55_and_over": 1}
    assert by["gender"] == {"male": 4, "female": 2}
    assert by["party_member"] == {"yes": 5, "no": 1}
    assert by["rank"] == {"科员": 1, "副科": 2, "正科": 2, "unknown": 1}
    assert by["education"] == {"硕士": 1, "本科": 3, "大专": 1, "unknown": 1}
    assert by["leadership_status"] == {"non_leading": 1, "in_post": 2, "second_line": 3}
    assert by["professional_field"] == {"法律": 1, "经济": 4, "unknown": 1}
    assert by["unit_kind"] == {"city_organ": 1, "town": 3, "village": 2}
    assert by["region"] == {"平湖": 1, "三水": 3, "unknown": 2}
    for dimension, counts in by.items():
        assert sum(counts.values()) == 6, dimension

    # the same people five years earlier, and one subtree only
    earlier = (await roster.client.get(f"{API}/stats/structure", headers=roster.auth(), params={"year": 2020})).json()
    assert earlier["by"]["age_band"] == {"under_35": 3, "35_44": 1, "45_54": 2}
    sub = (
        await roster.client.get(
            f"{API}/stats/structure", headers=roster.auth(), params={"year": 2025, "unit_id": town["id"]}
        )
    ).json()
    assert sub["total"] == 5
    assert sub["by"]["unit_kind"] == {"town": 3, "village": 2}
    assert sub["by"]["age_band"] == {"under_35": 1, "35_44": 2, "45_54": 1, "55_and_over": 1}


async def test_structure_of_an_empty_roster_is_all_zero(roster: RosterHarness) -> None:
    resp = await roster.client.get(f"{API}/stats/structure", headers=roster.auth(), params={"year": 2025})
    assert resp.status_code == 200
    stats = resp.json()
    assert stats["total"] == 0
    assert all(counts == {} for counts in stats["by"].values())
    assert set(stats["by"]) == {
        "age_band",
        "gender",
        "party_member",
        "rank",
        "education",
        "leadership_status",
        "professional_field",
        "unit_kind",
        "region",
    }


# other cadre filters ----------------------------------------------------------------------
async def test_a_strength_filter_pages_through_every_match(roster: RosterHarness) -> None:
    unit = await roster.unit()
    # names sort before the matches, so a first page read before filtering holds none of them
    for i in range(4):
        await roster.cadre(unit["id"], name=f"A干部{i}", strengths=["文字材料"])
    wanted = {(await roster.cadre(unit["id"], name=f"B干部{i}", strengths=["招商引资"]))["id"] for i in range(3)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"strength": "招商引资", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await roster.client.get(f"{API}/cadres", headers=roster.auth(), params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(wanted)
    # the cadres excluded for a year are filtered the same way
    exempt = await roster.cadre(unit["id"], name="C干部", strengths=["招商引资"], health="exempt")
    await roster.cadre(unit["id"], name="D干部", strengths=["文字材料"], health="exempt")
    params = {"strength": "招商引资", "available_in": 2025}
    out = (await roster.client.get(f"{API}/cadres", headers=roster.auth(), params=params)).json()
    assert {c["id"] for c in out["items"]} == wanted
    assert [e["cadre_id"] for e in out["excluded"]] == [exempt["id"]]


async def test_a_name_search_takes_wildcards_literally(roster: RosterHarness) -> None:
    unit = await roster.unit()
    plain = await roster.cadre(unit["id"], name="王五")
    underscore = await roster.cadre(unit["id"], name="李_四")
    percent = await roster.cadre(unit["id"], name="百分之100%")
    assert await cadre_ids(roster, name="_") == {underscore["id"]}
    assert await cadre_ids(roster, name="%") == {percent["id"]}
    assert await cadre_ids(roster, name="王") == {plain["id"]}
    await roster.unit("第_一单位")
    await roster.unit("第二单位")
    units = (await roster.client.get(f"{API}/units", headers=roster.auth(), params={"name": "_"})).json()["items"]
    assert [u["name"] for u in units] == ["第_一单位"]
