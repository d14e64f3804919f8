"""Bulk import: template, XLSX and CSV uploads, all-or-nothing jobs, export round trip."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import zipfile
from typing import Any

import httpx
import openpyxl
import pytest

from tests.conftest import RosterHarness
from tests.factories import cadre_body, id_number

API = "/api/v1/roster"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "身份证号",
    "单位",
    "职务",
    "职级",
    "中共党员",
    "学历",
    "工作年限",
    "基层工作经历",
    "特长",
    "岗位意愿",
    "专业领域",
    "工作意愿",
    "领导状态",
    "健康状况",
    "退休日期",
    "单位类型",
]


# helpers ----------------------------------------------------------------------------------
def person(name: str, unit: str, *, birth: dt.date = dt.date(1980, 5, 1), gender: str = "男", **cols: Any) -> dict:
    """One sheet row (Chinese header → cell) with a valid ID number for the birth date and sex."""
    idn = id_number(birth, "male" if gender == "男" else "female")
    return {"姓名": name, "性别": gender, "出生日期": birth.isoformat(), "身份证号": idn, "单位": unit, **cols}


def row_of(body: dict[str, Any], unit: str) -> dict[str, Any]:
    """The sheet row that says exactly what a ``cadre_body`` says."""
    w = body["willingness"]
    labels = (("town", "愿意到镇街"), ("heavy_task", "愿意承担重任"), ("mentor", "愿意带教"))
    chosen = [label for key, label in labels if w[key]]
    return {
        "姓名": body["name"],
        "性别": {"male": "男", "female": "女"}[body["gender"]],
        "出生日期": body["birth_date"],
        "身份证号": body["id_number"],
        "单位": unit,
        "职务": body["post_title"],
        "职级": body["rank"],
        "中共党员": "是" if body["party_member"] else "否",
        "学历": body["education"],
        "工作年限": body["years_of_service"],
        "特长": "、".join(body["strengths"]),
        "岗位意愿": "；".join(body["post_wishes"]),
        "专业领域": body["professional_field"],
        "工作意愿": "；".join(chosen),
        "领导状态": {"in_post": "在职领导", "second_line": "退二线", "non_leading": "非领导"}[
            body["leadership_status"]
        ],
        "健康状况": {"healthy": "健康", "limited": "一般", "exempt": "因病免除"}[body["health"]],
    }


def xlsx(rows: list[dict[str, Any]], headers: list[str] = TEMPLATE_HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(headers))
    for row in rows:
        ws.append([row.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(TEMPLATE_HEADERS)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row.get(h) for h in TEMPLATE_HEADERS])
    return buf.getvalue().encode(encoding)


async def upload(
    roster: RosterHarness,
    content: bytes,
    filename: str = "名册.xlsx",
    *,
    headers: dict[str, str] | None = None,
    **form: Any,
) -> httpx.Response:
    data = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return await roster.client.post(
        f"{API}/imports",
        headers=headers or roster.auth("officer", sub="officer-li"),
        files={"file": (filename, content, "application/octet-stream")},
        data=data,
    )


async def wait_for(roster: RosterHarness, job_id: str) -> dict[str, Any]:
    for _ in range(500):
        resp = await roster.client.get(f"{API}/imports/{job_id}", headers=roster.auth("officer"))
        assert resp.status_code == 200, resp.text
        job = resp.json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"import {job_id} did not finish: {job}")


async def run_import(roster: RosterHarness, content: bytes, filename: str = "名册.xlsx", **form: Any) -> dict:
    resp = await upload(roster, content, filename, **form)
    assert resp.status_code == 202, resp.text
    assert resp.headers["location"] == f"{API}/imports/{resp.json()['id']}"
    return await wait_for(roster, resp.json()["id"])


async def register(roster: RosterHarness, body: dict[str, Any]) -> dict[str, Any]:
    resp = await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def cadres(roster: RosterHarness, **params: Any) -> list[dict[str, Any]]:
    resp = await roster.client.get(f"{API}/cadres", headers=roster.auth(), params={"limit": 500, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    return body  # type: ignore[no-any-return]


# template ---------------------------------------------------------------------------------
async def test_template_is_a_readable_workbook_with_the_chinese_headers(roster: RosterHarness) -> None:
    resp = await roster.client.get(f"{API}/imports/template.xlsx", headers=roster.auth("officer"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == XLSX
    assert "template.xlsx" in resp.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(resp.content))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == TEMPLATE_HEADERS
    assert len(rows) == 2  # the header and one example row
    assert "填写说明" in wb.sheetnames


async def test_the_templates_example_row_imports_once_its_unit_exists(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    template = (await roster.client.get(f"{API}/imports/template.xlsx", headers=roster.auth("officer"))).content
    job = await run_import(roster, template, "template.xlsx", dry_run=True)
    assert job["status"] == "succeeded", job["errors"]
    assert job["rows_inserted"] == 1


# insert -----------------------------------------------------------------------------------
async def test_xlsx_insert_registers_every_row_with_history_and_events(roster: RosterHarness) -> None:
    organ = await roster.unit("市委组织部")
    rows = [
        person(
            "王一",
            "市委组织部",
            职务="科长",
            职级="正科",
            中共党员="是",
            学历="本科",
            工作年限=20,
            基层工作经历="2005-01-01至2010-12-31@某某镇",
            特长="招商引资、文字材料",
            岗位意愿="经济管理；城建交通",
            专业领域="经济",
            工作意愿="愿意到镇街；愿意带教",
            领导状态="退二线",
            健康状况="健康",
        ),
        person("李二", "市委组织部", birth=dt.date(1985, 2, 3), gender="女", 中共党员="否"),
        person("赵三", "市委组织部", birth=dt.date(1970, 7, 9), 退休日期="2031-01-01"),
    ]
    # a real date cell, as Excel stores a typed-in date
    rows[1]["出生日期"] = dt.date(1985, 2, 3)
    before = await roster.outbox()
    resp = await upload(roster, xlsx(rows), mode="insert")
    assert resp.status_code == 202, resp.text
    queued = resp.json()
    assert queued["status"] == "queued" and queued["rows_total"] == 3 and queued["mode"] == "insert"
    job = await wait_for(roster, queued["id"])
    assert job["status"] == "succeeded", job
    assert (job["rows_total"], job["rows_done"], job["rows_inserted"]) == (3, 3, 3)
    assert (job["rows_updated"], job["rows_unchanged"], job["errors"]) == (0, 0, [])
    assert job["created_by"] == "officer-li" and job["finished_at"] is not None

    listed = {c["name"]: c for c in await cadres(roster)}
    assert set(listed) == {"王一", "李二", "赵三"}
    wang = listed["王一"]
    assert wang["unit_id"] == organ["id"] and wang["unit_name"] == "市委组织部"
    assert wang["id_number"] == rows[0]["身份证号"][:6] + "********" + rows[0]["身份证号"][-4:]
    assert wang["party_member"] is True and wang["years_of_service"] == 20
    assert wang["strengths"] == ["招商引资", "文字材料"]
    assert wang["post_wishes"] == ["经济管理", "城建交通"]
    assert wang["willingness"] == {"town": True, "heavy_task": False, "mentor": True}
    assert wang["leadership_status"] == "second_line"
    assert wang["grassroots_periods"] == [{"start": "2005-01-01", "end": "2010-12-31", "unit_name": "某某镇"}]
    assert wang["grassroots_years"] == "6.0"
    assert wang["retirement_date"] == "2043-05-01"  # 63: a man born after August 1976 (the 2025 law)
    li = listed["李二"]
    assert li["gender"] == "female" and li["party_member"] is False
    assert li["retirement_date"] == "2043-02-03"  # 58: a woman cadre born after August 1981
    assert listed["赵三"]["retirement_date"] == "2031-01-01" and listed["赵三"]["retirement_date_is_set"]

    history = (await roster.client.get(f"{API}/cadres/{wang['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered"]
    assert history[0]["actor"] == "officer-li"
    assert history[0]["changes"]["import_job"] == job["id"]

    new_events = (await roster.outbox())[len(before) :]
    registered = [e for e in new_events if e["type"] == "roster.cadre.registered"]
    assert len(registered) == 3 and len(new_events) == 3
    assert {e["data"]["cadre_id"] for e in registered} == {c["id"] for c in listed.values()}
    for row in rows:
        assert row["身份证号"] not in str(new_events)


async def test_dry_run_validates_every_row_and_writes_nothing(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    before = await roster.outbox()
    job = await run_import(roster, xlsx([person("甲", "市委组织部"), person("乙", "市委组织部")]), dry_run=True)
    assert job["status"] == "succeeded" and job["dry_run"] is True
    assert job["rows_inserted"] == 2
    assert "nothing was written" in job["message"]
    assert await cadres(roster) == []
    assert await roster.outbox() == before
    # the same file, for real this time, writes both rows
    job = await run_import(roster, xlsx([person("甲", "市委组织部"), person("乙", "市委组织部")]))
    assert job["rows_inserted"] == 2 and len(await cadres(roster)) == 2


async def test_dry_run_still_reports_every_bad_row(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    bad = person("甲", "市委组织部", 中共党员="也许")
    job = await run_import(roster, xlsx([person("乙", "市委组织部"), bad]), dry_run=True)
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "中共党员")]


async def test_one_bad_row_fails_the_file_names_every_bad_row_and_writes_nothing(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    good = [person(f"好{i}", "市委组织部") for i in range(3)]
    bad_checksum = person("坏校验", "市委组织部")
    last = bad_checksum["身份证号"][-1]
    bad_checksum["身份证号"] = bad_checksum["身份证号"][:-1] + ("0" if last != "0" else "1")
    bad_date = person("坏日期", "市委组织部")
    bad_date["出生日期"] = "1980-13-45"
    unknown_unit = person("无单位", "不存在的单位")
    rows = [good[0], bad_checksum, good[1], bad_date, unknown_unit, good[2]]
    before = await roster.outbox()
    job = await run_import(roster, xlsx(rows))
    assert job["status"] == "failed"
    # data starts on sheet row 2: the bad rows are 3, 5 and 6
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "身份证号"), (5, "出生日期"), (6, "单位")]
    assert all(e["message"] for e in job["errors"])
    assert "checksum" in job["errors"][0]["message"]
    assert "3 rows are invalid" in job["message"]
    assert job["rows_inserted"] == 0 and job["rows_done"] == 6
    assert await cadres(roster) == []
    assert await roster.outbox() == before


async def test_every_column_rule_is_reported_per_cell(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    rows = [
        person("甲", "市委组织部", 性别="未知"),
        person("乙", "市委组织部", 工作年限="很多"),
        person("丙", "市委组织部", 领导状态="主任"),
        person("丁", "市委组织部", 健康状况="很好"),
        person("戊", "市委组织部", 工作意愿="愿意出国"),
        person("己", "市委组织部", 基层工作经历="2010-01-01至2005-01-01"),
        person("庚", "市委组织部", 单位类型="外星"),
        person("", "市委组织部"),
    ]
    # the sex digit of a man's number under 女
    rows.append(person("辛", "市委组织部"))
    rows[-1]["性别"] = "女"
    job = await run_import(roster, xlsx(rows))
    assert job["status"] == "failed"
    got = {(e["row"], e["column"]) for e in job["errors"]}
    assert got == {
        (2, "性别"),
        (3, "工作年限"),
        (4, "领导状态"),
        (5, "健康状况"),
        (6, "工作意愿"),
        (7, "基层工作经历"),
        (8, "单位类型"),
        (9, "姓名"),
        (10, "性别"),
    }
    assert await cadres(roster) == []


async def test_insert_refuses_duplicates_in_the_file_and_numbers_already_on_the_roster(
    roster: RosterHarness,
) -> None:
    unit = await roster.unit("市委组织部")
    on_roster = cadre_body(unit["id"])
    await register(roster, on_roster)
    first = person("甲", "市委组织部")
    twin = {**first, "姓名": "甲的重复"}
    already = row_of(on_roster, "市委组织部")
    before = await roster.outbox()
    job = await run_import(roster, xlsx([first, twin, already]), mode="insert")
    assert job["status"] == "failed"
    errors = [(e["row"], e["column"], e["message"]) for e in job["errors"]]
    assert errors == [
        (3, "身份证号", "same ID number as row 2"),
        (4, "身份证号", "already on the roster (use mode=upsert)"),
    ]
    assert [c["name"] for c in await cadres(roster)] == [on_roster["name"]]
    assert await roster.outbox() == before


# upsert -----------------------------------------------------------------------------------
async def test_upsert_updates_changed_cadres_keeps_unchanged_ones_and_inserts_new(roster: RosterHarness) -> None:
    organ = await roster.unit("市委组织部")
    other = await roster.unit("市发改局")
    a_body, b_body = cadre_body(organ["id"]), cadre_body(organ["id"])
    a = await register(roster, a_body)
    b = await register(roster, b_body)
    changed = {**row_of(a_body, "市发改局"), "职级": "副处", "职务": "主任"}
    same = row_of(b_body, "市委组织部")
    new = person("新人", "市委组织部")
    before = await roster.outbox()
    job = await run_import(roster, xlsx([changed, same, new]), mode="upsert")
    assert job["status"] == "succeeded", job["errors"]
    assert (job["rows_inserted"], job["rows_updated"], job["rows_unchanged"]) == (1, 1, 1)

    a_now = (await roster.client.get(f"{API}/cadres/{a['id']}", headers=roster.auth())).json()
    assert (a_now["rank"], a_now["post_title"], a_now["unit_id"]) == ("副处", "主任", other["id"])
    assert a_now["version"] == 2
    history = (await roster.client.get(f"{API}/cadres/{a['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "imported"]
    assert history[1]["actor"] == "officer-li"
    assert history[1]["changes"]["rank"] == ["正科", "副处"]
    assert history[1]["changes"]["post_title"] == ["科长", "主任"]
    assert history[1]["changes"]["unit_id"] == [organ["id"], other["id"]]

    b_now = (await roster.client.get(f"{API}/cadres/{b['id']}", headers=roster.auth())).json()
    assert b_now["version"] == 1
    b_history = (await roster.client.get(f"{API}/cadres/{b['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in b_history] == ["registered"]

    new_events = (await roster.outbox())[len(before) :]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in new_events:
        by_type.setdefault(e["type"], []).append(e)
    assert sorted(by_type) == ["roster.cadre.moved", "roster.cadre.registered", "roster.cadre.updated"]
    assert [e["data"]["cadre_id"] for e in by_type["roster.cadre.updated"]] == [a["id"]]
    assert by_type["roster.cadre.updated"][0]["data"]["changed"]["rank"] == "副处"
    assert by_type["roster.cadre.moved"][0]["data"]["to_unit_id"] == other["id"]
    assert len(by_type["roster.cadre.registered"]) == 1
    assert b["id"] not in str(new_events)
    assert len(await cadres(roster)) == 3


async def test_insert_mode_is_the_default_and_refuses_a_known_number(roster: RosterHarness) -> None:
    organ = await roster.unit("市委组织部")
    body = cadre_body(organ["id"])
    await register(roster, body)
    job = await run_import(roster, xlsx([{**row_of(body, "市委组织部"), "职级": "副处"}]))
    assert job["mode"] == "insert" and job["status"] == "failed"
    listed = await cadres(roster)
    assert [c["rank"] for c in listed] == ["正科"]


# units ------------------------------------------------------------------------------------
async def test_units_by_path_resolve_same_names_under_different_parents(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    town_a = await roster.unit("甲镇", "town", district["id"])
    town_b = await roster.unit("乙镇", "town", district["id"])
    village_a = await roster.unit("中心村", "village", town_a["id"])
    village_b = await roster.unit("中心村", "village", town_b["id"])

    ambiguous = await run_import(roster, xlsx([person("甲", "中心村")]))
    assert ambiguous["status"] == "failed"
    assert [(e["row"], e["column"]) for e in ambiguous["errors"]] == [(2, "单位")]
    assert "ambiguous" in ambiguous["errors"][0]["message"]

    rows = [person("甲", "甲镇/中心村"), person("乙", "三水区/乙镇/中心村"), person("丙", "乙镇／中心村")]
    job = await run_import(roster, xlsx(rows))
    assert job["status"] == "succeeded", job["errors"]
    placed = {c["name"]: c["unit_id"] for c in await cadres(roster)}
    assert placed == {"甲": village_a["id"], "乙": village_b["id"], "丙": village_b["id"]}


async def test_create_units_makes_the_missing_unit_with_its_kind(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    row = person("甲", "三水区/新建镇", 单位类型="镇")

    refused = await run_import(roster, xlsx([row]))
    assert refused["status"] == "failed"
    assert [(e["row"], e["column"]) for e in refused["errors"]] == [(2, "单位")]
    assert "create_units" in refused["errors"][0]["message"]

    no_kind = await run_import(roster, xlsx([person("乙", "三水区/另一镇")]), create_units=True)
    assert no_kind["status"] == "failed"
    assert "单位类型" in no_kind["errors"][0]["message"]

    before = await roster.outbox()
    job = await run_import(roster, xlsx([row, person("丙", "三水区/新建镇")]), create_units=True)
    assert job["status"] == "succeeded", job["errors"]
    children = (
        await roster.client.get(f"{API}/units", headers=roster.auth(), params={"parent_id": district["id"]})
    ).json()["items"]
    assert [(u["name"], u["kind"]) for u in children] == [("新建镇", "town")]
    town = children[0]
    assert town["path"] == [district["id"], town["id"]]
    assert {c["unit_id"] for c in await cadres(roster)} == {town["id"]}
    new_events = (await roster.outbox())[len(before) :]
    assert [e["type"] for e in new_events].count("roster.unit.created") == 1
    history = (await roster.client.get(f"{API}/units/{town['id']}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["created"]
    assert history[0]["actor"] == "officer-li"


# CSV --------------------------------------------------------------------------------------
async def test_csv_imports_in_utf8_and_gbk(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    town = await roster.unit("西南街道", "town", district["id"])
    for i, encoding in enumerate(("utf-8", "utf-8-sig", "gbk")):
        rows = [
            person(f"欧阳修{i}", "三水区/西南街道", 特长="文字材料、调查研究", 领导状态="在职领导"),
            person(f"司马光{i}", "西南街道", birth=dt.date(1979, 11, 30), gender="女"),
        ]
        content = csv_bytes(rows, encoding)
        if encoding == "gbk":
            with pytest.raises(UnicodeDecodeError):
                content.decode("utf-8")  # so the service must really read GBK
        job = await run_import(roster, content, "名册.csv")
        assert job["status"] == "succeeded", (encoding, job["errors"])
        assert job["rows_inserted"] == 2, encoding
        listed = {c["name"]: c for c in await cadres(roster, name=str(i))}
        assert set(listed) == {f"欧阳修{i}", f"司马光{i}"}, encoding
        assert listed[f"欧阳修{i}"]["strengths"] == ["文字材料", "调查研究"], encoding
        assert listed[f"欧阳修{i}"]["leadership_status"] == "in_post", encoding
        assert listed[f"司马光{i}"]["gender"] == "female", encoding
        assert {c["unit_id"] for c in listed.values()} == {town["id"]}, encoding
    assert len(await cadres(roster)) == 6


# refused files ----------------------------------------------------------------------------
async def test_wrong_headers_are_refused_at_upload_naming_the_columns(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    headers = ["名字" if h == "姓名" else h for h in TEMPLATE_HEADERS] + ["备注"]
    row = person("甲", "市委组织部")
    row["名字"], row["备注"] = row.pop("姓名"), "无"
    before = await roster.outbox()
    resp = await upload(roster, xlsx([row], headers))
    body = assert_problem(resp, 422)
    errors = {(e["column"], e["message"]) for e in body["errors"]}
    assert ("姓名", "required column is missing") in errors
    assert ("名字", "unknown column") in errors
    assert ("备注", "unknown column") in errors
    assert all(e["field"] == "file" and e["row"] == 1 for e in body["errors"])
    assert await cadres(roster) == []
    assert await roster.outbox() == before


def _zip_that_is_not_a_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


async def test_a_file_that_is_not_a_spreadsheet_is_refused(roster: RosterHarness) -> None:
    await roster.unit("市委组织部")
    before = await roster.outbox()
    for what, filename, content in (
        ("random bytes named .xlsx", "名册.xlsx", os.urandom(4096)),
        ("a text file named .pdf", "名册.pdf", "这是一个文本文件，不是表格。\n".encode()),
        ("a zip that is not a workbook", "名册.xlsx", _zip_that_is_not_a_workbook()),
        ("a CSV with NUL bytes", "名册.csv", b"\x00\x01\x02binary\x00"),
        ("a CSV in no known encoding", "名册.csv", b"\xff\xfe\xfa\xfb" * 64),
        ("an empty workbook", "名册.xlsx", xlsx([], headers=[])),
        ("an empty CSV", "名册.csv", b""),
    ):
        body = assert_problem(await upload(roster, content, filename), 422)
        assert body["errors"] and body["errors"][0]["field"] == "file", what
    assert await roster.outbox() == before
    assert await cadres(roster) == []


async def test_only_the_cadre_office_may_import(roster: RosterHarness) -> None:
    unit = await roster.unit("市委组织部")
    content = xlsx([person("甲", "市委组织部")])
    for headers in (
        roster.auth("portal"),
        roster.auth("auditor"),
        roster.auth("unit_hr", unit_scope=[unit["id"]]),
    ):
        assert_problem(await upload(roster, content, headers=headers), 403)
    assert_problem(await roster.client.get(f"{API}/imports/template.xlsx", headers=roster.auth("portal")), 403)
    assert await cadres(roster) == []


async def test_an_unknown_import_is_404(roster: RosterHarness) -> None:
    resp = await roster.client.get(f"{API}/imports/no-such-job", headers=roster.auth("officer"))
    assert_problem(resp, 404)


async def test_bad_form_fields_are_422(roster: RosterHarness) -> None:
    content = xlsx([person("甲", "市委组织部")])
    body = assert_problem(await upload(roster, content, mode="replace"), 422)
    assert [e["field"] for e in body["errors"]] == ["mode"]
    missing = await roster.client.post(f"{API}/imports", headers=roster.auth("officer"), data={"mode": "insert"})
    assert [e["field"] for e in assert_problem(missing, 422)["errors"]] == ["file"]


# export → import --------------------------------------------------------------------------
async def test_export_then_import_round_trip_changes_nothing_and_the_reveal_is_audited(
    roster: RosterHarness,
) -> None:
    district = await roster.unit("三水区", "district")
    town = await roster.unit("西南街道", "town", district["id"])
    organ = await roster.unit("市委组织部")
    made = [
        await roster.cadre(organ["id"]),
        await roster.cadre(
            town["id"],
            gender="female",
            birth_date="1978-12-01",
            party_member=False,
            rank=None,
            post_title=None,
            education=None,
            years_of_service=None,
            strengths=[],
            post_wishes=["民生事业"],
            willingness={"town": False, "heavy_task": True, "mentor": False},
            leadership_status="in_post",
            health="limited",
            retirement_date="2034-06-30",
            grassroots_periods=[
                {"start": "2001-07-01", "end": "2006-06-30", "unit_name": "西南街道"},
                {"start": "2015-01-01"},
            ],
        ),
        await roster.cadre(town["id"], leadership_status="non_leading", health="exempt"),
    ]
    officer = roster.auth("officer", sub="officer-zhang")
    export = await roster.client.get(
        f"{API}/cadres/export",
        headers=officer,
        params={"reveal_id_numbers": "true", "reason": "年度名册核对"},
    )
    assert export.status_code == 200, export.text
    assert export.headers["content-type"] == XLSX
    sheet = list(openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert list(sheet[0]) == TEMPLATE_HEADERS and len(sheet) == 4
    assert all("*" not in str(r[3]) for r in sheet[1:])  # full numbers

    before = await roster.outbox()
    job = await run_import(roster, export.content, "cadres.xlsx", mode="upsert")
    assert job["status"] == "succeeded", job["errors"]
    assert job["rows_total"] == len(made)
    assert (job["rows_unchanged"], job["rows_updated"], job["rows_inserted"]) == (len(made), 0, 0)
    assert await roster.outbox() == before
    for c in made:
        history = (await roster.client.get(f"{API}/cadres/{c['id']}/history", headers=roster.auth())).json()
        assert [h["kind"] for h in history] == ["registered"]

    audit = await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"))
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert {e["subject_id"] for e in entries} == {c["id"] for c in made}
    for e in entries:
        assert e["action"] == "export_id_numbers"
        assert e["actor"] == "officer-zhang" and e["role"] == "officer"
        assert e["reason"] == "年度名册核对"
        assert e["request_id"] == export.headers["x-request-id"]
        assert e["fields"] == "id_number,birth_date"


async def test_a_masked_export_is_not_audited_and_hides_the_numbers(roster: RosterHarness) -> None:
    unit = await roster.unit("市委组织部")
    body = cadre_body(unit["id"])
    await register(roster, body)
    export = await roster.client.get(f"{API}/cadres/export", headers=roster.auth("portal"))
    assert export.status_code == 200, export.text
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[1][3] == body["id_number"][:6] + "********" + body["id_number"][-4:]
    assert rows[1][2] == "1975-**-**"
    assert body["id_number"] not in str(rows)
    audit = (await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"))).json()
    assert audit["items"] == []
    # and a masked sheet cannot be imported back as if it were real
    job = await run_import(roster, export.content, "cadres.xlsx", mode="upsert")
    assert job["status"] == "failed"
    assert {e["column"] for e in job["errors"]} >= {"身份证号", "出生日期"}


async def test_revealing_export_needs_the_office_and_a_reason(roster: RosterHarness) -> None:
    unit = await roster.unit("市委组织部")
    await roster.cadre(unit["id"])
    url = f"{API}/cadres/export"
    no_reason = await roster.client.get(url, headers=roster.auth("officer"), params={"reveal_id_numbers": "true"})
    assert [e["field"] for e in assert_problem(no_reason, 422)["errors"]] == ["reason"]
    for role, kw in (("portal", {}), ("unit_hr", {"unit_scope": [unit["id"]]})):
        resp = await roster.client.get(
            url, headers=roster.auth(role, **kw), params={"reveal_id_numbers": "true", "reason": "想看看"}
        )
        assert_problem(resp, 403)
    audit = (await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"))).json()
    assert audit["items"] == []


async def test_upsert_cannot_change_a_cadre_who_has_left(roster: RosterHarness) -> None:
    organ = await roster.unit("市委组织部")
    body = cadre_body(organ["id"])
    cadre = await register(roster, body)
    left = await roster.client.post(
        f"{API}/cadres/{cadre['id']}/exit",
        headers=roster.auth(),
        json={"kind": "transferred_out", "date": "2026-01-01", "reason": "调出"},
    )
    assert left.status_code == 200
    before = await roster.outbox()
    changed = {**row_of(body, "市委组织部"), "职级": "副处"}
    job = await run_import(roster, xlsx([person("新人", "市委组织部"), changed]), mode="upsert")
    assert job["status"] == "failed"
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "身份证号")]
    assert "left the roster" in job["errors"][0]["message"]
    now = (await roster.client.get(f"{API}/cadres/{cadre['id']}", headers=roster.auth())).json()
    assert (now["rank"], now["version"], now["status"]) == ("正科", left.json()["version"], "left")
    assert await roster.outbox() == before
    # the row as it stands changes nothing, so it is simply counted as unchanged
    job = await run_import(roster, xlsx([row_of(body, "市委组织部")]), mode="upsert")
    assert job["status"] == "succeeded" and job["rows_unchanged"] == 1


async def test_a_filtered_revealing_export_audits_only_the_cadres_it_contains(roster: RosterHarness) -> None:
    unit = await roster.unit("市委组织部")
    writer = await roster.cadre(unit["id"], strengths=["文字材料"])
    await roster.cadre(unit["id"], strengths=["招商引资"])
    export = await roster.client.get(
        f"{API}/cadres/export",
        headers=roster.auth("officer"),
        params={"reveal_id_numbers": "true", "reason": "抽调写作人员", "strength": "文字材料"},
    )
    assert export.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [writer["name"]]
    audit = (await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"))).json()
    assert [e["subject_id"] for e in audit["items"]] == [writer["id"]]
