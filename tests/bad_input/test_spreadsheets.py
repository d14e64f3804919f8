"""Bad spreadsheets at `POST /api/v1/roster/imports`: each gives a clear report, 0 rows written.

What tests/roster/service/test_imports.py already covers (wrong headers, random bytes, a zip
that is no workbook, NUL bytes, an unknown encoding, GBK that imports) is not repeated here.
Here: merged cells, formulas, dates written as text, 10 MB of junk, zip bombs (honest and
with lying sizes), a GBK CSV with bad rows, a GBK CSV with wrong headers, and a header twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import struct
import time
import zipfile
from typing import Any

import openpyxl
import pytest

from tests.conftest import RosterHarness
from tests.roster.service.test_imports import (
    TEMPLATE_HEADERS,
    assert_problem,
    cadres,
    person,
    run_import,
    upload,
    xlsx,
)

MB = 1024 * 1024


async def _nothing_written(roster: RosterHarness, before: list[dict[str, Any]]) -> None:
    assert await cadres(roster) == []
    assert await roster.outbox() == before


def _workbook(rows: list[list[Any]], edit: Any = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(TEMPLATE_HEADERS)
    for row in rows:
        ws.append(row)
    if edit is not None:
        edit(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cells(p: dict[str, Any]) -> list[Any]:
    return [p.get(h) for h in TEMPLATE_HEADERS]


async def test_merged_name_cells_leave_the_lower_rows_without_a_name(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    rows = [_cells(person("张三", "市委组织部")), _cells(person("李四", "市委组织部"))]
    # The department's sheets often merge a column over several people; only the top-left
    # cell of a merge keeps its value, so row 3 has no name.
    before = await roster.outbox()
    job = await run_import(roster, _workbook(rows, lambda ws: ws.merge_cells("A2:A3")))
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "姓名")]
    assert job["errors"][0]["message"]
    await _nothing_written(roster, before)


async def test_merged_header_cells_are_refused_naming_the_columns(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    before = await roster.outbox()
    content = _workbook([_cells(person("张三", "市委组织部"))], lambda ws: ws.merge_cells("A1:B1"))
    body = assert_problem(await upload(roster, content), 422)
    assert ("性别", "required column is missing") in {(e["column"], e["message"]) for e in body["errors"]}
    assert all(e["field"] == "file" and e["row"] == 1 for e in body["errors"])
    await _nothing_written(roster, before)


async def test_formulas_without_a_computed_value_are_reported_per_cell(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    p = person("张三", "市委组织部")
    formula_name = _cells(p)
    formula_name[TEMPLATE_HEADERS.index("姓名")] = '="张"&"三"'
    q = person("李四", "市委组织部")
    formula_id = _cells(q)
    formula_id[TEMPLATE_HEADERS.index("身份证号")] = '=CONCATENATE("3304","82")'
    before = await roster.outbox()
    # openpyxl stores the formula and no cached value: what a formula cell holds is unknown
    job = await run_import(roster, _workbook([formula_name, formula_id]))
    assert job["status"] == "failed"
    assert {(e["row"], e["column"]) for e in job["errors"]} == {(2, "姓名"), (3, "身份证号")}
    assert all(e["message"] for e in job["errors"])
    await _nothing_written(roster, before)


@pytest.mark.parametrize(
    "text",
    ["1980年13月1日", "五月一日", "1980-02-30", "30/02/1980", "2980-01-01", "19800199", "明年"],
)
async def test_impossible_dates_written_as_text_are_reported(roster: RosterHarness, text: str) -> None:
    await roster.unit("市委组织部")
    p = person("张三", "市委组织部")
    p["出生日期"] = text
    before = await roster.outbox()
    job = await run_import(roster, xlsx([person("李四", "市委组织部"), p]))
    assert job["status"] == "failed", text
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "出生日期")], (text, job["errors"])
    await _nothing_written(roster, before)


async def test_a_text_date_that_disagrees_with_the_id_number_is_reported(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    p = person("张三", "市委组织部", birth=dt.date(1980, 5, 1))
    p["出生日期"] = "1980年5月2日"  # a readable date, but not the one in the ID number
    before = await roster.outbox()
    job = await run_import(roster, xlsx([p]))
    assert job["status"] == "failed"
    assert job["errors"] and {e["row"] for e in job["errors"]} == {2}
    assert {e["column"] for e in job["errors"]} <= {"出生日期", "身份证号"}
    await _nothing_written(roster, before)


@pytest.mark.parametrize("filename", ["名册.xlsx", "名册.csv", "名册.xls"])
async def test_ten_megabytes_of_junk_is_a_422_naming_the_file(roster: RosterHarness, filename: str) -> None:
    before = await roster.outbox()
    t0 = time.perf_counter()
    body = assert_problem(await upload(roster, os.urandom(10 * MB), filename), 422)
    assert body["errors"][0]["field"] == "file"
    assert time.perf_counter() - t0 < 20
    await _nothing_written(roster, before)


async def test_ten_megabytes_of_junk_inside_a_zip_is_refused(roster: RosterHarness) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("[Content_Types].xml", os.urandom(5 * MB))
        zf.writestr("xl/worksheets/sheet1.xml", os.urandom(5 * MB))
    before = await roster.outbox()
    body = assert_problem(await upload(roster, buf.getvalue()), 422)
    assert body["errors"][0]["field"] == "file"
    await _nothing_written(roster, before)


def _bomb(inflated: int) -> bytes:
    """A workbook-shaped zip whose sheet inflates to `inflated` bytes of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            chunk = b"\0" * MB
            for _ in range(inflated // MB):
                out.write(chunk)
    return buf.getvalue()


def _lie_about_sizes(content: bytes, size: int) -> bytes:
    """The same zip with every entry's declared uncompressed size replaced by `size`."""
    data = bytearray(content)
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:  # central directory headers
        if struct.unpack_from("<I", data, pos + 24)[0] != 0xFFFFFFFF:
            struct.pack_into("<I", data, pos + 24, size)
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) != -1:  # local headers
        if struct.unpack_from("<I", data, pos + 22)[0] != 0xFFFFFFFF:
            struct.pack_into("<I", data, pos + 22, size)
        pos += 4
    return bytes(data)


