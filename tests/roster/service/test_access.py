"""Who may do what: roles × endpoints, unit scopes, audited ID-number reads, tokens."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import jwt
import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import RosterHarness
from tests.factories import cadre_body

API = "/api/v1/roster"


def assert_problem(resp: httpx.Response, status: int, context: str = "") -> dict[str, Any]:
    assert resp.status_code == status, f"{context}: {resp.status_code} {resp.text}"
    assert resp.headers["content-type"] == "application/problem+json", context
    body = resp.json()
    assert body["status"] == status and body["type"].startswith("https://"), context
    return body  # type: ignore[no-any-return]


async def audit_entries(roster: RosterHarness) -> list[dict[str, Any]]:
    resp = await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


# roles × endpoints ------------------------------------------------------------------------
# expected status per role; unit_hr is scoped to the unit the cadre is in
MATRIX: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "cadres", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("GET", "cadre", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("GET", "history", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("POST", "cadres", {"admin": 201, "officer": 201, "unit_hr": 201, "portal": 403, "auditor": 403}),
    ("PATCH", "cadre", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 403, "auditor": 403}),
    ("GET", "id-number", {"admin": 200, "officer": 200, "unit_hr": 403, "portal": 403, "auditor": 403}),
    ("GET", "export", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("GET", "stats", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("GET", "units", {"admin": 200, "officer": 200, "unit_hr": 200, "portal": 200, "auditor": 403}),
    ("POST", "units", {"admin": 201, "officer": 201, "unit_hr": 403, "portal": 403, "auditor": 403}),
    ("GET", "template", {"admin": 200, "officer": 200, "unit_hr": 403, "portal": 403, "auditor": 403}),
    ("GET", "audit", {"admin": 200, "officer": 403, "unit_hr": 403, "portal": 403, "auditor": 200}),
    ("POST", "snapshot", {"admin": 200, "officer": 403, "unit_hr": 403, "portal": 403, "auditor": 403}),
]


@pytest.mark.parametrize("role", ["admin", "officer", "unit_hr", "portal", "auditor"])
async def test_role_by_endpoint(roster: RosterHarness, role: str) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    headers = roster.auth(role, unit_scope=[unit["id"]] if role == "unit_hr" else None, sub=f"{role}-1")
    c = roster.client
    for method, what, expected in MATRIX:
        if what == "cadres" and method == "GET":
            resp = await c.get(f"{API}/cadres", headers=headers)
        elif what == "cadre" and method == "GET":
            resp = await c.get(f"{API}/cadres/{cadre['id']}", headers=headers)
        elif what == "history":
            resp = await c.get(f"{API}/cadres/{cadre['id']}/history", headers=headers)
        elif what == "cadres":
            resp = await c.post(f"{API}/cadres", headers=headers, json=cadre_body(unit["id"]))
        elif what == "cadre":
            current = (await c.get(f"{API}/cadres/{cadre['id']}", headers=roster.auth())).headers["etag"]
            resp = await c.patch(
                f"{API}/cadres/{cadre['id']}", headers={**headers, "If-Match": current}, json={"education": role}
            )
        elif what == "id-number":
            resp = await c.get(f"{API}/cadres/{cadre['id']}/id-number", headers=headers, params={"reason": "核对"})
        elif what == "export":
            resp = await c.get(f"{API}/cadres/export", headers=headers)
        elif what == "stats":
            resp = await c.get(f"{API}/stats/structure", headers=headers)
        elif what == "units" and method == "GET":
            resp = await c.get(f"{API}/units", headers=headers)
        elif what == "units":
            resp = await c.post(
                f"{API}/units", headers=headers, json={"name": "新单位", "kind": "town", "parent_id": unit["id"]}
            )
        elif what == "template":
            resp = await c.get(f"{API}/imports/template.xlsx", headers=headers)
        elif what == "audit":
            resp = await c.get(f"{API}/audit/personal-data-reads", headers=headers)
        else:
            resp = await c.post(f"{API}/events/snapshot", headers=headers)
        want = expected[role]
        context = f"{role} {method} {what}"
        if want == 403:
            body = assert_problem(resp, 403, context)
            assert role in body["detail"] or "role" in body["detail"], context
        else:
            assert resp.status_code == want, f"{context}: {resp.status_code} {resp.text}"


async def test_writes_refused_by_role_change_nothing(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    before = await roster.outbox()
    for role in ("portal", "auditor"):
        h = roster.auth(role)
        assert_problem(await roster.client.post(f"{API}/cadres", headers=h, json=cadre_body(unit["id"])), 403)
        patch = await roster.client.patch(
            f"{API}/cadres/{cadre['id']}", headers={**h, "If-Match": '"v1"'}, json={"rank": "正处"}
        )
        assert_problem(patch, 403)
        moved = await roster.client.post(
            f"{API}/cadres/{cadre['id']}/move",
            headers=h,
            json={"unit_id": unit["id"], "post_title": "主任", "effective_on": "2026-01-01", "reason": "调整"},
        )
        assert_problem(moved, 403)
        left = await roster.client.post(
            f"{API}/cadres/{cadre['id']}/exit",
            headers=h,
            json={"kind": "retired", "date": "2026-01-01", "reason": "退休"},
        )
        assert_problem(left, 403)
    assert await roster.outbox() == before
    now = (await roster.client.get(f"{API}/cadres/{cadre['id']}", headers=roster.auth())).json()
    assert (now["version"], now["rank"], now["status"]) == (1, "正科", "active")


# unit scope -------------------------------------------------------------------------------
async def test_unit_hr_sees_and_changes_only_its_subtree(roster: RosterHarness) -> None:
    district = await roster.unit("三水区", "district")
    town = await roster.unit("西南街道", "town", district["id"])
    village = await roster.unit("南村", "village", town["id"])
    other_town = await roster.unit("白坭镇", "town", district["id"])
    in_town = await roster.cadre(town["id"])
    in_village = await roster.cadre(village["id"], gender="female", birth_date="1985-04-04")
    in_other = await roster.cadre(other_town["id"])
    in_district = await roster.cadre(district["id"])
    hr = roster.auth("unit_hr", unit_scope=[town["id"]], sub="hr-town")
    c = roster.client

    listed = (await c.get(f"{API}/cadres", headers=hr)).json()["items"]
    assert {x["id"] for x in listed} == {in_town["id"], in_village["id"]}
    everyone = (await c.get(f"{API}/cadres", headers=roster.auth())).json()["items"]
    assert len(everyone) == 4
    # a filter cannot widen the scope: a unit outside it is answered as an unknown one
    for outside_unit in (district["id"], other_town["id"], "no-such-unit"):
        assert_problem(await c.get(f"{API}/cadres", headers=hr, params={"unit_id": outside_unit}), 404)
    narrowed = (await c.get(f"{API}/cadres", headers=hr, params={"unit_id": village["id"]})).json()["items"]
    assert {x["id"] for x in narrowed} == {in_village["id"]}

    assert (await c.get(f"{API}/cadres/{in_village['id']}", headers=hr)).status_code == 200
    for outside in (in_other, in_district):
        assert_problem(await c.get(f"{API}/cadres/{outside['id']}", headers=hr), 404)
        assert_problem(await c.get(f"{API}/cadres/{outside['id']}/history", headers=hr), 404)
        patch = await c.patch(
            f"{API}/cadres/{outside['id']}", headers={**hr, "If-Match": '"v1"'}, json={"rank": "副处"}
        )
        assert_problem(patch, 404)

    stats = (await c.get(f"{API}/stats/structure", headers=hr, params={"year": 2025})).json()
    assert stats["total"] == 2
    assert stats["by"]["gender"] == {"female": 1, "male": 1}
    assert (await c.get(f"{API}/stats/structure", headers=roster.auth(), params={"year": 2025})).json()["total"] == 4

    export = await c.get(f"{API}/cadres/export", headers=hr)
    assert export.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert sorted(r[0] for r in rows[1:]) == sorted([in_town["name"], in_village["name"]])

    units = (await c.get(f"{API}/units", headers=hr)).json()["items"]
    assert {u["id"] for u in units} == {town["id"], village["id"]}
    assert_problem(await c.get(f"{API}/units/{other_town['id']}", headers=hr), 404)

    # a unit outside the scope, named in a body, is answered as an unknown unit
    before = await roster.outbox()
    for target in (other_town["id"], "no-such-unit"):
        refused = await c.post(f"{API}/cadres", headers=hr, json=cadre_body(target))
        assert [e["field"] for e in assert_problem(refused, 422)["errors"]] == ["unit_id"]
        moved = await c.post(
            f"{API}/cadres/{in_town['id']}/move",
            headers=hr,
            json={"unit_id": target, "effective_on": "2026-01-01", "reason": "调动"},
        )
        assert [e["field"] for e in assert_problem(moved, 422)["errors"]] == ["unit_id"]
    assert await roster.outbox() == before
    assert len((await c.get(f"{API}/cadres", headers=roster.auth())).json()["items"]) == 4

    ok = await c.post(f"{API}/cadres", headers=hr, json=cadre_body(village["id"]))
    assert ok.status_code == 201, ok.text
    history = (await c.get(f"{API}/cadres/{ok.json()['id']}/history", headers=hr)).json()
    assert history[0]["actor"] == "hr-town"


# audited ID-number reads ------------------------------------------------------------------
async def test_full_id_number_reads_are_for_the_office_and_each_is_audited(roster: RosterHarness) -> None:
    unit = await roster.unit()
    body = cadre_body(unit["id"], birth_date="1979-09-10")
    made = await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=body)
    cadre = made.json()
    url = f"{API}/cadres/{cadre['id']}/id-number"

    first = await roster.client.get(
        url, headers=roster.auth("officer", sub="officer-li"), params={"reason": "办理挂职审批"}
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"cadre_id": cadre["id"], "id_number": body["id_number"], "birth_date": "1979-09-10"}
    second = await roster.client.get(
        url,
        headers={**roster.auth("admin", sub="admin-wu"), "X-Request-ID": "req-audit-check-2"},
        params={"reason": "复核"},
    )
    assert second.status_code == 200
    assert second.headers["x-request-id"] == "req-audit-check-2"

    # refused and malformed reads reveal nothing and leave no audit row
    assert_problem(await roster.client.get(url, headers=roster.auth("portal"), params={"reason": "看看"}), 403)
    hr = roster.auth("unit_hr", unit_scope=[unit["id"]])
    assert_problem(await roster.client.get(url, headers=hr, params={"reason": "看看"}), 403)
    no_reason = await roster.client.get(url, headers=roster.auth("officer"))
    assert [e["field"] for e in assert_problem(no_reason, 422)["errors"]] == ["reason"]
    assert_problem(
        await roster.client.get(f"{API}/cadres/nobody/id-number", headers=roster.auth(), params={"reason": "核对"}),
        404,
    )

    entries = await audit_entries(roster)
    assert len(entries) == 2
    newest, oldest = entries  # newest first
    assert (oldest["actor"], oldest["role"], oldest["reason"]) == ("officer-li", "officer", "办理挂职审批")
    assert oldest["request_id"] == first.headers["x-request-id"]
    assert (newest["actor"], newest["reason"], newest["request_id"]) == ("admin-wu", "复核", "req-audit-check-2")
    for e in entries:
        assert e["action"] == "reveal_id_number"
        assert (e["subject_type"], e["subject_id"]) == ("cadre", cadre["id"])
        assert e["fields"] == "id_number,birth_date"
    by_subject = await roster.client.get(
        f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"), params={"subject_id": "someone-else"}
    )
    assert by_subject.json()["items"] == []
    # the ID number itself never appears in the audit log or the events
    assert body["id_number"] not in str(entries)
    assert body["id_number"] not in str(await roster.outbox())


async def test_reading_the_audit_log_pages_newest_first(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    for i in range(5):
        resp = await roster.client.get(
            f"{API}/cadres/{cadre['id']}/id-number", headers=roster.auth("officer"), params={"reason": f"第{i}次"}
        )
        assert resp.status_code == 200
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await roster.client.get(f"{API}/audit/personal-data-reads", headers=roster.auth("auditor"), params=params)
        ).json()
        seen += [e["reason"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"第{i}次" for i in reversed(range(5))]


# tokens -----------------------------------------------------------------------------------
def _foreign_token() -> str:
    now = int(time.time())
    claims = {"iss": "cadre-gateway", "aud": "cadre-platform", "sub": "x", "iat": now, "exp": now + 600}
    return jwt.encode({**claims, "role": "admin"}, Ed25519PrivateKey.generate(), "EdDSA", {"kid": "test-key"})


async def test_missing_malformed_expired_or_forged_tokens_are_401(roster: RosterHarness) -> None:
    unit = await roster.unit()
    s = roster.signer
    cases: dict[str, dict[str, str]] = {
        "no token": {},
        "not bearer": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "random text": {"Authorization": "Bearer abc"},
        "expired": {"Authorization": f"Bearer {s.token('admin', ttl=-3600)}"},
        "wrong audience": {"Authorization": f"Bearer {s.token('admin', aud='someone-else')}"},
        "wrong issuer": {"Authorization": f"Bearer {s.token('admin', iss='evil')}"},
        "unknown role": {"Authorization": f"Bearer {s.token('superuser')}"},
        "unit_hr without units": {"Authorization": f"Bearer {s.token('unit_hr')}"},
        "forged signature": {"Authorization": f"Bearer {_foreign_token()}"},
        "alg none": {
            "Authorization": "Bearer "
            + jwt.encode({"sub": "x", "role": "admin"}, key=None, algorithm="none", headers={"kid": "test-key"})
        },
    }
    before = await roster.outbox()
    for name, headers in cases.items():
        for method, url, kw in (
            ("GET", f"{API}/cadres", {}),
            ("POST", f"{API}/cadres", {"json": cadre_body(unit["id"])}),
            ("GET", f"{API}/audit/personal-data-reads", {}),
        ):
            resp = await roster.client.request(method, url, headers=headers, **kw)
            assert_problem(resp, 401, f"{name} {method} {url}")
            assert resp.headers["www-authenticate"] == "Bearer", name
    assert await roster.outbox() == before
    assert len((await roster.client.get(f"{API}/cadres", headers=roster.auth())).json()["items"]) == 0


async def test_a_system_acting_for_a_person_records_the_person_as_actor(roster: RosterHarness) -> None:
    unit = await roster.unit()
    acting = roster.auth("officer", sub="zhang-san", act="gov-portal")
    made = await roster.client.post(f"{API}/cadres", headers=acting, json=cadre_body(unit["id"]))
    assert made.status_code == 201, made.text
    cadre_id = made.json()["id"]
    patched = await roster.client.patch(
        f"{API}/cadres/{cadre_id}", headers={**acting, "If-Match": '"v1"'}, json={"rank": "副处"}
    )
    assert patched.status_code == 200, patched.text
    history = (await roster.client.get(f"{API}/cadres/{cadre_id}/history", headers=roster.auth())).json()
    assert [(h["kind"], h["actor"], h["acting_client"]) for h in history] == [
        ("registered", "zhang-san", "gov-portal"),
        ("updated", "zhang-san", "gov-portal"),
    ]
    read = await roster.client.get(f"{API}/cadres/{cadre_id}/id-number", headers=acting, params={"reason": "核对"})
    assert read.status_code == 200
    [entry] = await audit_entries(roster)
    assert (entry["actor"], entry["acting_client"]) == ("zhang-san", "gov-portal")
