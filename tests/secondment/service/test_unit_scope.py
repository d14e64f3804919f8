"""Unit scope on secondments (issue 15): a token limited to some units, of any role, sees and
acts on the secondments from or to its units; another subtree's secondment is unknown to it
(404, reads and writes alike), lists hold only its own rows, and batches, which span the
whole city, refuse it (403)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.secondment.conftest import API, SecondmentHarness
from tests.secondment.subtrees import two_subtrees

READERS = ("admin", "officer", "portal", "unit_hr")
OFFICE = ("admin", "officer")
TRANSITIONS: list[tuple[str, dict[str, Any]]] = [
    ("vetting", {"notes": "补充材料"}),
    ("start", {}),
    ("extend", {"months": 6, "reason": "项目未完"}),
    ("end", {"kind": "early", "ended_on": "2018-12-01", "reason": "调动"}),
    ("withdraw", {"reason": "本人申请"}),
    ("reviews", {"kind": "end_of_term", "rating": "excellent", "reviewed_on": "2018-06-01"}),
]
TABLES = ("secondments", "vettings", "reviews", "reserve_entries", "outbox")


def scoped(sec: SecondmentHarness, role: str, unit: dict[str, Any]) -> dict[str, str]:
    return sec.auth(role, unit_scope=[unit["unit_id"]])


async def counts(sec: SecondmentHarness) -> dict[str, int]:
    return {t: await sec.count(t) for t in TABLES}


async def test_a_scoped_token_of_any_role_gets_404_on_another_subtrees_secondment(sec: SecondmentHarness) -> None:
    w = await two_subtrees(sec)
    theirs = f"{API}/secondments/{w['b']['id']}"
    for role in READERS:
        headers = scoped(sec, role, w["A"])
        for url in (theirs, f"{theirs}/reviews"):
            resp = await sec.client.get(url, headers=headers)
            assert resp.status_code == 404, (role, url, resp.text)
            assert "乙干部" not in resp.text
    for role in OFFICE:
        vetting = await sec.client.get(f"{theirs}/vetting", headers=scoped(sec, role, w["A"]))
        assert vetting.status_code == 404, (role, vetting.text)


async def test_every_write_on_another_subtrees_secondment_answers_404_like_an_unknown_one(
    sec: SecondmentHarness,
) -> None:
    w = await two_subtrees(sec)
    before = await counts(sec)
    for role in OFFICE:
        headers = scoped(sec, role, w["A"])
        for action, body in TRANSITIONS:
            theirs = await sec.client.post(f"{API}/secondments/{w['b']['id']}/{action}", headers=headers, json=body)
            unknown = await sec.client.post(f"{API}/secondments/no-such-id/{action}", headers=headers, json=body)
            assert theirs.status_code == unknown.status_code == 404, (role, action, theirs.text)
            assert theirs.json()["title"] == unknown.json()["title"]
    assert await counts(sec) == before
    assert (await sec.get(f"/secondments/{w['b']['id']}")).json()["state"] == "active"


async def test_a_scoped_officer_acts_on_the_secondments_from_or_to_its_units(sec: SecondmentHarness) -> None:
    w = await two_subtrees(sec)
    mine = f"{API}/secondments/{w['a']['id']}"
    home = scoped(sec, "officer", w["A"])  # the sending town's district
    host = scoped(sec, "admin", w["host"])  # the receiving city organ
    extended = await sec.client.post(f"{mine}/extend", headers=home, json={"months": 6, "reason": "项目未完"})
    assert extended.status_code == 200 and extended.json()["term_months"] == 30, extended.text
    vetting = await sec.client.get(f"{mine}/vetting", headers=home)
    assert vetting.status_code == 200 and vetting.json()["discipline_opinion"] == "******"
    review = await sec.client.post(
        f"{mine}/reviews", headers=host, json={"kind": "routine", "rating": "competent", "reviewed_on": "2018-06-01"}
    )
    assert review.status_code == 201, review.text
    ended = await sec.client.post(
        f"{mine}/end", headers=host, json={"kind": "early", "ended_on": "2018-12-01", "reason": "调动"}
    )
    assert ended.status_code == 200 and ended.json()["state"] == "ended_early", ended.text


async def test_lists_hold_only_the_rows_of_a_scoped_tokens_units(sec: SecondmentHarness) -> None:
    w = await two_subtrees(sec)
    for role in READERS:
        headers = scoped(sec, role, w["A"])
        listed = await sec.client.get(f"{API}/secondments", headers=headers)
        assert [x["id"] for x in listed.json()["items"]] == [w["a"]["id"]], (role, listed.text)
        by_cadre = await sec.client.get(
            f"{API}/secondments", headers=headers, params={"cadre_id": w["cadre_b"]["cadre_id"]}
        )
        assert by_cadre.json()["items"] == [], role
    for role in ("admin", "officer", "portal"):
        pool = await sec.client.get(f"{API}/reserve-pool", headers=scoped(sec, role, w["A"]))
        assert pool.status_code == 200, (role, pool.text)
        assert [e["cadre_name"] for e in pool.json()["items"]] == ["甲干部"], role
        assert "乙干部" not in pool.text
    whole = (await sec.get("/reserve-pool")).json()["items"]
    assert sorted(e["cadre_name"] for e in whole) == ["乙干部", "甲干部"]


async def test_a_page_of_a_filtered_list_counts_only_the_rows_in_scope(sec: SecondmentHarness) -> None:
    w = await two_subtrees(sec)
    headers = scoped(sec, "officer", w["A"])
    first = await sec.client.get(f"{API}/reserve-pool", headers=headers, params={"limit": 1})
    assert len(first.json()["items"]) == 1 and first.json()["next_cursor"] is None, first.text


async def test_batch_routes_refuse_a_scoped_token_of_every_role(sec: SecondmentHarness) -> None:
    w = await two_subtrees(sec)
    batch = f"{API}/batches/{w['batch']['id']}"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{API}/batches", None),
        ("POST", f"{API}/batches", {"name": "x", "year": 2019, "starts_on": "2019-03-01"}),
        ("GET", batch, None),
        ("GET", f"{batch}/pairs", None),
        (
            "POST",
            f"{batch}/pairs",
            {"city_organ_id": w["host"]["unit_id"], "grassroots_unit_id": w["town_a"]["unit_id"]},
        ),
        ("GET", f"{batch}/eligibility?cadre_id={w['cadre_a']['cadre_id']}", None),
        ("POST", f"{batch}/nominations", {"cadre_id": w["cadre_a"]["cadre_id"], "title_held": "x"}),
        ("POST", f"{batch}/approve", {}),
        ("GET", f"{batch}/stats", None),
        ("GET", f"{batch}/export", None),
    ]
    before = await counts(sec)
    for role in ("admin", "officer", "portal", "unit_hr", "auditor"):
        headers = scoped(sec, role, w["A"])
        for method, url, body in calls:
            resp: httpx.Response = await sec.client.request(method, url, headers=headers, json=body)
            assert resp.status_code == 403, (role, method, url, resp.text)
    assert await counts(sec) == before
