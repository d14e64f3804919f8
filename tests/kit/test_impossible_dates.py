"""A date in the right form that names no day says what is wrong with it (issue 17: "1962-02-30"
was answered "not a date (use YYYY-MM-DD)"), in a body, a query and a spreadsheet cell."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel

from cadrekit.dates import impossible_day
from cadrekit.problems import install_problem_handlers
from services.roster.domain.cells import parse_date


class Body(BaseModel):
    birth_date: dt.date
    ends_on: dt.date | None = None


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/cadres")
    async def create(body: Body) -> None:
        return None

    @app.get("/cadres")
    async def listing(born_after: dt.date = Query()) -> None:
        return None

    return app


@pytest.mark.parametrize(
    ("year", "month", "day", "en", "zh"),
    [
        (1962, 2, 30, "February has no 30th", "2月没有30日"),
        (2023, 2, 29, "February 2023 has no 29th (2023 is not a leap year)", "2023年2月没有29日（2023年不是闰年）"),
        (2024, 4, 31, "April has no 31st", "4月没有31日"),
        (2024, 11, 31, "November has no 31st", "11月没有31日"),
        (2024, 6, 32, "June has no 32nd", "6月没有32日"),
        (2024, 13, 1, "there is no month 13", "没有13月"),
        (2024, 1, 0, "there is no day 0", "没有0日"),
    ],
)
def test_impossible_days_are_named(year: int, month: int, day: int, en: str, zh: str) -> None:
    assert impossible_day(year, month, day) == (en, zh)


def test_real_days_are_not_impossible() -> None:
    assert impossible_day(2024, 2, 29) is None and impossible_day(2023, 12, 31) is None


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_a_body_and_a_query_say_which_day_does_not_exist(lang: str) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Accept-Language": lang}) as c:
        body = await c.post("/cadres", json={"birth_date": "1962-02-30", "ends_on": "2024-04-31"})
        query = await c.get("/cadres", params={"born_after": "2023-02-29"})
        malformed = await c.post("/cadres", json={"birth_date": "30/02/1962"})
    zh = lang == "zh-CN"
    assert body.status_code == 422 and body.headers["content-type"] == "application/problem+json"
    assert {e["field"]: e["message"] for e in body.json()["errors"]} == {
        "birth_date": "2月没有30日" if zh else "February has no 30th",
        "ends_on": "4月没有31日" if zh else "April has no 31st",
    }
    assert query.json()["errors"][0]["field"] == "born_after"
    assert query.json()["errors"][0]["message"] == (
        "2023年2月没有29日（2023年不是闰年）" if zh else "February 2023 has no 29th (2023 is not a leap year)"
    )
    # a string that is not in the form at all is still told about the form
    assert "2月" not in malformed.json()["errors"][0]["message"]


@pytest.mark.parametrize("text", ["1962-02-30", "1962/2/30", "1962年02月30日", "19620230"])
def test_a_spreadsheet_cell_says_which_day_does_not_exist(text: str) -> None:
    with pytest.raises(ValueError, match="February has no 30th") as err:
        parse_date(text)
    assert "2月没有30日" in str(err.value)
