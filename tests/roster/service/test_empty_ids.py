"""An empty string where a roster body takes a unit id is a 422 naming the field, never a 500.

``POST /units/{id}/move {"parent_id": ""}`` used to reach the database as a parent that
does not exist and fail its foreign key (500); ``null`` is how a body says "top level".
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import RosterHarness
from tests.factories import cadre_body

API = "/api/v1/roster"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def assert_field_refused(resp: httpx.Response, field: str, *, chinese: bool = False) -> dict[str, Any]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == [field]
    if chinese:
        assert body["title"] == "请求参数无效"
        assert body["errors"][0]["message"] == "字符串过短"
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("chinese", [False, True], ids=["en", "zh"])
async def test_moving_a_unit_under_an_empty_parent_id_is_a_422_naming_parent_id(
    roster: RosterHarness, chinese: bool
) -> None:
    parent = await roster.unit("平湖市", "city")
    unit = await roster.unit("市委组织部", parent_id=parent["id"])
    before = await roster.outbox()
    headers = {**roster.auth(), **(ZH if chinese else {})}
    resp = await roster.client.post(f"{API}/units/{unit['id']}/move", headers=headers, json={"parent_id": ""})
    assert_field_refused(resp, "parent_id", chinese=chinese)
    now = (await roster.client.get(f"{API}/units/{unit['id']}", headers=roster.auth())).json()
    assert (now["parent_id"], now["version"]) == (parent["id"], unit["version"])
    assert await roster.outbox() == before
    # null still makes it top level
    top = await roster.client.post(f"{API}/units/{unit['id']}/move", headers=roster.auth(), json={"parent_id": None})
    assert top.status_code == 200, top.text
    assert top.json()["parent_id"] is None


async def test_every_unit_id_in_a_roster_body_refuses_the_empty_string(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    before = await roster.outbox()
    c = roster.client
    created = await c.post(
        f"{API}/units", headers={**roster.auth(), **ZH}, json={"name": "某镇", "kind": "town", "parent_id": ""}
    )
    assert_field_refused(created, "parent_id", chinese=True)
    registered = await c.post(f"{API}/cadres", headers=roster.auth(), json=cadre_body(""))
    assert_field_refused(registered, "unit_id")
    moved = await c.post(
        f"{API}/cadres/{cadre['id']}/move",
        headers=roster.auth(),
        json={"unit_id": "", "effective_on": "2025-01-01", "reason": "工作调动"},
    )
    assert_field_refused(moved, "unit_id")
    assert await roster.outbox() == before
