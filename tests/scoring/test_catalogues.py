"""A year with no published catalogue: the 422 names the calls that publish one, in English
and in Chinese, and the calls it names work; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.scoring.conftest import API, ScoringHarness

DRAFT = "POST /api/v1/scoring/catalogues/2022/drafts"
PUBLISH = "POST /api/v1/scoring/catalogues/{catalogue_id}/publish"
CLI = "cadre catalogues publish-default 2022"


async def _propose_2022(scoring: ScoringHarness, cadre: str, **headers: str) -> httpx.Response:
    body = {"cadre_id": cadre, "rule_code": "N02", "year": 2022, "occurred_on": "2022-05-01"}
    return await scoring.client.post(f"{API}/entries", json=body, headers={**scoring.auth(), **headers})


async def _call(scoring: ScoringHarness, call: str, **ids: str) -> dict[str, Any]:
    """Make a call as the 422 names it (``POST /api/…``), as the cadre office's admin."""
    method, path = call.format(**ids).split(" ")
    resp = await scoring.client.request(method, path, headers=scoring.auth("admin", sub="admin-1"))
    assert resp.is_success, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_a_year_without_a_catalogue_names_the_calls_that_publish_one(scoring: ScoringHarness) -> None:
    cadre = await scoring.cadre(await scoring.unit())
    refused = await _propose_2022(scoring, cadre)
    assert refused.status_code == 422
    problem = refused.json()
    [error] = problem["errors"]
    assert error["field"] == "year" and "message_zh" not in error
    assert error["message"].startswith("no catalogue is published for 2022")
    for named in (DRAFT, PUBLISH, CLI):
        assert named in error["message"] and named in problem["detail"]
    assert problem["publish_with"] == {"draft": DRAFT, "publish": PUBLISH, "cli": CLI}

    # The calls it names are the service's (and the gateway's: it forwards the path as it is).
    draft = await _call(scoring, problem["publish_with"]["draft"])
    assert (draft["status"], draft["counts"]["positive_categories"], draft["counts"]["negative_categories"]) == (
        "draft",
        8,
        5,
    )
    still = (await _propose_2022(scoring, cadre)).json()
    publish = f"POST /api/v1/scoring/catalogues/{draft['id']}/publish"
    assert still["errors"][0]["field"] == "year" and still["publish_with"] == {"publish": publish}
    assert f"draft v1 ({draft['id']})" in still["detail"] and publish in still["detail"]
    published = await _call(scoring, problem["publish_with"]["publish"], catalogue_id=draft["id"])
    assert published["status"] == "published"
    assert (await _propose_2022(scoring, cadre)).status_code == 201


async def test_the_same_422_in_chinese(scoring: ScoringHarness) -> None:
    cadre = await scoring.cadre(await scoring.unit())
    refused = await _propose_2022(scoring, cadre, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["title"] == "请求参数无效"
    [error] = problem["errors"]
    assert error["field"] == "year" and set(error) == {"field", "message"}
    assert error["message"].startswith("2022 年度尚未发布积分规则目录")
    assert problem["detail"] == f"year: {error['message']}"
    for named in (DRAFT, PUBLISH, CLI):
        assert named in error["message"]
    assert "干部科" in error["message"] and "默认目录" in error["message"]