async def test_a_zip_bomb_is_refused_before_it_is_inflated(roster: RosterHarness) -> None:
    bomb = _bomb(200 * MB)
    assert len(bomb) < MB  # 200 MB of sheet in a few hundred kB
    before = await roster.outbox()
    t0 = time.perf_counter()
    body = assert_problem(await upload(roster, bomb), 422)
    assert time.perf_counter() - t0 < 5  # refused from the zip's directory, not by inflating
    assert body["errors"][0]["field"] == "file"
    assert "zip bomb" in body["errors"][0]["message"]
    await _nothing_written(roster, before)


async def test_a_zip_bomb_that_lies_about_its_sizes_is_refused(roster: RosterHarness) -> None:
    # Declared sizes pass the directory check; the entry still inflates to 64 MB of zeros.
    bomb = _lie_about_sizes(_bomb(64 * MB), 1000)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:
        assert sum(i.file_size for i in zf.infolist()) < 10_000
    before = await roster.outbox()
    body = assert_problem(await upload(roster, bomb), 422)
    assert body["errors"][0]["field"] == "file"
    await _nothing_written(roster, before)


def _gbk_csv(rows: list[list[Any]], headers: list[str] = TEMPLATE_HEADERS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    content = buf.getvalue().encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    return content


async def test_a_gbk_csv_with_bad_rows_names_them_in_readable_chinese(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    good = person("欧阳修", "市委组织部")
    bad_unit = person("司马光", "不存在的单位")
    bad_sex = person("王安石", "市委组织部", 性别="未知")
    rows = [["" if p.get(h) is None else p.get(h) for h in TEMPLATE_HEADERS] for p in (good, bad_unit, bad_sex)]
    before = await roster.outbox()
    job = await run_import(roster, _gbk_csv(rows), "名册.csv")
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "单位"), (4, "性别")]
    assert job["rows_inserted"] == 0
    await _nothing_written(roster, before)


async def test_a_gbk_csv_with_wrong_headers_names_the_columns_decoded(roster: RosterHarness) -> None:
    headers = ["名字" if h == "姓名" else h for h in TEMPLATE_HEADERS]
    before = await roster.outbox()
    body = assert_problem(await upload(roster, _gbk_csv([], headers), "名册.csv"), 422)
    errors = {(e["column"], e["message"]) for e in body["errors"]}
    assert ("姓名", "required column is missing") in errors
    assert ("名字", "unknown column") in errors
    await _nothing_written(roster, before)


@pytest.mark.parametrize("filename", ["名册.xlsx", "名册.csv"])
async def test_a_header_written_twice_is_a_422_naming_it(roster: RosterHarness, filename: str) -> None:
    # Two 姓名 columns: which one holds the names cannot be told, so neither may silently win.
    await roster.unit("市委组织部")
    headers = [*TEMPLATE_HEADERS, "姓名"]
    cells = [*_cells(person("张三", "市委组织部")), "李四"]
    if filename.endswith(".csv"):
        buf = io.StringIO()
        csv.writer(buf).writerows([headers, ["" if c is None else c for c in cells]])
        content = buf.getvalue().encode("utf-8")
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(headers)
        ws.append(cells)
        out = io.BytesIO()
        wb.save(out)
        content = out.getvalue()
    before = await roster.outbox()
    body = assert_problem(await upload(roster, content, filename), 422)
    assert body["errors"] == [{"field": "file", "row": 1, "column": "姓名", "message": "column appears more than once"}]
    assert "姓名" in body["detail"]
    await _nothing_written(roster, before)
