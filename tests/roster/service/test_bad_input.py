"""Bad input never reaches the data: a problem+json naming the field, no 500, nothing written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from tests.conftest import RosterHarness
from tests.factories import cadre_body

API = "/api/v1/roster"


def assert_problem(resp: httpx.Response, status: int, context: str = "") -> dict[str, Any]:
    assert resp.status_code == status, f"{context}: {resp.status_code} {resp.text}"
    assert resp.headers["content-type"] == "application/problem+json", context
    body = resp.json()
    assert body["status"] == status, context
    assert body["type"].startswith("https://cadre.example/problems/"), context
    assert body["request_id"] == resp.headers["x-request-id"], context
    assert "Traceback" not in resp.text, context
    return body  # type: ignore[no-any-return]


def fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


def cursor_of(values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


async def count_cadres(roster: RosterHarness) -> int:
    resp = await roster.client.get(f"{API}/cadres", headers=roster.auth(), params={"status": "all", "limit": 500})
    return len(resp.json()["items"])


def _mismatched_birth(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "birth_date": "1975-03-09"}  # the number says 1975-03-08


def _bad_checksum(body: dict[str, Any]) -> dict[str, Any]:
    idn = body["id_number"]
    return {**body, "id_number": idn[:-1] + ("0" if idn[-1] != "0" else "1")}


def _mismatched_gender(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "gender": "female"}


# (name, change to a valid body, the field the error must name)
BAD_BODIES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    ("party_member not a bool", lambda b: {**b, "party_member": "maybe"}, "party_member"),
    ("years_of_service not an int", lambda b: {**b, "years_of_service": "many"}, "years_of_service"),
    ("years_of_service a float", lambda b: {**b, "years_of_service": 2.5}, "years_of_service"),
    ("huge integer", lambda b: {**b, "years_of_service": 10**40}, "years_of_service"),
    ("negative integer", lambda b: {**b, "years_of_service": -1}, "years_of_service"),
    ("birth_date not a date", lambda b: {**b, "birth_date": "yesterday"}, "birth_date"),
    ("birth_date impossible", lambda b: {**b, "birth_date": "1975-02-30"}, "birth_date"),
    ("strengths not a list", lambda b: {**b, "strengths": "招商引资"}, "strengths"),
    ("strengths of numbers", lambda b: {**b, "strengths": [1, 2]}, "strengths.0"),
    ("willingness not an object", lambda b: {**b, "willingness": ["town"]}, "willingness"),
    ("willingness unknown flag", lambda b: {**b, "willingness": {"abroad": True}}, "willingness.abroad"),
    ("gender unknown", lambda b: {**b, "gender": "unknown"}, "gender"),
    ("leadership_status unknown", lambda b: {**b, "leadership_status": "boss"}, "leadership_status"),
    ("name missing", lambda b: {k: v for k, v in b.items() if k != "name"}, "name"),
    ("name empty", lambda b: {**b, "name": "   "}, "name"),
    ("name too long", lambda b: {**b, "name": "长" * 51}, "name"),
    ("NUL in name", lambda b: {**b, "name": "张\x00三"}, "name"),
    ("lone surrogate in name", lambda b: {**b, "name": "张\ud800三"}, "name"),
    ("NUL in post_title", lambda b: {**b, "post_title": "科长\x00"}, "post_title"),
    ("NUL in unit_id", lambda b: {**b, "unit_id": "\x00"}, "unit_id"),
    ("unit_id too long", lambda b: {**b, "unit_id": "u" * 37}, "unit_id"),
    ("mass assignment: status", lambda b: {**b, "status": "left"}, "status"),
    ("mass assignment: version", lambda b: {**b, "version": 99}, "version"),
    ("mass assignment: role", lambda b: {**b, "role": "admin"}, "role"),
    ("mass assignment: id", lambda b: {**b, "id": "my-own-id"}, "id"),
    ("mass assignment: retirement flag", lambda b: {**b, "retirement_date_is_set": True}, "retirement_date_is_set"),
    ("bad checksum", _bad_checksum, "id_number"),
    ("id_number too short", lambda b: {**b, "id_number": "33048"}, "id_number"),
    ("birth date not the number's", _mismatched_birth, "birth_date"),
    ("gender not the number's", _mismatched_gender, "gender"),
    ("unknown unit_id", lambda b: {**b, "unit_id": "no-such-unit"}, "unit_id"),
    (
        "period ends before it starts",
        lambda b: {**b, "grassroots_periods": [{"start": "2010-01-01", "end": "2009-01-01"}]},
        "grassroots_periods.0.end",
    ),
    ("too many strengths", lambda b: {**b, "strengths": [f"特长{i}" for i in range(31)]}, "strengths"),
]


async def test_bad_cadre_bodies_are_422_naming_the_field_and_write_nothing(roster: RosterHarness) -> None:
    unit = await roster.unit()
    before = await roster.outbox()
    for name, change, field in BAD_BODIES:
        body = change(cadre_body(unit["id"], birth_date="1975-03-08", gender="male"))
        # json.dumps, not httpx's encoder: it must be able to send a lone surrogate as \\ud800
        resp = await roster.client.post(
            f"{API}/cadres",
            headers={**roster.auth(), "Content-Type": "application/json"},
            content=json.dumps(body).encode(),
        )
        problem = assert_problem(resp, 422, name)
        assert field in fields_of(problem), f"{name}: {problem['errors']}"
        assert all(e.get("message") for e in problem["errors"]), name
    assert await roster.outbox() == before
    assert await count_cadres(roster) == 0


async def test_malformed_or_non_object_json_is_422(roster: RosterHarness) -> None:
    unit = await roster.unit()
    before = await roster.outbox()
    for raw in ('{"name": "张三",'.encode(), b"not json", b"[]", b"null", b'"a string"', b"{}", b"\xff\xfe"):
        resp = await roster.client.post(
            f"{API}/cadres", headers={**roster.auth(), "Content-Type": "application/json"}, content=raw
        )
        problem = assert_problem(resp, 422, repr(raw))
        assert problem["errors"], raw
    empty = await roster.client.post(
        f"{API}/cadres", headers={**roster.auth(), "Content-Type": "application/json"}, content=b'{"name": "x"}'
    )
    missing = fields_of(assert_problem(empty, 422))
    assert {"gender", "birth_date", "id_number", "unit_id"} <= missing
    malformed = await roster.client.post(
        f"{API}/units", headers={**roster.auth(), "Content-Type": "application/json"}, content=b'{"name": '
    )
    assert fields_of(assert_problem(malformed, 422)) == {"body"}
    assert await roster.outbox() == before
    assert (await roster.client.get(f"{API}/units", headers=roster.auth())).json()["items"] == [unit]


async def test_duplicate_id_number_is_409_naming_the_field(roster: RosterHarness) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    assert (await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=body)).status_code == 201
    before = await roster.outbox()
    # the same number typed with a lower-case x or spaces is still the same number
    idn = body["id_number"]
    same = f"{idn[:6]} {idn[6:].lower()}"
    again = await roster.client.post(
        f"{API}/cadres", headers=roster.auth(), json={**body, "name": "重复", "id_number": same}
    )
    assert fields_of(assert_problem(again, 409)) == {"id_number"}
    assert await roster.outbox() == before


async def test_patch_refuses_mass_assignment_and_bad_values(roster: RosterHarness) -> None:
    unit = await roster.unit()
    other = await roster.unit("另一单位")
    cadre = await roster.cadre(unit["id"])
    url = f"{API}/cadres/{cadre['id']}"
    headers = {**roster.auth(), "If-Match": '"v1"'}
    before = await roster.outbox()
    for body, field in (
        ({"status": "left"}, "status"),
        ({"version": 7}, "version"),
        ({"unit_id": other["id"]}, "unit_id"),  # a unit changes only through a move
        ({"id_number_masked": "x"}, "id_number_masked"),
        ({"rank": "正处", "role": "admin"}, "role"),
        ({"years_of_service": 10**30}, "years_of_service"),
        ({"birth_date": "1975-03-09"}, "birth_date"),  # no longer the number's
        ({"name": "张\x00三"}, "name"),
    ):
        resp = await roster.client.patch(url, headers=headers, json=body)
        assert field in fields_of(assert_problem(resp, 422, str(body))), body
    bad_etag = await roster.client.patch(url, headers={**roster.auth(), "If-Match": "v1"}, json={"rank": "正处"})
    assert fields_of(assert_problem(bad_etag, 422)) == {"If-Match"}
    huge_etag = await roster.client.patch(
        url, headers={**roster.auth(), "If-Match": '"v99999999999999999999"'}, json={"rank": "正处"}
    )
    assert fields_of(assert_problem(huge_etag, 422)) == {"If-Match"}
    assert await roster.outbox() == before
    now = (await roster.client.get(url, headers=roster.auth())).json()
    assert (now["version"], now["rank"], now["unit_id"], now["status"]) == (1, "正科", unit["id"], "active")


async def test_bad_query_parameters_are_422_naming_the_parameter(roster: RosterHarness) -> None:
    unit = await roster.unit()
    await roster.cadre(unit["id"])
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/cadres", {"limit": 501}, "limit"),
        ("/cadres", {"limit": 0}, "limit"),
        ("/cadres", {"limit": "ten"}, "limit"),
        ("/cadres", {"limit": "9" * 40}, "limit"),
        ("/cadres", {"available_in": "9" * 40}, "available_in"),
        ("/cadres", {"status": "deleted"}, "status"),
        ("/cadres", {"gender": "x"}, "gender"),
        ("/cadres", {"party_member": "perhaps"}, "party_member"),
        ("/cadres", {"unit_id": "no-such-unit"}, "unit_id"),
        ("/cadres", {"cursor": "!!!not-a-cursor!!!"}, "cursor"),
        ("/cadres", {"cursor": cursor_of(["only-one"])}, "cursor"),
        ("/cadres", {"cursor": cursor_of([1, 2])}, "cursor"),
        ("/cadres", {"cursor": cursor_of([{"a": 1}, None])}, "cursor"),
        ("/cadres", {"cursor": cursor_of(["\x00", "x"])}, "cursor"),
        ("/cadres", {"cursor": "x" * 501}, "cursor"),
        ("/cadres", {"name": "张\x00"}, "name"),
        ("/cadres", {"rank": "\x00"}, "rank"),
        ("/cadres", {"unit_id": "\x00"}, "unit_id"),
        ("/units", {"limit": 501}, "limit"),
        ("/units", {"cursor": cursor_of([5])}, "cursor"),
        ("/units", {"name": "\x00"}, "name"),
        ("/units", {"within": "no-such-unit"}, "within"),
        ("/units", {"kind": "planet"}, "kind"),
        ("/stats/structure", {"year": "9" * 40}, "year"),
        ("/stats/structure", {"unit_id": "no-such-unit"}, "unit_id"),
        ("/stats/structure", {"unit_id": "\x00"}, "unit_id"),
        ("/audit/personal-data-reads", {"limit": 501}, "limit"),
        ("/audit/personal-data-reads", {"cursor": cursor_of(["abc"])}, "cursor"),
        ("/audit/personal-data-reads", {"subject_id": "\x00"}, "subject_id"),
    ]
    for path, params, field in cases:
        resp = await roster.client.get(f"{API}{path}", headers=roster.auth(), params=params)
        assert field in fields_of(assert_problem(resp, 422, f"{path} {params}")), f"{path} {params}"


async def test_bad_path_parameters_are_404_or_422_never_500(roster: RosterHarness) -> None:
    unit = await roster.unit()
    for path in ("/cadres/no-such-cadre", "/units/no-such-unit", "/cadres/no-such-cadre/history"):
        assert_problem(await roster.client.get(f"{API}{path}", headers=roster.auth()), 404, path)
    for path in ("/cadres/%00", "/units/%00", "/cadres/%00/history", "/units/%00/history", "/imports/%00"):
        resp = await roster.client.get(f"{API}{path}", headers=roster.auth())
        assert resp.status_code in (404, 422), f"{path}: {resp.status_code}"
        assert_problem(resp, resp.status_code, path)
    # a body that names a unit that does not exist, or a NUL, when creating units
    before = await roster.outbox()
    for parent in ("no-such-unit", "\x00"):
        resp = await roster.client.post(
            f"{API}/units", headers=roster.auth(), json={"name": "新单位", "kind": "town", "parent_id": parent}
        )
        assert fields_of(assert_problem(resp, 422, repr(parent))) == {"parent_id"}
        moved = await roster.client.post(
            f"{API}/units/{unit['id']}/move", headers=roster.auth(), json={"parent_id": parent}
        )
        assert fields_of(assert_problem(moved, 422, repr(parent))) == {"parent_id"}
    assert await roster.outbox() == before


async def test_accept_language_zh_gives_chinese_titles_and_messages(roster: RosterHarness) -> None:
    unit = await roster.unit()
    zh = {**roster.auth(), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    resp = await roster.client.post(f"{API}/cadres", headers=zh, json={**cadre_body(unit["id"]), "status": "left"})
    problem = assert_problem(resp, 422)
    assert problem["title"] == "请求参数无效"
    assert problem["detail"] == "1 个字段无效"
    assert problem["errors"][0]["message"] == "不允许的字段"
    missing = await roster.client.get(f"{API}/cadres/nobody", headers=zh)
    assert assert_problem(missing, 404)["title"] == "未找到"
    unauthenticated = await roster.client.get(f"{API}/cadres", headers={"Accept-Language": "zh-CN"})
    assert assert_problem(unauthenticated, 401)["title"] == "未认证"
    forbidden = await roster.client.get(f"{API}/cadres", headers={**roster.auth("auditor"), "Accept-Language": "zh"})
    assert assert_problem(forbidden, 403)["title"] == "无权访问"
    english = await roster.client.get(f"{API}/cadres/nobody", headers={**roster.auth(), "Accept-Language": "en-GB"})
    assert assert_problem(english, 404)["title"] == "Not found"


# idempotency ------------------------------------------------------------------------------
async def test_the_same_post_with_the_same_key_creates_one_cadre(roster: RosterHarness) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"])
    headers = {**roster.auth("officer", sub="officer-li"), "Idempotency-Key": "create-zhang-2026-01"}
    first = await roster.client.post(f"{API}/cadres", headers=headers, json=body)
    second = await roster.client.post(f"{API}/cadres", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["location"] == first.headers["location"]
    assert await count_cadres(roster) == 1
    registered = [e for e in await roster.outbox() if e["type"] == "roster.cadre.registered"]
    assert len(registered) == 1

    # the same key with another body is refused and changes nothing
    other = await roster.client.post(f"{API}/cadres", headers=headers, json=cadre_body(unit["id"]))
    problem = assert_problem(other, 422)
    assert problem["type"].endswith("idempotency-key-reused")
    assert await count_cadres(roster) == 1

    # keys belong to a principal: another person's same key is a new request
    theirs = {**roster.auth("officer", sub="officer-wang"), "Idempotency-Key": "create-zhang-2026-01"}
    third = await roster.client.post(f"{API}/cadres", headers=theirs, json=cadre_body(unit["id"]))
    assert third.status_code == 201 and "idempotent-replayed" not in third.headers
    assert await count_cadres(roster) == 2


async def test_an_idempotent_refusal_is_replayed_too_and_bad_keys_are_422(roster: RosterHarness) -> None:
    unit = await roster.unit()
    bad = {**cadre_body(unit["id"]), "status": "left"}
    headers = {**roster.auth(), "Idempotency-Key": "k-1"}
    first = await roster.client.post(f"{API}/cadres", headers=headers, json=bad)
    second = await roster.client.post(f"{API}/cadres", headers=headers, json=bad)
    assert first.status_code == second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["errors"] == first.json()["errors"]
    too_long = await roster.client.post(
        f"{API}/cadres", headers={**roster.auth(), "Idempotency-Key": "k" * 201}, json=cadre_body(unit["id"])
    )
    assert assert_problem(too_long, 422)["type"].endswith("validation")
    assert await count_cadres(roster) == 0
