"""Unit scope in matching (issue 15, finding 2): a token limited to 甲镇 sees 甲镇's cadres in
every composite answer — pool, posts' rankings, balance table and its XLSX, run results,
overrides, the comparison of two runs, tutors — and none of 乙镇's, while posts, seats and counts stay whole; a cadre or
a trainee of 乙镇 in the path is not found; what shapes the city's campaign needs a token
for the whole tree.

The seed: under 平湖市, 甲镇 (with 甲村) and 乙镇. 甲村's 甲干部 ranks 甲镇's post, 乙镇's
乙干部 ranks 乙镇's post, and 乙镇's 乙干部二 ranks a second post of 甲镇, so a stable run
places each on the post they ranked.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx

from tests.matching.conftest import API, MatchingHarness

FUTURE = "2036-01-01"


@dataclass
class Towns:
    campaign: str
    run: str
    town_a: str
    village_a: str
    town_b: str
    a: dict[str, Any]  # 甲干部, in 甲村
    b: dict[str, Any]  # 乙干部, in 乙镇
    b2: dict[str, Any]  # 乙干部二, in 乙镇, placed on 甲镇's second post
    post_a: str
    post_b: str
    post_a2: str

    def scoped(self, h: MatchingHarness, role: str = "portal") -> dict[str, str]:
        return h.auth(role, sub=f"{role}-甲镇", unit_scope=[self.town_a])

    def b_markers(self) -> set[str]:
        return {self.b["cadre_id"], self.b["name"], self.b2["cadre_id"], self.b2["name"]}


async def _towns(h: MatchingHarness, *, kind: str = "placement") -> Towns:
    city = await h.unit("平湖市", "city")
    town_a = await h.unit("甲镇", "town", parent_path=[city], parent_id=city)
    village_a = await h.unit("甲村", "village", parent_path=[city, town_a], parent_id=town_a)
    town_b = await h.unit("乙镇", "town", parent_path=[city], parent_id=city)
    a = await h.cadre(village_a, name="甲干部", retirement_date=FUTURE)
    b = await h.cadre(town_b, name="乙干部", retirement_date=FUTURE)
    b2 = await h.cadre(town_b, name="乙干部二", retirement_date=FUTURE)
    c = (await h.campaign(name="2025年择岗", year=2025, kind=kind))["id"]
    post_a = (await h.add_post(c, village_a, title="甲村岗位"))["id"]
    post_b = (await h.add_post(c, town_b, title="乙镇岗位"))["id"]
    post_a2 = (await h.add_post(c, town_a, title="甲镇岗位二"))["id"]
    await h.put(f"/campaigns/{c}/pool", {"cadre_ids": [a["cadre_id"], b["cadre_id"], b2["cadre_id"]]}, 200)
    await h.post(f"/campaigns/{c}/open", None, expect=200)
    for cadre, post in ((a, post_a), (b, post_b), (b2, post_a2)):
        await h.put(f"/campaigns/{c}/preferences/cadres/{cadre['cadre_id']}", {"posts": [post]}, 200)
        await h.put(f"/campaigns/{c}/preferences/posts/{post}", {"cadres": [cadre["cadre_id"]]}, 200)
    run = await h.run(c, {"method": "stable", "what_if": True})
    assert run["status"] == "succeeded", run
    return Towns(c, run["id"], town_a, village_a, town_b, a, b, b2, post_a, post_b, post_a2)


def _text(resp: httpx.Response) -> str:
    if resp.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(resp.content)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return resp.text


async def test_a_token_for_甲镇_reads_only_甲镇s_cadres_in_the_pool(matching: MatchingHarness) -> None:
    t = await _towns(matching)
    retiring = await matching.cadre(t.town_b, name="乙镇退休干部", retirement_date="2025-06-30")
    pool = [t.a["cadre_id"], t.b["cadre_id"], t.b2["cadre_id"], retiring["cadre_id"]]
    await matching.put(f"/campaigns/{t.campaign}/pool", {"cadre_ids": pool}, 200)

    resp = await matching.client.get(f"{API}/campaigns/{t.campaign}/pool", headers=t.scoped(matching))
    assert resp.status_code == 200, resp.text
    assert [e["cadre_id"] for e in resp.json()["eligible"]] == [t.a["cadre_id"]]
    assert resp.json()["excluded"] == []  # 乙镇's retiring cadre is out of scope too
    assert not [m for m in (*t.b_markers(), retiring["cadre_id"], retiring["name"]) if m in resp.text]
    whole = (await matching.get(f"/campaigns/{t.campaign}/pool", role="portal")).json()
    assert len(whole["eligible"]) == 3 and len(whole["excluded"]) == 1


async def test_the_balance_table_and_its_export_keep_every_post_and_seat_but_only_甲镇s_cadres(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    url = f"{API}/campaigns/{t.campaign}/balance-table"
    table = await matching.client.get(url, headers=t.scoped(matching))
    assert table.status_code == 200, table.text
    posts = {p["post_id"]: p for p in table.json()["posts"]}
    assert set(posts) == {t.post_a, t.post_b, t.post_a2}  # the posts and their seats stay
    assert all(p["seats"] == 1 and p["applicants"] == 1 for p in posts.values())  # so do the counts
    assert [r["cadre_id"] for r in posts[t.post_a]["shortlist"]] == [t.a["cadre_id"]]
    shown = {r["cadre_id"] for p in posts.values() for r in p["shortlist"]}
    assert shown == {t.a["cadre_id"]}
    assert not [m for m in t.b_markers() if m in table.text]

    export = await matching.client.get(url + "/export", headers=t.scoped(matching))
    assert export.status_code == 200
    sheet = _text(export)
    assert t.a["name"] in sheet and "乙镇岗位" in sheet  # the control: 甲镇's cadre, every post
    assert not [m for m in t.b_markers() if m in sheet]


async def test_a_posts_ranking_shows_a_token_for_甲镇_only_甲镇s_cadres(matching: MatchingHarness) -> None:
    t = await _towns(matching)
    resp = await matching.client.get(f"{API}/campaigns/{t.campaign}/posts", headers=t.scoped(matching))
    assert resp.status_code == 200, resp.text
    rankings = {p["id"]: p["ranking"] for p in resp.json()}
    assert rankings == {t.post_a: [t.a["cadre_id"]], t.post_b: [], t.post_a2: []}


async def test_乙镇s_cadre_is_not_found_under_cadres_for_a_token_for_甲镇_exactly_as_an_unknown_one(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    await matching.post(f"/campaigns/{t.campaign}/confirm", {"run_id": t.run}, expect=200)
    headers = t.scoped(matching)
    theirs = await matching.client.get(f"{API}/cadres/{t.b['cadre_id']}/placements", headers=headers)
    unknown = await matching.client.get(f"{API}/cadres/{uuid.uuid4()}/placements", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["title"] == unknown.json()["title"]
    assert "乙镇岗位" not in theirs.text
    mine = await matching.client.get(f"{API}/cadres/{t.a['cadre_id']}/placements", headers=headers)
    assert [p["post_id"] for p in mine.json()["items"]] == [t.post_a]


async def test_run_results_show_甲镇_a_placement_whose_cadre_or_whose_post_is_in_甲镇(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    reason = {"cadre_id": t.b["cadre_id"], "post_id": None, "reason": "本人申请调整"}
    await matching.post(f"/campaigns/{t.campaign}/runs/{t.run}/overrides", reason, expect=200)
    moved = {"cadre_id": t.b2["cadre_id"], "post_id": t.post_b, "reason": "组织安排"}
    await matching.post(f"/campaigns/{t.campaign}/runs/{t.run}/overrides", moved, expect=200)
    headers = t.scoped(matching)

    results = await matching.client.get(f"{API}/campaigns/{t.campaign}/runs/{t.run}/results", headers=headers)
    assert results.status_code == 200, results.text
    # 甲干部 is 甲镇's; 乙干部 left 乙镇's post and 乙干部二 moved onto it: neither is 甲镇's now
    assert [(r["cadre_id"], r["post_id"]) for r in results.json()["items"]] == [(t.a["cadre_id"], t.post_a)]
    # the override moved 乙干部二 off 甲镇's post: that part of the history is 甲镇's
    history = await matching.client.get(f"{API}/campaigns/{t.campaign}/runs/{t.run}/overrides", headers=headers)
    assert [(o["cadre_id"], o["from_post_id"]) for o in history.json()] == [(t.b2["cadre_id"], t.post_a2)]
    # pages and their cursors count only what the token sees
    page = await matching.client.get(
        f"{API}/campaigns/{t.campaign}/runs/{t.run}/results", headers=headers, params={"limit": 1}
    )
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"] is None


async def test_a_run_result_on_甲镇s_post_shows_甲镇_the_cadre_of_乙镇_placed_there(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    results = await matching.client.get(
        f"{API}/campaigns/{t.campaign}/runs/{t.run}/results", headers=t.scoped(matching)
    )
    rows = {r["cadre_id"]: r["post_id"] for r in results.json()["items"]}
    assert rows == {t.a["cadre_id"]: t.post_a, t.b2["cadre_id"]: t.post_a2}  # not 乙干部 on 乙镇's post


async def test_a_comparison_of_two_runs_shows_甲镇_the_moves_and_holders_of_its_cadres_and_posts_and_whole_totals(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    for cadre in (t.b, t.b2):  # off their posts in the first run; a second run puts them back
        off = {"cadre_id": cadre["cadre_id"], "post_id": None, "reason": "本人申请调整"}
        await matching.post(f"/campaigns/{t.campaign}/runs/{t.run}/overrides", off, expect=200)
    again = await matching.run(t.campaign, {"method": "stable", "what_if": True})
    url = f"{API}/campaigns/{t.campaign}/runs/{t.run}/compare/{again['id']}"

    whole = (await matching.client.get(url, headers=matching.auth("portal"))).json()
    assert sorted((m["cadre_id"], m["to_post_id"]) for m in whole["moved"]) == sorted(
        [(t.b["cadre_id"], t.post_b), (t.b2["cadre_id"], t.post_a2)]
    )
    assert {p["post_id"] for p in whole["posts"]} == {t.post_b, t.post_a2}

    scoped = await matching.client.get(url, headers=t.scoped(matching))
    assert scoped.status_code == 200, scoped.text
    got = scoped.json()
    # 乙干部二 moves onto 甲镇's post: 甲镇's to see; 乙干部 onto 乙镇's post: not
    assert [(m["cadre_id"], m["from_post_id"], m["to_post_id"]) for m in got["moved"]] == [
        (t.b2["cadre_id"], None, t.post_a2)
    ]
    assert [(p["post_id"], p["holders_before"], p["holders_after"]) for p in got["posts"]] == [
        (t.post_a2, [], [t.b2["cadre_id"]])
    ]
    assert t.b["cadre_id"] not in scoped.text and t.b["name"] not in scoped.text
    # the totals are counts, whole as a run's summary is
    assert got["total_fit_difference"] == whole["total_fit_difference"] != "0.00"


async def test_a_town_officer_may_not_draw_the_pool_run_override_or_confirm_the_citys_campaign(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    officer = t.scoped(matching, "officer")
    c = f"{API}/campaigns/{t.campaign}"
    calls = [
        ("POST", f"{API}/campaigns", {"name": "甲镇的选拔", "year": 2025}),
        ("PUT", f"{c}/pool", {"cadre_ids": [t.a["cadre_id"]]}),
        ("PUT", f"{c}/preferences/posts/{t.post_a}", {"cadres": [t.a["cadre_id"]]}),
        ("POST", f"{c}/runs", {"method": "stable"}),
        ("POST", f"{c}/runs/{t.run}/overrides", {"cadre_id": t.a["cadre_id"], "post_id": None, "reason": "调整"}),
        ("POST", f"{c}/confirm", {"run_id": t.run}),
    ]
    for method, url, body in calls:
        resp = await matching.client.request(method, url, headers=officer, json=body)
        assert resp.status_code == 403, (method, url, resp.status_code, resp.text)
    assert (await matching.get(f"/campaigns/{t.campaign}")).json()["status"] == "open"


async def test_a_town_officer_ranks_posts_for_甲镇s_cadre_and_adds_甲镇s_posts_but_乙镇s_answer_as_unknown(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching)
    officer = t.scoped(matching, "officer")
    c = f"{API}/campaigns/{t.campaign}"
    ranking = {"posts": [t.post_a2, t.post_a]}
    mine = await matching.client.put(f"{c}/preferences/cadres/{t.a['cadre_id']}", headers=officer, json=ranking)
    assert mine.status_code == 200, mine.text
    theirs = await matching.client.put(f"{c}/preferences/cadres/{t.b['cadre_id']}", headers=officer, json=ranking)
    unknown = await matching.client.put(f"{c}/preferences/cadres/{uuid.uuid4()}", headers=officer, json=ranking)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["title"] == unknown.json()["title"]

    post = {"title": "甲村新岗", "category": "经济管理", "seats": 1}
    added = await matching.client.post(f"{c}/posts", headers=officer, json={**post, "host_unit_id": t.village_a})
    assert added.status_code == 201, added.text
    out = await matching.client.post(f"{c}/posts", headers=officer, json={**post, "host_unit_id": t.town_b})
    ghost = await matching.client.post(f"{c}/posts", headers=officer, json={**post, "host_unit_id": "ghost"})
    assert out.status_code == ghost.status_code == 422
    assert out.json()["errors"] == ghost.json()["errors"] and out.json()["errors"][0]["field"] == "host_unit_id"


async def test_tutors_of_a_training_campaign_for_甲镇_leave_out_乙镇s_cadres_and_乙镇s_trainees_are_not_found(
    matching: MatchingHarness,
) -> None:
    t = await _towns(matching, kind="training")
    tutor_a = await matching.cadre(t.town_a, name="甲导师", retirement_date=FUTURE, leadership_status="in_post")
    tutor_b = await matching.cadre(t.town_b, name="乙导师", retirement_date=FUTURE, leadership_status="in_post")
    spare_b = await matching.cadre(t.town_b, name="乙候选导师", retirement_date=FUTURE, years_of_service=40)
    c = f"/campaigns/{t.campaign}"
    await matching.put(f"{c}/trainees/{t.a['cadre_id']}/tutor", {"tutor_id": tutor_a["cadre_id"]}, 200)
    await matching.put(f"{c}/trainees/{t.b['cadre_id']}/tutor", {"tutor_id": tutor_b["cadre_id"]}, 200)
    headers = t.scoped(matching)
    markers = {*t.b_markers(), tutor_b["cadre_id"], tutor_b["name"], spare_b["cadre_id"], spare_b["name"]}

    tutors = await matching.client.get(f"{API}{c}/tutors", headers=headers)
    assert [(p["trainee_id"], p["tutor_id"]) for p in tutors.json()] == [(t.a["cadre_id"], tutor_a["cadre_id"])]
    suggested = await matching.client.get(f"{API}{c}/trainees/{t.a['cadre_id']}/tutor-suggestions", headers=headers)
    assert suggested.status_code == 200 and suggested.json() == []  # 甲导师 is taken; 乙镇's are not 甲镇's
    for resp in (tutors, suggested):
        assert not [m for m in markers if m in resp.text], resp.text
    for tail in ("tutor-suggestions", "plan", "inspections", "growth-index"):
        theirs = await matching.client.get(f"{API}{c}/trainees/{t.b['cadre_id']}/{tail}", headers=headers)
        assert theirs.status_code == 404, (tail, theirs.text)
    officer = t.scoped(matching, "officer")
    other_tutor = await matching.client.put(
        f"{API}{c}/trainees/{t.a['cadre_id']}/tutor", headers=officer, json={"tutor_id": spare_b["cadre_id"]}
    )
    unknown_tutor = await matching.client.put(
        f"{API}{c}/trainees/{t.a['cadre_id']}/tutor", headers=officer, json={"tutor_id": str(uuid.uuid4())}
    )
    assert other_tutor.status_code == unknown_tutor.status_code == 422
    assert other_tutor.json()["errors"] == unknown_tutor.json()["errors"]
