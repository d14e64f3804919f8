"""Domain errors carry no HTTP; the one table in ``cadrekit.problems`` gives each its answer."""

from __future__ import annotations

import inspect

import httpx
import pytest
from fastapi import FastAPI

from cadrekit import errors
from cadrekit.problems import MEDIA_TYPE, PROBLEM_OF, install_problem_handlers


class CadreNotFound(errors.NotFound):
    """A service's own kind answers as its nearest listed ancestor."""


KINDS = [
    c
    for _, c in inspect.getmembers(errors, inspect.isclass)
    if issubclass(c, errors.DomainError) and c.__module__ == errors.__name__
]


def test_every_domain_kind_has_an_answer() -> None:
    assert set(KINDS) == set(PROBLEM_OF)
    assert not any(hasattr(k, "status") for k in KINDS), "a domain kind that knows its HTTP status"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/cadres/{cid}")
    async def one(cid: str) -> None:
        raise CadreNotFound(f"no cadre {cid}")

    @app.get("/version")
    async def stale() -> None:
        raise errors.StaleVersion("changed since read", current_version=7)

    @app.get("/field")
    async def field() -> None:
        raise errors.field_error("unit_id", "unknown unit")

    @app.get("/field-in-two-languages")
    async def field_zh() -> None:
        raise errors.field_error("unit_id", "unknown unit", zh="未知单位", known=["u1"])

    return app


@pytest.mark.parametrize(
    ("path", "status", "slug", "title_zh"),
    [
        ("/cadres/c1", 404, "not-found", "未找到"),
        ("/version", 412, "precondition-failed", "版本已变更"),
        ("/field", 422, "validation", "请求参数无效"),
    ],
)
async def test_a_domain_error_is_answered_as_problem_json(path: str, status: int, slug: str, title_zh: str) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get(path, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith(MEDIA_TYPE)
    body = answer.json()
    assert body["type"].endswith(slug) and body["title"] == title_zh and body["instance"] == path


async def test_the_facts_and_the_field_reach_the_caller() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        stale = (await client.get("/version")).json()
        field = (await client.get("/field")).json()
    assert stale["current_version"] == 7 and stale["detail"] == "changed since read"
    assert field["errors"] == [{"field": "unit_id", "message": "unknown unit"}]


async def test_a_domain_error_answers_in_chinese_when_it_has_the_words_and_is_asked() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        en = (await client.get("/field-in-two-languages")).json()
        zh = (await client.get("/field-in-two-languages", headers={"Accept-Language": "zh-CN"})).json()
        plain = (await client.get("/field", headers={"Accept-Language": "zh-CN"})).json()
    assert (en["detail"], en["errors"], en["known"]) == (
        "unit_id: unknown unit",
        [{"field": "unit_id", "message": "unknown unit"}],
        ["u1"],
    )
    assert (zh["title"], zh["detail"], zh["errors"], zh["known"]) == (
        "请求参数无效",
        "unit_id: 未知单位",
        [{"field": "unit_id", "message": "未知单位"}],
        ["u1"],
    )
    # without Chinese words of its own, the error keeps its English detail under a Chinese title
    assert (plain["title"], plain["detail"]) == ("请求参数无效", "unit_id: unknown unit")
