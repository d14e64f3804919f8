"""Pinghu's points example through the gateway, as the portal would drive it: two +0.6
tasks → 1.20; a 通报批评 deduction, then a fault-tolerance waiver → back to 1.20, with all
four lines in the ledger and every change on ``scoring.events``."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import pytest

from deploy.launcher import System
from tests.e2e.support import read_topic, token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e
S = "/api/v1/scoring"


async def client_token(client: httpx.AsyncClient, admin: dict[str, str], role: str, name: str) -> dict[str, str]:
    made = await client.post("/api/v1/auth/clients", headers=admin, json={"name": name, "role": role})
    assert made.status_code == 201, made.text
    c = made.json()
    resp = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]},
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_pinghu_points_through_the_gateway(system: System) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        officer = await client_token(client, admin, "officer", "干部科审核员")

        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "市发改局", "kind": "city_organ"})
        ).json()
        created = await client.post(
            "/api/v1/roster/cadres", headers=admin, json=cadre_body(unit["id"], leadership_status="second_line")
        )
        assert created.status_code == 201, created.text
        cadre = created.json()["id"]

        draft = await client.post(f"{S}/catalogues/2025/drafts", headers=admin)
        assert draft.status_code == 201, draft.text
        assert draft.json()["counts"]["positive_categories"] == 8 and draft.json()["counts"]["negative_categories"] == 5
        assert (await client.post(f"{S}/catalogues/{draft.json()['id']}/publish", headers=admin)).status_code == 200

        async def scored(rule: str, **extra: str) -> dict:
            # The cadre reaches scoring through roster events: retry until the mirror has it.
            for _ in range(100):
                body = {"cadre_id": cadre, "rule_code": rule, "year": 2025, "occurred_on": "2025-04-01", **extra}
                proposed = await client.post(f"{S}/entries", headers=admin, json=body)
                if proposed.status_code != 422 or proposed.json()["errors"][0]["field"] != "cadre_id":
                    break
                await asyncio.sleep(0.2)
            assert proposed.status_code == 201, proposed.text
            own = await client.post(f"{S}/entries/{proposed.json()['id']}/approve", headers=admin)
            assert own.status_code == 403  # the proposer cannot approve
            approved = await client.post(f"{S}/entries/{proposed.json()['id']}/approve", headers=officer)
            assert approved.status_code == 200, approved.text
            return approved.json()  # type: ignore[no-any-return]

        await scored("P01", evidence="牵头疫情防控专班")
        await scored("P02", evidence="市级破难项目按期完成")
        criticism = await scored("N02", evidence="所负责工作被通报批评", reference="平委办通报〔2025〕3号")
        waived = await client.post(
            f"{S}/entries/{criticism['id']}/waiver",
            headers=officer,
            json={"reference": "平容纠〔2025〕1号", "reason": "改革探索中出现失误，符合容错情形"},
        )
        assert waived.status_code == 201, waived.text

        ledger = (await client.get(f"{S}/cadres/{cadre}/ledger", params={"year": 2025}, headers=admin)).json()
        assert ledger["total"] == "1.20"
        assert [(ln["line"], ln["kind"], ln["points"], ln["running_total"]) for ln in ledger["lines"]] == [
            ("entry", "award", "0.60", "0.60"),
            ("entry", "award", "0.60", "1.20"),
            ("entry", "sanction", "-1.00", "0.20"),  # 通报批评
            ("waiver", "waiver", "1.00", "1.20"),
        ]
        assert ledger["lines"][2]["evidence"] == "***"
        eligible = (await client.get(f"{S}/cadres/{cadre}/eligibility", params={"year": 2025}, headers=admin)).json()
        assert eligible["excellent"]["eligible"] is True

    events = await read_topic(f"127.0.0.1:{system.layout.broker_port}", "scoring.events", want=8)
    totals = [e["data"]["total"] for e in events if e["type"] == "scoring.score.changed"]
    assert totals == ["0.60", "1.20", "0.20", "1.20"]


async def _cadre_cli(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_422_of_a_year_without_a_catalogue_names_the_command_that_publishes_the_default(
    system: System,
) -> None:
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        unit = (
            await client.post("/api/v1/roster/units", headers=admin, json={"name": "市司法局", "kind": "city_organ"})
        ).json()
        created = await client.post("/api/v1/roster/cadres", headers=admin, json=cadre_body(unit["id"]))
        assert created.status_code == 201, created.text
        body = {"cadre_id": created.json()["id"], "rule_code": "N02", "year": 2026, "occurred_on": "2026-04-01"}
        for _ in range(100):  # until scoring's mirror has the cadre
            refused = await client.post(f"{S}/entries", headers=admin, json=body)
            if refused.status_code != 422 or refused.json()["errors"][0]["field"] != "cadre_id":
                break
            await asyncio.sleep(0.2)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "year", refused.text
        for named in (
            "POST /api/v1/scoring/catalogues/2026/drafts",
            "POST /api/v1/scoring/catalogues/{catalogue_id}/publish",
            "cadre catalogues publish-default 2026",
        ):
            assert named in refused.json()["detail"]
        zh = await client.post(f"{S}/entries", headers={**admin, "Accept-Language": "zh-CN"}, json=body)
        assert zh.json()["errors"][0]["message"].startswith("2026 年度尚未发布积分规则目录")

        argv = ("catalogues", "publish-default", "2026", "--gateway", system.layout.gateway_url)
        code, out, err = await _cadre_cli(*argv, "--credentials", str(system.layout.bootstrap_file))
        assert code == 0, err
        done = json.loads(out)
        assert (done["year"], done["version"], done["status"]) == (2026, 1, "published")
        proposed = await client.post(f"{S}/entries", headers=admin, json=body)
        assert proposed.status_code == 201 and proposed.json()["kind"] == "sanction", proposed.text

        code, _, err = await _cadre_cli(*argv, "--credentials", str(system.layout.bootstrap_file))
        assert code == 1 and "2026 already has a published catalogue (v1" in err
        versions = (await client.get(f"{S}/catalogues", params={"year": 2026}, headers=admin)).json()
        assert [(c["version"], c["status"]) for c in versions] == [(1, "published")]
