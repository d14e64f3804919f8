"""Roster under one declared unit-scope policy (issue 15): what the hand-made checks got wrong.

A city with two sibling districts, 甲区 (A, with the town 甲镇) and 乙区 (B), a cadre in
each. Tokens are scoped to A, for every role: unit scope is not a unit_hr matter. Before
the rules were declared on the routes, roster answered an out-of-scope reference with a
403 or an empty list where an unknown one got 404 or 422 (so a scoped caller could tell
which ids exist elsewhere), left import jobs readable from any subtree, let a scoped
upsert take over another subtree's cadre by ID number, and let a scoped admin run the
operations that cover the whole roster.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import httpx
import openpyxl
import pytest

from services.roster.service.rules import DUPLICATE_ID
from tests.conftest import RosterHarness
from tests.factories import cadre_body
from tests.roster.service.test_imports import person, row_of, run_import, upload, wait_for, xlsx

API = "/api/v1/roster"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
READERS = ("admin", "officer", "unit_hr", "portal")
WRITERS = ("admin", "officer", "unit_hr")
OFFICE = ("admin", "officer")


@dataclass
class Tree:
    city: dict[str, Any]
    a: dict[str, Any]
    a_town: dict[str, Any]
    b: dict[str, Any]
    a_cadre: dict[str, Any]
    b_cadre: dict[str, Any]
    b_body: dict[str, Any]

    def scoped(self, roster: RosterHarness, role: str) -> dict[str, str]:
        return roster.auth(role, unit_scope=[self.a["id"]], sub=f"{role}-of-a")


@pytest.fixture
async def tree(roster: RosterHarness) -> Tree:
    city = await roster.unit("平湖市", "city")
    a = await roster.unit("甲区", "district", city["id"])
    a_town = await roster.unit("甲镇", "town", a["id"])
    b = await roster.unit("乙区", "district", city["id"])
    a_cadre = await roster.cadre(a["id"], name="甲区干部")
    b_body = cadre_body(b["id"], name="乙区干部")
    made = await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=b_body)
    assert made.status_code == 201, made.text
    return Tree(city, a, a_town, b, a_cadre, made.json(), b_body)


def answer(resp: httpx.Response) -> tuple[int, str, list[str]]:
    """What a caller can tell apart: the status, the title, the fields named."""
    body = resp.json()
    return resp.status_code, body.get("title"), sorted(e["field"] for e in body.get("errors") or [])


async def same_as_unknown(
    c: httpx.AsyncClient, method: str, url: str, outside: str, headers: dict[str, str], **kw: Any
) -> tuple[int, str, list[str]]:
    """Calls with B's id and with an id that names nothing; both must answer alike."""

    def swap(value: Any, new: str) -> Any:
        if isinstance(value, dict):
            return {k: swap(v, new) for k, v in value.items()}
        return new if value == outside else value

    theirs = await c.request(method, url.replace("{id}", outside), headers=headers, **swap(kw, outside))
    unknown = await c.request(method, url.replace("{id}", UNKNOWN), headers=headers, **swap(kw, UNKNOWN))
    assert outside not in unknown.text
    assert answer(theirs) == answer(unknown), (method, url, theirs.text, unknown.text)
    return answer(theirs)


async def test_every_reading_role_scoped_to_a_gets_404_for_another_subtree_and_lists_only_its_own(
    roster: RosterHarness, tree: Tree
) -> None:
    c = roster.client
    b, b_cadre = tree.b["id"], tree.b_cadre["id"]
    for role in READERS:
        h = tree.scoped(roster, role)
        # B's cadre and unit in the path: 404, as an unknown id
        for url in (f"{API}/cadres/{{id}}", f"{API}/cadres/{{id}}/history"):
            assert (await same_as_unknown(c, "GET", url, b_cadre, h))[0] == 404, (role, url)
        if role in OFFICE:
            reveal = await same_as_unknown(c, "GET", f"{API}/cadres/{{id}}/id-number?reason=核对", b_cadre, h)
            assert reveal[0] == 404, role
        for url in (f"{API}/units/{{id}}", f"{API}/units/{{id}}/history"):
            assert (await same_as_unknown(c, "GET", url, b, h))[0] == 404, (role, url)
        # a filter naming B: 404, as an unknown unit (it used to be an empty answer)
        for url, name in (
            (f"{API}/cadres", "unit_id"),
            (f"{API}/cadres/export", "unit_id"),
            (f"{API}/stats/structure", "unit_id"),
            (f"{API}/units", "parent_id"),
            (f"{API}/units", "within"),
        ):
            got = await same_as_unknown(c, "GET", f"{url}?{name}={{id}}", b, h)
            assert got[0] == 404, (role, url, name)
        # lists, exports and statistics hold A only
        listed = (await c.get(f"{API}/cadres", headers=h, params={"status": "all"})).json()["items"]
        assert [x["id"] for x in listed] == [tree.a_cadre["id"]], role
        units = (await c.get(f"{API}/units", headers=h)).json()["items"]
        assert {u["id"] for u in units} == {tree.a["id"], tree.a_town["id"]}, role
        assert (await c.get(f"{API}/stats/structure", headers=h)).json()["total"] == 1, role
        export = await c.get(f"{API}/cadres/export", headers=h)
        assert export.status_code == 200
        rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
        assert [r[0] for r in rows[1:]] == [tree.a_cadre["name"]], role


