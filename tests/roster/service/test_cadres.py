from __future__ import annotations

import asyncio

from tests.conftest import RosterHarness
from tests.factories import cadre_body


async def test_register_returns_masked_id_number_and_etag(roster: RosterHarness) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    resp = await roster.client.post("/api/v1/roster/cadres", headers=roster.auth(), json=body)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert out["id_number"] == body["id_number"][:6] + "********" + body["id_number"][-4:]
    assert out["birth_date"] == "1975-**-**"
    assert resp.headers["etag"] == '"v1"'
    assert out["retirement_date"] == "2037-10-08"  # 62 years 7 months: born March 1975, delayed 31 months
    events = await roster.outbox()
    assert [e["type"] for e in events] == ["roster.unit.created", "roster.cadre.registered"]
    registered = events[1]
    assert registered["subject"] == f"cadre/{out['id']}"
    assert body["id_number"] not in str(registered)


async def test_patch_needs_if_match_and_refuses_stale_versions(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    missing = await roster.client.patch(url, headers=roster.auth(), json={"rank": "副处"})
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    ok = await roster.client.patch(url, headers={**roster.auth(), "If-Match": '"v1"'}, json={"rank": "副处"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["rank"] == "副处" and ok.headers["etag"] == '"v2"'
    stale = await roster.client.patch(url, headers={**roster.auth(), "If-Match": '"v1"'}, json={"rank": "正处"})
    assert stale.status_code == 412
    assert (await roster.client.get(url, headers=roster.auth())).json()["rank"] == "副处"


async def test_concurrent_writers_with_one_version_exactly_one_wins(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"

    async def write(i: int) -> int:
        resp = await roster.client.patch(
            url, headers={**roster.auth(), "If-Match": '"v1"'}, json={"post_title": f"岗位{i}"}
        )
        return resp.status_code

    codes = await asyncio.gather(*(write(i) for i in range(10)))
    assert sorted(codes) == [200] + [412] * 9
    history = (await roster.client.get(url + "/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "updated"]


async def test_history_records_field_changes_moves_and_exit_with_who(roster: RosterHarness) -> None:
    a = await roster.unit("甲单位")
    b = await roster.unit("乙单位")
    cadre = await roster.cadre(a["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    headers = {**roster.auth("officer", sub="officer-li"), "If-Match": '"v1"'}
    assert (await roster.client.patch(url, headers=headers, json={"education": "硕士"})).status_code == 200
    moved = await roster.client.post(
        url + "/move",
        headers=roster.auth("officer", sub="officer-li"),
        json={"unit_id": b["id"], "post_title": "副主任", "effective_on": "2026-01-01", "reason": "选岗结果"},
    )
    assert moved.status_code == 200, moved.text
    left = await roster.client.post(
        url + "/exit", headers=roster.auth(), json={"kind": "retired", "date": "2026-06-30", "reason": "到龄退休"}
    )
    assert left.status_code == 200 and left.json()["status"] == "left"
    history = (await roster.client.get(url + "/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "updated", "moved", "left"]
    assert history[1]["changes"] == {"education": ["本科", "硕士"]} and history[1]["actor"] == "officer-li"
    assert history[2]["changes"]["unit_id"] == [a["id"], b["id"]]
    # nothing is deleted: the cadre is still readable, and listed with status=left
    assert (await roster.client.get(url, headers=roster.auth())).status_code == 200
    listed = (await roster.client.get("/api/v1/roster/cadres?status=left", headers=roster.auth())).json()
    assert [c["id"] for c in listed["items"]] == [cadre["id"]]
    types = [e["type"] for e in await roster.outbox()]
    assert types[-3:] == ["roster.cadre.updated", "roster.cadre.moved", "roster.cadre.left"]


async def test_available_in_excludes_retiring_and_health_exempt_with_reasons(roster: RosterHarness) -> None:
    unit = await roster.unit()
    retiring = await roster.cadre(unit["id"], birth_date="1962-05-01")  # 60 in 2022
    exempt = await roster.cadre(unit["id"], health="exempt")
    fine = await roster.cadre(unit["id"])
    resp = await roster.client.get("/api/v1/roster/cadres?available_in=2022", headers=roster.auth())
    out = resp.json()
    assert [c["id"] for c in out["items"]] == [fine["id"]]
    assert out["items"][0]["availability"] == {"year": 2022, "status": "available", "reason": None}
    reasons = {e["cadre_id"]: e["status"] for e in out["excluded"]}
    assert reasons == {retiring["id"]: "retiring", exempt["id"]: "health_exempt"}


async def test_duplicate_id_number_is_refused_and_nothing_is_written(roster: RosterHarness) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    assert (await roster.client.post("/api/v1/roster/cadres", headers=roster.auth(), json=body)).status_code == 201
    again = await roster.client.post("/api/v1/roster/cadres", headers=roster.auth(), json={**body, "name": "另一人"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "id_number"
    listed = (await roster.client.get("/api/v1/roster/cadres", headers=roster.auth())).json()
    assert len(listed["items"]) == 1


async def test_pagination_walks_every_cadre_once(roster: RosterHarness) -> None:
    unit = await roster.unit()
    ids = {(await roster.cadre(unit["id"]))["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await roster.client.get("/api/v1/roster/cadres", headers=roster.auth(), params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)


async def test_senior_women_retire_at_60_and_a_promotion_moves_the_date(roster: RosterHarness) -> None:
    """Qichun's finding: 副处级 women born 1962–66 came out as retiring at 55. Under the 2015
    notice they retire at 60; a woman cadre below 处级 born before 1970 at 55; a rank change
    re-derives the date, the events carry it."""
    unit = await roster.unit()
    senior = await roster.cadre(unit["id"], gender="female", birth_date="1966-06-15", rank="副处")
    clerk = await roster.cadre(unit["id"], gender="female", birth_date="1966-06-15", rank="正科")
    assert senior["retirement_date"] == "2026-06-15"
    assert clerk["retirement_date"] == "2021-06-15"
    url = f"/api/v1/roster/cadres/{clerk['id']}"
    promoted = await roster.client.patch(url, headers={**roster.auth(), "If-Match": '"v1"'}, json={"rank": "副处"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["retirement_date"] == "2026-06-15"
    updated = [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"]
    assert updated[-1]["data"]["changed"]["retirement_date"] == "2026-06-15"
