"""0 cross-unit data for a unit_hr token: lists, exports, statistics, rankings, histories.

Two sibling subtrees (甲镇 with a village, 乙镇 with a village, both under one district) are
registered in roster, and the same units and cadres are put into each consuming service's
copy of the roster; scoring approves an entry for every cadre so the rankings hold all of
them. Then every GET endpoint the role matrix admits unit_hr to, in every service, is called
with a token scoped to 甲镇 — path ids filled with 乙镇's cadre and units, list filters pointed
at 乙镇 — and no id, name or ID number of 乙镇's side may appear anywhere in any answer
(XLSX exports are unzipped and their sheets scanned too). As a control, 甲镇's own data is
found where it should be, so the scan can fail.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from cadrekit.auth import Role
from cadrekit.role_matrix import matrix
from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from tests.factories import cadre_body
from tests.security.conftest import System

YEAR = 2025
CONSUMERS = ("scoring", "matching", "secondment")


@dataclass
class Side:
    units: list[dict[str, Any]] = field(default_factory=list)
    cadres: list[dict[str, Any]] = field(default_factory=list)

    def markers(self) -> set[str]:
        out = {u["id"] for u in self.units} | {u["name"] for u in self.units}
        for c in self.cadres:
            out |= {c["id"], c["name"], c["id_number"], c["id_number"][-6:]}
        return out


async def _unit(system: System, name: str, kind: str, parent: str | None) -> dict[str, Any]:
    resp = await system.clients["roster"].post(
        "/api/v1/roster/units",
        headers=system.auth("roster"),
        json={"name": name, "kind": kind, "parent_id": parent, "region": "平湖"},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def _cadre(system: System, unit: dict[str, Any], name: str) -> dict[str, Any]:
    body = cadre_body(unit["id"], name=name)
    resp = await system.clients["roster"].post("/api/v1/roster/cadres", headers=system.auth("roster"), json=body)
    assert resp.status_code == 201, resp.text
    return {**resp.json(), "id_number": body["id_number"], "body": body}


async def _mirror(system: System, units: list[dict[str, Any]], cadres: list[dict[str, Any]]) -> None:
    for service in CONSUMERS:
        tables = __import__(f"services.{service}.models", fromlist=["mirror"]).mirror
        async with system.apps[service].state.runtime.sessions() as s:
            for u in units:
                state = {
                    "unit_id": u["id"],
                    "name": u["name"],
                    "kind": u["kind"],
                    "region": u.get("region"),
                    "body": u.get("body"),
                    "parent_id": u.get("parent_id"),
                    "path": u["path"],
                    "version": 1,
                }
                await upsert_unit(s, tables, state)
            for c in cadres:
                b = c["body"]
                state = {
                    "cadre_id": c["id"],
                    "version": 1,
                    **{k: v for k, v in b.items() if k not in ("id_number",)},
                    "retirement_date": "2036-05-01",
                    "status": "active",
                }
                await upsert_cadre(s, tables, state)
            await s.commit()


async def _score_everyone(system: System, cadres: list[dict[str, Any]]) -> None:
    client = system.clients["scoring"]
    admin = system.auth("scoring", "admin", sub="admin-1")
    draft = await client.post(f"/api/v1/scoring/catalogues/{YEAR}/drafts", headers=admin)
    assert draft.status_code == 201, draft.text
    pub = await client.post(f"/api/v1/scoring/catalogues/{draft.json()['id']}/publish", headers=admin)
    assert pub.status_code == 200, pub.text
    for c in cadres:
        entry = await client.post(
            "/api/v1/scoring/entries",
            headers=system.auth("scoring", "officer", sub="officer-b"),
            json={
                "cadre_id": c["id"],
                "rule_code": "P01",
                "year": YEAR,
                "occurred_on": f"{YEAR}-03-01",
                "evidence": "会议纪要",
            },
        )
        assert entry.status_code == 201, entry.text
        ok = await client.post(
            f"/api/v1/scoring/entries/{entry.json()['id']}/approve",
            headers=system.auth("scoring", "officer", sub="officer-a"),
        )
        assert ok.status_code == 200, ok.text


def _text(content: bytes) -> str:
    """The answer as text; an XLSX (zip) is unzipped and every part read."""
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
    return content.decode("utf-8", "replace")


def _fill(path: str, other: Side) -> str:
    values = {
        "cadre_id": other.cadres[0]["id"],
        "trainee_id": other.cadres[0]["id"],
        "unit_id": other.units[0]["id"],
        "subject_id": other.cadres[0]["id"],
        "year": str(YEAR),
    }
    return re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


async def test_a_unit_hr_token_never_sees_the_sibling_subtree(system: System) -> None:
    district = await _unit(system, "平湖区", "district", None)
    mine, theirs = Side(), Side()
    for side, town_name, village_name in ((mine, "甲镇", "甲村"), (theirs, "乙镇", "乙村")):
        town = await _unit(system, town_name, "town", district["id"])
        village = await _unit(system, village_name, "village", town["id"])
        side.units += [town, village]
        for i, unit in enumerate((town, town, village)):
            side.cadres.append(await _cadre(system, unit, f"{town_name}干部{i}"))
    await _mirror(system, [district, *mine.units, *theirs.units], mine.cadres + theirs.cadres)
    await _score_everyone(system, mine.cadres + theirs.cadres)

    secret, own = theirs.markers(), mine.markers()
    scope = [mine.units[0]["id"]]
    leaks: list[str] = []
    seen_own: dict[str, bool] = {}
    calls = 0
    for name, app in system.apps.items():
        client = system.clients[name]
        headers = system.auth(name, "unit_hr", unit_scope=scope)
        for cell in matrix(app):
            if cell.method != "GET" or Role.unit_hr not in cell.roles:
                continue
            url = _fill(cell.path, theirs)
            variants: list[dict[str, Any]] = [
                {},
                {"unit_id": theirs.units[0]["id"]},
                {"cadre_id": theirs.cadres[0]["id"]},
                {"year": YEAR, "limit": 100},
                {"year": YEAR, "unit_id": district["id"], "limit": 100},
                {"year": YEAR, "unit_id": scope[0], "limit": 100},  # its own unit: a full answer
            ]
            for params in variants:
                resp = await client.get(url, headers=headers, params=params)
                calls += 1
                assert resp.status_code < 500, f"{name} GET {url} {params}: {resp.status_code} {resp.text[:200]}"
                text = _text(resp.content)
                # the caller's own ids echoed back (a 404's `instance`, a filter) are not data
                asked = unquote(str(resp.request.url))
                found = sorted(m for m in secret if m in text and m not in asked)
                if found:
                    leaks.append(f"{name} GET {url} {params} -> {resp.status_code}: {found[:5]}")
                if resp.status_code == 200 and any(m in text for m in own):
                    seen_own[f"{name} {cell.path}"] = True
    assert calls > 50, calls
    assert not leaks, "cross-unit data leaked:\n" + "\n".join(leaks)
    # The control: the scoped token does see its own side where it should.
    for expected in (
        "roster /api/v1/roster/cadres",
        "roster /api/v1/roster/cadres/export",
        "roster /api/v1/roster/units",
        "scoring /api/v1/scoring/rankings",
    ):
        assert seen_own.get(expected), f"{expected}: the scoped token saw none of its own data ({sorted(seen_own)})"