async def test_every_writing_role_scoped_to_a_gets_404_or_an_unknown_reference_for_another_subtree(
    roster: RosterHarness, tree: Tree
) -> None:
    c = roster.client
    b, b_cadre = tree.b["id"], tree.b_cadre["id"]
    before = await roster.outbox()
    for role in WRITERS:
        h = tree.scoped(roster, role)
        # writes on B's cadre: 404
        for method, url, body, extra in (
            ("PATCH", f"{API}/cadres/{{id}}", {"rank": "副处"}, {"If-Match": '"v1"'}),
            ("POST", f"{API}/cadres/{{id}}/exit", {"kind": "retired", "date": "2026-01-01", "reason": "退休"}, {}),
            (
                "POST",
                f"{API}/cadres/{{id}}/move",
                {"unit_id": tree.a["id"], "effective_on": "2026-01-01", "reason": "调动"},
                {},
            ),
        ):
            got = await same_as_unknown(c, method, url, b_cadre, {**h, **extra}, json=body)
            assert got[0] == 404, (role, method, url)
        # B's unit in a body: the answer to an unknown unit (it used to be 403)
        register = await same_as_unknown(c, "POST", f"{API}/cadres", b, h, json=cadre_body(b))
        assert register == (422, "Invalid request", ["unit_id"]), role
        move = await same_as_unknown(
            c,
            "POST",
            f"{API}/cadres/{tree.a_cadre['id']}/move",
            b,
            h,
            json={"unit_id": b, "effective_on": "2026-01-01", "reason": "调动"},
        )
        assert move == (422, "Invalid request", ["unit_id"]), role
    for role in OFFICE:
        h = tree.scoped(roster, role)
        for method, url, body in (
            ("PATCH", f"{API}/units/{{id}}", {"name": "改名"}),
            ("POST", f"{API}/units/{{id}}/move", {"parent_id": tree.a["id"]}),
        ):
            assert (await same_as_unknown(c, method, url, b, h, json=body))[0] == 404, (role, method, url)
        create = await same_as_unknown(
            c, "POST", f"{API}/units", b, h, json={"name": "新村", "kind": "village", "parent_id": b}
        )
        assert create == (422, "Invalid request", ["parent_id"]), role
        move_under = await same_as_unknown(
            c, "POST", f"{API}/units/{tree.a_town['id']}/move", b, h, json={"parent_id": b}
        )
        assert move_under == (422, "Invalid request", ["parent_id"]), role
    assert await roster.outbox() == before
    now = (await c.get(f"{API}/cadres/{b_cadre}", headers=roster.auth())).json()
    assert (now["unit_id"], now["version"], now["status"]) == (b, 1, "active")
    assert (await c.get(f"{API}/units/{b}", headers=roster.auth())).json()["version"] == 1


