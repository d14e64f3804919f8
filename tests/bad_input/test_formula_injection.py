"""Formula injection: hostile text through every spreadsheet the platform hands out.

A name, title, rank or strength such as ``=HYPERLINK("http://evil","x")`` is written, over
the HTTP API, into each export there is; the file is opened with openpyxl and no cell may
be a formula, no text may start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
without the quote in front (cadrekit/spreadsheets.py), and numbers and dates stay typed.

``EXPORTS`` lists every route that answers with a spreadsheet; a test walks the routes of
every app and fails when one is not in the list, so a new export cannot be left out.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.routing import APIRoute

from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.spreadsheets import XLSX
from contracts import scoring
from contracts.envelope import envelope
from contracts.samples import sample
from tests.bad_input.conftest import System
from tests.conftest import RosterHarness
from tests.factories import cadre_body
from tests.matching.conftest import cadre_state as matching_cadre
from tests.roster.service.test_imports import run_import
from tests.secondment.conftest import cadre_state as secondment_cadre

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]
# What a read cell may not start with. XML reads a carriage return back as a line feed.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
Workbooks = list[bytes]


def assert_inert(content: bytes, *, numbers: tuple[str, ...] = (), dates: tuple[str, ...] = ()) -> list[str]:
    """No formula cell, no text that could evaluate; the named columns of the first sheet typed.

    Returns the texts of every sheet."""
    wb = openpyxl.load_workbook(io.BytesIO(content))
    texts: list[str] = []
    for ws in wb.worksheets:
        rows = list(ws.iter_rows())
        header = [c.value for c in rows[0]] if rows else []
        for row in rows:
            for cell in row:
                where = f"{ws.title}!{cell.coordinate}"
                assert cell.data_type != "f", (where, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), (where, cell.value)
                    texts.append(cell.value)
        for name in numbers + dates if ws is wb.worksheets[0] else ():
            assert name in header, (ws.title, name, header)
            col = header.index(name)
            for row in rows[1:]:
                cell = row[col]
                if cell.value is None:
                    continue
                if name in numbers:
                    assert cell.data_type == "n" and isinstance(cell.value, int | float), (name, cell.value)
                else:
                    assert cell.is_date and isinstance(cell.value, dt.datetime), (name, cell.value)
    return texts


def assert_neutralised(texts: list[str], stored: list[str]) -> None:
    """Each hostile value the service stored is in the sheet, with the quote in front."""
    for value in stored:
        quoted = "'" + value.replace("\r", "\n")
        assert any(t == quoted or t.startswith(quoted) or quoted in t for t in texts), (value, texts)


# roster -------------------------------------------------------------------------------------
ROSTER = "/api/v1/roster"


async def _roster_world(system: System) -> list[dict[str, Any]]:
    client, admin = system.clients["roster"], system.auth("roster")
    parent = await client.post(f"{ROSTER}/units", headers=admin, json={"name": HOSTILE[1], "kind": "city_organ"})
    assert parent.status_code == 201, parent.text
    child = await client.post(
        f"{ROSTER}/units", headers=admin, json={"name": HOSTILE[4], "kind": "town", "parent_id": parent.json()["id"]}
    )
    assert child.status_code == 201, child.text
    made = []
    for n, text in enumerate(HOSTILE):
        body = cadre_body(
            child.json()["id"] if n % 2 else parent.json()["id"],
            name=text,
            post_title=text,
            rank=text,
            education=text,
            professional_field=text,
            strengths=[text],
            post_wishes=[text],
            retirement_date=dt.date(2035, 6, 30) if n % 2 else None,
        )
        resp = await client.post(f"{ROSTER}/cadres", headers=admin, json=body)
        assert resp.status_code == 201, resp.text
        made.append(resp.json())
    return made


async def _roster_export(system: System) -> Workbooks:
    made = await _roster_world(system)
    assert {c["name"] for c in made} >= {"=1+1", "-2+3"}  # the API strips the tab: the "=" is left
    client = system.clients["roster"]
    masked = await client.get(f"{ROSTER}/cadres/export", headers=system.auth("roster", "officer"))
    revealed = await client.get(
        f"{ROSTER}/cadres/export",
        headers=system.auth("roster", "officer"),
        params={"reveal_id_numbers": "true", "reason": "公式注入检查"},
    )
    out = []
    for resp in (masked, revealed):
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == XLSX
        out.append(resp.content)
    texts = assert_inert(revealed.content, numbers=("工作年限",), dates=("出生日期", "退休日期"))
    assert_neutralised(texts, [c["name"] for c in made] + [HOSTILE[1] + "/" + HOSTILE[4]])
    assert_neutralised(assert_inert(masked.content, numbers=("工作年限",)), [c["post_title"] for c in made])
    return out


async def _roster_template(system: System) -> Workbooks:
    resp = await system.clients["roster"].get(
        f"{ROSTER}/imports/template.xlsx", headers=system.auth("roster", "officer")
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == XLSX
    assert_inert(resp.content, numbers=("工作年限",))
    return [resp.content]


# matching -----------------------------------------------------------------------------------
MATCHING = "/api/v1/matching"


async def _matching_world(system: System) -> str:
    from services.matching.models import mirror

    app, client, admin = system.apps["matching"], system.clients["matching"], system.auth("matching")
    unit = await system.mirror_unit("matching", HOSTILE[0])
    cadres = [
        matching_cadre(unit, name=text, retirement_date="2040-01-01", rank=text, post_wishes=["经济管理"])
        for text in HOSTILE
    ]
    async with app.state.runtime.sessions() as s:
        for state in cadres:
            await upsert_cadre(s, mirror, state)
        await s.commit()
    # a negative year's points: its fit term is below zero, and must stay a number
    consumer = next(c for c in app.state.runtime.consumers if c.name == "matching.inbound")
    for state in cadres[:3]:
        changed = sample(scoring.ScoreChanged, cadre_id=state["cadre_id"], year=2025, total="-2.00", delta="-2.00")
        assert await consumer.apply(envelope("scoring", changed.event()), consumer.handlers[changed.TYPE])
    campaign = await client.post(
        f"{MATCHING}/campaigns",
        headers=admin,
        json={"name": HOSTILE[1], "kind": "placement", "year": 2025, "ratio": len(HOSTILE)},
    )
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    for text in HOSTILE:
        body = {"title": text, "host_unit_id": unit, "category": "经济管理", "seats": 1}
        post = await client.post(f"{MATCHING}/campaigns/{cid}/posts", headers=admin, json=body)
        assert post.status_code == 201, post.text
    pool = await client.put(
        f"{MATCHING}/campaigns/{cid}/pool", headers=admin, json={"cadre_ids": [c["cadre_id"] for c in cadres]}
    )
    assert pool.status_code == 200, pool.text
    assert len(pool.json()["eligible"]) == len(cadres), pool.json()
    return cid  # type: ignore[no-any-return]


async def _balance_table_export(system: System) -> Workbooks:
    cid = await _matching_world(system)
    resp = await system.clients["matching"].get(
        f"{MATCHING}/campaigns/{cid}/balance-table/export", headers=system.auth("matching")
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == XLSX
    scores = ("匹配度", "工作连续性", "个人意愿", "人岗相适", "年龄照顾", "年度积分", "成长指数")
    texts = assert_inert(resp.content, numbers=("职数", "填报人数", "排名", "志愿顺位", *scores))
    assert_neutralised(texts, HOSTILE)  # post titles (stripped by the API) and names (raw from the mirror)
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    points = [r[rows[0].index("年度积分")] for r in rows[1:]]
    assert any(isinstance(p, int | float) and p < 0 for p in points), points  # −2.00 points: a negative number
    return [resp.content]


# secondment ---------------------------------------------------------------------------------
SECONDMENT = "/api/v1/secondment"


async def _secondment_unit(
    system: System, name: str, kind: str, region: str | None, parent: dict[str, Any] | None = None
) -> dict[str, Any]:
    from services.secondment.models import mirror

    unit_id = str(uuid.uuid4())
    state = {
        "unit_id": unit_id,
        "name": name,
        "kind": kind,
        "region": region,
        "path": [*(parent["path"] if parent else []), unit_id],
        "parent_id": parent["unit_id"] if parent else None,
        "version": 1,
    }
    async with system.apps["secondment"].state.runtime.sessions() as s:
        await upsert_unit(s, mirror, state)
        await s.commit()
    return state


async def _batch_export(system: System) -> Workbooks:
    from services.secondment.models import mirror

    client, officer = system.clients["secondment"], system.auth("secondment", "officer")
    city = await _secondment_unit(system, "佛山市", "city", "佛山")
    district = await _secondment_unit(system, "三水区", "district", "三水", city)
    organs = [await _secondment_unit(system, text, "city_organ", HOSTILE[3], city) for text in HOSTILE]
    towns = [await _secondment_unit(system, f"镇街{i}", "town", "三水", district) for i in range(len(HOSTILE))]
    cadres = [
        secondment_cadre(str(uuid.uuid4()), organ["unit_id"], name=text, strengths=["科技创新"])
        for organ, text in zip(organs, HOSTILE, strict=True)
    ]
    async with system.apps["secondment"].state.runtime.sessions() as s:
        for state in cadres:
            await upsert_cadre(s, mirror, state)
        await s.commit()
    body = {"name": HOSTILE[1], "year": 2018, "starts_on": "2018-03-01", "needed_specialties": ["科技创新"]}
    batch = await client.post(f"{SECONDMENT}/batches", headers=officer, json=body)
    assert batch.status_code == 201, batch.text
    bid = batch.json()["id"]
    for organ, town, cadre, text in zip(organs, towns, cadres, HOSTILE, strict=True):
        pair = await client.post(
            f"{SECONDMENT}/batches/{bid}/pairs",
            headers=officer,
            json={"city_organ_id": organ["unit_id"], "grassroots_unit_id": town["unit_id"]},
        )
        assert pair.status_code == 201, pair.text
        nomination = await client.post(
            f"{SECONDMENT}/batches/{bid}/nominations",
            headers=officer,
            json={"cadre_id": cadre["cadre_id"], "pair_id": pair.json()["id"], "title_held": text},
        )
        assert nomination.status_code == 201, nomination.text
    resp = await client.get(f"{SECONDMENT}/batches/{bid}/export", headers=system.auth("secondment", "portal"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == XLSX
    texts = assert_inert(resp.content, numbers=("年龄", "服务天数"), dates=("开始日期", "期满日期"))
    assert_neutralised(texts, HOSTILE)  # cadre and unit names from the mirror as they came
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + len(HOSTILE)
    assert all(isinstance(r[rows[0].index("年龄")], int) for r in rows[1:])
    return [resp.content]


# every route that answers with a spreadsheet, and what writes hostile text through it ---------
EXPORTS: dict[tuple[str, str, str], Callable[[System], Awaitable[Workbooks]]] = {
    ("roster", "GET", "/api/v1/roster/cadres/export"): _roster_export,
    ("roster", "GET", "/api/v1/roster/imports/template.xlsx"): _roster_template,
    ("matching", "GET", "/api/v1/matching/campaigns/{campaign_id}/balance-table/export"): _balance_table_export,
    ("secondment", "GET", "/api/v1/secondment/batches/{batch_id}/export"): _batch_export,
}


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI 0.165 keeps an included router whole
            yield from _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):  # a mounted app or router
            yield from _api_routes(route.routes)


def _spreadsheet_routes(system: System) -> set[tuple[str, str, str]]:
    found = set()
    for service, app in system.apps.items():
        for route in _api_routes(app.routes):
            content = (route.responses.get(200) or route.responses.get("200") or {}).get("content", {})
            media = {str(m) for m in content}
            if isinstance(route.response_class, type) and getattr(route.response_class, "media_type", None):
                media.add(str(route.response_class.media_type))
            looks = route.path.endswith(("/export", ".xlsx", ".xls", ".csv")) or "export" in route.path
            if looks or any("spreadsheet" in m or "excel" in m or m == "text/csv" for m in media):
                for method in route.methods or ():
                    found.add((service, method, route.path))
    return found


async def test_every_route_that_answers_with_a_spreadsheet_is_in_the_hostile_list(system: System) -> None:
    assert _spreadsheet_routes(system) == set(EXPORTS)


@pytest.mark.parametrize("export", list(EXPORTS), ids=lambda e: f"{e[0]} {e[1]} {e[2]}")
async def test_hostile_text_never_becomes_a_formula(system: System, export: tuple[str, str, str]) -> None:
    workbooks = await EXPORTS[export](system)
    assert workbooks
    for content in workbooks:
        assert_inert(content)


async def test_a_hostile_export_imports_back_unchanged(roster: RosterHarness) -> None:
    """The quote an export adds comes off again on import: a round trip changes nothing."""
    unit = await roster.unit(HOSTILE[4])  # no "/" in it: the 单位 column is a path split at "/"
    # list columns split at commas on import, so a value with one goes in the plain columns only
    made = [
        await roster.cadre(
            unit["id"],
            name=text,
            post_title=text,
            rank=text,
            professional_field=text,
            strengths=[] if "," in text else [text],
            post_wishes=[] if "," in text else [text],
        )
        for text in HOSTILE
    ]
    export = await roster.client.get(
        f"{ROSTER}/cadres/export",
        headers=roster.auth("officer"),
        params={"reveal_id_numbers": "true", "reason": "往返核对"},
    )
    assert export.status_code == 200, export.text
    assert_neutralised(assert_inert(export.content), [c["name"] for c in made])
    before = await roster.outbox()
    job = await run_import(roster, export.content, "cadres.xlsx", mode="upsert")
    assert job["status"] == "succeeded", job["errors"]
    assert (job["rows_unchanged"], job["rows_updated"], job["rows_inserted"]) == (len(made), 0, 0)
    assert await roster.outbox() == before
