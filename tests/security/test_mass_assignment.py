"""Mass assignment: fields a caller must not set are refused, at every JSON write endpoint.

Generated from each app's OpenAPI document: every JSON request body (and every object inside
it) declares ``additionalProperties: false`` (the models forbid extras), and every endpoint,
called as admin with a body carrying `role`, `unit_id`, `status`, `version`, `id`,
`created_by` or `row_version` where its model has no such field, answers 422 naming that
field, and writes nothing. Where the model does have `unit_id`, a unit_hr caller naming a unit
outside its scope is refused (roster cadres, scoring entries), and nothing is written.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.factories import cadre_body
from tests.security.conftest import System

EXTRAS = {
    "role": "admin",
    "unit_id": "another-unit",
    "status": "approved",
    "version": 99,
    "id": "my-own-id",
    "created_by": "someone-else",
    "row_version": 7,
    "is_admin": True,
}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _objects(doc: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every object schema reachable from `schema` (through refs, unions, arrays, properties)."""
    out: list[tuple[str, dict[str, Any]]] = []
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return out
        seen.add(ref)
    schema = _resolve(doc, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out += _objects(doc, sub, seen)
    if "items" in schema and isinstance(schema["items"], dict):
        out += _objects(doc, schema["items"], seen)
    if schema.get("type") == "object" and "properties" in schema:
        out.append((ref or schema.get("title", "?"), schema))
        for prop in schema["properties"].values():
            out += _objects(doc, prop, seen)
    return out


def _json_bodies(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path, content["application/json"]["schema"]))
    return found


async def test_every_json_body_forbids_extra_fields_in_the_schema_and_at_runtime(system: System) -> None:
    wrong: list[str] = []
    checked = 0
    for name, app in system.apps.items():
        doc = app.openapi()
        client = system.clients[name]
        headers = system.auth(name, "admin")
        for method, path, schema in _json_bodies(doc):
            for label, obj in _objects(doc, schema, set()):
                if obj.get("additionalProperties") is not False:
                    wrong.append(f"{name} {method} {path}: {label} does not forbid extra fields")
            top = _objects(doc, schema, set())
            declared = set(top[0][1]["properties"]) if top else set()
            url = re.sub(r"\{year\}", "2025", path)
            url = re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), url)
            for field, value in EXTRAS.items():
                if field in declared:
                    continue
                resp = await client.request(method, url, headers=headers, json={field: value})
                checked += 1
                errors = (
                    resp.json().get("errors") or [] if resp.headers.get("content-type", "").endswith("json") else []
                )
                named = {str(e.get("field")) for e in errors}
                if resp.status_code != 422 or field not in named:
                    wrong.append(f"{name} {method} {path} with {field!r}: {resp.status_code} {resp.text[:160]}")
    assert checked > 300, checked
    assert not wrong, f"{len(wrong)} endpoints accept what they should refuse:\n" + "\n".join(wrong[:60])


async def test_a_unit_of_another_subtree_is_refused_to_a_scoped_caller(system: System) -> None:
    roster = system.clients["roster"]
    admin = system.auth("roster")
    units = []
    for name in ("甲镇", "乙镇"):
        resp = await roster.post("/api/v1/roster/units", headers=admin, json={"name": name, "kind": "town"})
        assert resp.status_code == 201, resp.text
        units.append(resp.json()["id"])
    mine, theirs = units
    scoped = system.auth("roster", "unit_hr", unit_scope=[mine])
    # registering into another unit, or moving one's own cadre there
    refused = await roster.post("/api/v1/roster/cadres", headers=scoped, json=cadre_body(theirs))
    assert refused.status_code in (403, 404, 422), refused.text
    own = await roster.post("/api/v1/roster/cadres", headers=scoped, json=cadre_body(mine))
    assert own.status_code == 201, own.text
    moved = await roster.post(
        f"/api/v1/roster/cadres/{own.json()['id']}/move", headers=scoped, json={"unit_id": theirs, "reason": "调动工作"}
    )
    assert moved.status_code in (403, 404, 422), moved.text
    listed = await roster.get("/api/v1/roster/cadres", headers=admin, params={"status": "all"})
    assert [(c["id"], c["unit_id"]) for c in listed.json()["items"]] == [(own.json()["id"], mine)]
    # scoring: a scoped proposer cannot propose for a cadre outside its units
    cadre = own.json()
    other = await roster.post("/api/v1/roster/cadres", headers=admin, json=cadre_body(theirs))
    assert other.status_code == 201
    scoring = system.clients["scoring"]
    from cadrekit.roster_mirror import upsert_cadre, upsert_unit
    from services.scoring.models import mirror

    async with system.apps["scoring"].state.runtime.sessions() as s:
        for unit_id in units:
            await upsert_unit(
                s,
                mirror,
                {"unit_id": unit_id, "name": unit_id, "kind": "town", "path": f"/{unit_id}/", "version": 1},
            )
        for c in (cadre, other.json()):
            await upsert_cadre(
                s, mirror, {"cadre_id": c["id"], "version": 1, "name": c["name"], "unit_id": c["unit_id"]}
            )
        await s.commit()
    body = {"rule_code": "P01", "year": 2025, "occurred_on": "2025-03-01", "evidence": "会议纪要"}
    hr = system.auth("scoring", "unit_hr", unit_scope=[mine], sub="hr-1")
    outside = await scoring.post("/api/v1/scoring/entries", headers=hr, json={**body, "cadre_id": other.json()["id"]})
    # a cadre outside the caller's units answers as an unknown cadre: a 422 naming the field
    assert outside.status_code == 422 and [e["field"] for e in outside.json()["errors"]] == ["cadre_id"], outside.text
    entries = await scoring.get("/api/v1/scoring/entries", headers=system.auth("scoring", "officer"))
    assert entries.json()["items"] == []