async def test_in_its_own_subtree_a_scoped_admin_writes_as_before(roster: RosterHarness, tree: Tree) -> None:
    h = tree.scoped(roster, "admin")
    c = roster.client
    made = await c.post(
        f"{API}/units", headers=h, json={"name": "甲村", "kind": "village", "parent_id": tree.a_town["id"]}
    )
    assert made.status_code == 201, made.text
    moved = await c.post(
        f"{API}/cadres/{tree.a_cadre['id']}/move",
        headers=h,
        json={"unit_id": made.json()["id"], "effective_on": "2026-01-01", "reason": "调动"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["unit_id"] == made.json()["id"]


async def test_only_a_token_for_the_whole_tree_puts_a_unit_at_the_top(roster: RosterHarness, tree: Tree) -> None:
    before = await roster.outbox()
    for role in OFFICE:
        h = tree.scoped(roster, role)
        top = await roster.client.post(f"{API}/units", headers=h, json={"name": "新区", "kind": "district"})
        assert top.status_code == 403, top.text
        up = await roster.client.post(f"{API}/units/{tree.a_town['id']}/move", headers=h, json={"parent_id": None})
        assert up.status_code == 403, up.text
    assert await roster.outbox() == before
    top = await roster.client.post(f"{API}/units", headers=roster.auth(), json={"name": "新区", "kind": "district"})
    assert top.status_code == 201, top.text


async def test_an_import_job_is_read_only_within_its_importer_s_units(roster: RosterHarness, tree: Tree) -> None:
    b_officer = roster.auth("officer", unit_scope=[tree.b["id"]], sub="officer-of-b")
    started = await upload(roster, xlsx([person("乙区新人", "乙区")]), "乙区名册.xlsx", headers=b_officer)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert (await wait_for(roster, job_id))["status"] == "succeeded"
    url = f"{API}/imports/{{id}}"
    assert (await roster.client.get(url.format(id=job_id), headers=b_officer)).status_code == 200
    for role in OFFICE:
        got = await same_as_unknown(roster.client, "GET", url, job_id, tree.scoped(roster, role))
        assert got[0] == 404, role  # it used to be the whole report
    # a token for the city covers B
    city = roster.auth("officer", unit_scope=[tree.city["id"]])
    assert (await roster.client.get(url.format(id=job_id), headers=city)).status_code == 200
    # and a job started for the whole tree is the whole tree's
    whole = await run_import(roster, xlsx([person("市里新人", "甲镇")]))
    assert (
        await roster.client.get(url.format(id=whole["id"]), headers=tree.scoped(roster, "officer"))
    ).status_code == 404


async def test_a_scoped_upsert_cannot_take_over_a_cadre_of_another_subtree(roster: RosterHarness, tree: Tree) -> None:
    before = await roster.outbox()
    h = tree.scoped(roster, "officer")
    # B's cadre, by its ID number, into A: it used to move the cadre out of B
    job_id = (await upload(roster, xlsx([row_of(tree.b_body, "甲区")]), headers=h, mode="upsert")).json()["id"]
    job = await wait_for(roster, job_id)
    assert job["status"] == "failed"
    assert [(e["row"], e["column"], e["message"]) for e in job["errors"]] == [(2, "身份证号", DUPLICATE_ID)]
    now = (await roster.client.get(f"{API}/cadres/{tree.b_cadre['id']}", headers=roster.auth())).json()
    assert (now["unit_id"], now["version"]) == (tree.b["id"], 1)
    assert await roster.outbox() == before
    # A's own cadre, by its number, is still A's to update
    a_body = {**cadre_body(tree.a["id"]), "name": "甲区新干部"}
    await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=a_body)
    job_id = (await upload(roster, xlsx([{**row_of(a_body, "甲镇")}]), headers=h, mode="upsert")).json()["id"]
    job = await wait_for(roster, job_id)
    assert (job["status"], job["rows_updated"]) == ("succeeded", 1), job


async def test_a_scoped_import_answers_a_unit_of_another_subtree_as_an_unknown_unit(
    roster: RosterHarness, tree: Tree
) -> None:
    h = tree.scoped(roster, "officer")

    async def messages(unit: str, **form: Any) -> list[str]:
        resp = await upload(roster, xlsx([person("新人", unit, 单位类型="村")]), headers=h, **form)
        job = await wait_for(roster, resp.json()["id"])
        assert job["status"] == "failed", job
        return [e["message"] for e in job["errors"]]

    for create_units in (False, True):
        for theirs, unknown in (("乙区", "丙区"), ("平湖市/乙区", "平湖市/丙区"), ("乙区/新村", "丙区/新村")):
            got = await messages(theirs, create_units=create_units)
            assert got == [m.replace("丙区", "乙区") for m in await messages(unknown, create_units=create_units)]
        # a unit above its own is not its own either, and it creates no unit outside its own
        above = await messages("临海市", create_units=create_units)
        assert await messages("平湖市", create_units=create_units) == [m.replace("临海市", "平湖市") for m in above]
    # a path from the top of the tree (as an export writes it) reaches its own units
    job = await run_import(roster, xlsx([person("新人", "平湖市/甲区/甲镇")]), headers=h)
    assert job["status"] == "succeeded", job["errors"]
    created = await run_import(
        roster, xlsx([person("新村人", "平湖市/甲区/甲镇/甲新村", 单位类型="村")]), headers=h, create_units=True
    )
    assert created["status"] == "succeeded", created["errors"]
    units = (await roster.client.get(f"{API}/units", headers=roster.auth(), params={"name": "甲新村"})).json()["items"]
    assert [u["path"][:3] for u in units] == [[tree.city["id"], tree.a["id"], tree.a_town["id"]]]


async def test_operations_on_the_whole_roster_refuse_a_scoped_admin(roster: RosterHarness, tree: Tree) -> None:
    h = tree.scoped(roster, "admin")
    before = await roster.outbox()
    for method, url in (
        ("POST", f"{API}/events/snapshot"),
        ("POST", f"{API}/events/republish?since=2026-01-01T00:00:00Z"),
        ("GET", f"{API}/admin/sealing"),
        ("POST", f"{API}/admin/sealing/reseal"),
        ("GET", f"{API}/admin/id-number-twins"),
        ("POST", f"{API}/admin/id-numbers/renormalise"),
    ):
        resp = await roster.client.request(method, url, headers=h)
        assert resp.status_code == 403, (url, resp.text)
    assert await roster.outbox() == before
    assert (await roster.client.post(f"{API}/events/snapshot", headers=roster.auth())).status_code == 200
