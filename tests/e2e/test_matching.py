"""A Pinghu-like second selection end to end, through the gateway: cadres entered in roster,
a campaign with 24 standing + 6 phased posts, a pool drawn by filter in which the cadres
retiring this year are excluded with their reason, the balance table, a stable run,
confirmation, the placement events on the topic and roster moving the placed cadres."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import httpx
import pytest

from cadrekit.dates import today
from deploy.launcher import System
from services.roster.domain.retirement import Category, RetirementLaw
from tests.e2e.support import read_topic, token
from tests.factories import cadre_body

pytestmark = pytest.mark.e2e
M = "/api/v1/matching"
CATEGORIES = ["党政群团", "经济管理", "城建交通", "社会管理", "民生事业"]


def retiring_in(year: int) -> dt.date:
    """A man's birth date whose statutory retirement (the 2025 law) falls in ``year``."""
    law = RetirementLaw()
    return next(
        birth
        for birth in (dt.date(y, m, 1) for y in range(year - 64, year - 59) for m in range(1, 13))
        if law.statutory(birth, Category.men).date.year == year
    )


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


async def officer(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    made = await client.post("/api/v1/auth/clients", headers=admin, json={"name": "平湖干部科", "role": "officer"})
    assert made.status_code == 201, made.text
    got = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": made.json()["client_id"],
            "client_secret": made.json()["client_secret"],
        },
    )
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


async def test_pinghu_second_selection_through_the_gateway(system: System) -> None:
    year = today().year
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        h = await officer(client, admin)

        async def unit(name: str, kind: str, parent: str | None = None) -> str:
            resp = await client.post(
                "/api/v1/roster/units", headers=h, json={"name": name, "kind": kind, "parent_id": parent}
            )
            assert resp.status_code == 201, resp.text
            return str(resp.json()["id"])

        city = await unit("平湖市", "city")
        hosts = [await unit(n, "city_organ", city) for n in ("市发改局", "市建设局", "市信访局")]
        hosts += [await unit(n, "town", city) for n in ("当湖街道", "钟埭街道")]
        home = await unit("市委办", "city_organ", city)
        cadres = []
        for n in range(36):
            retiring = n < 4
            birth = retiring_in(year) if retiring else dt.date(1975 + n % 10, 5, 1 + n % 20)
            wishes = [CATEGORIES[n % 5], CATEGORIES[(n + 2) % 5]]
            body = cadre_body(
                home, birth_date=birth, post_wishes=wishes, strengths=["招商引资", "项目管理"][: 1 + n % 2]
            )
            resp = await client.post("/api/v1/roster/cadres", headers=h, json=body)
            assert resp.status_code == 201, resp.text
            cadres.append(resp.json()["id"])

        made = await client.post(
            f"{M}/campaigns",
            headers=h,
            json={
                "name": f"{year}年退二线干部二次择岗",
                "kind": "placement",
                "year": year,
                "starts_on": f"{year}-03-01",
            },
        )
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
        posts = []
        for n in range(30):
            phased = n >= 24
            body = {
                "title": f"{'阶段性' if phased else '常态化'}岗位{n + 1}",
                "host_unit_id": hosts[n % len(hosts)],
                "category": CATEGORIES[n % 5],
                "kind": "phased" if phased else "standing",
                "seats": 1,
                "required_strengths": ["项目管理"] if n % 3 == 0 else [],
            }
            if phased:
                body["term_months"] = 6
            created: dict = {}

            async def added(body: dict = body, created: dict = created) -> bool:
                # the host unit reaches matching's mirror through roster.events: eventually
                resp = await client.post(f"{M}/campaigns/{cid}/posts", headers=h, json=body)
                created.update(resp.json())
                return resp.status_code == 201

            await until(added, "the host unit reaches matching")
            posts.append(created)
        bad = await client.post(f"{M}/campaigns/{cid}/posts", headers=h, json={**body, "seats": 0})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in bad.json()["errors"]] == ["seats"]

        pool: dict = {}

        async def pool_complete() -> bool:
            nonlocal pool
            resp = await client.put(
                f"{M}/campaigns/{cid}/pool",
                headers=h,
                json={"filter": {"unit_id": city, "leadership_status": "second_line"}},
            )
            pool = resp.json()
            return resp.status_code == 200 and len(pool["eligible"]) + len(pool["excluded"]) == 36

        await until(pool_complete, "roster's cadres reach matching")
        assert sorted(e["cadre_id"] for e in pool["excluded"]) == sorted(cadres[:4])
        assert {e["reason"] for e in pool["excluded"]} == {"retiring"}

        assert (await client.post(f"{M}/campaigns/{cid}/open", headers=h)).status_code == 200
        table = (await client.get(f"{M}/campaigns/{cid}/balance-table", headers=h)).json()
        assert len(table["posts"]) == 30
        assert all(len(p["shortlist"]) == 2 for p in table["posts"])  # 32 eligible: 1:2 everywhere
        export = await client.get(f"{M}/campaigns/{cid}/balance-table/export", headers=h)
        assert export.status_code == 200 and export.content[:2] == b"PK"

        started = await client.post(f"{M}/campaigns/{cid}/runs", headers=h, json={"method": "stable"})
        assert started.status_code == 202, started.text
        run_url = started.headers["location"]
        run: dict = {}

        async def finished() -> bool:
            nonlocal run
            run = (await client.get(run_url, headers=h)).json()
            return run["status"] in ("succeeded", "failed")

        await until(finished, "the run finishes")
        assert run["status"] == "succeeded", run
        summary = run["summary"]
        assert summary["excluded"] == 4 and summary["placed"] + summary["unplaced"] == 32
        results = (await client.get(f"{run_url}/results?limit=100", headers=h)).json()["items"]
        assert len(results) == 36
        assert all(r["reason"] in ("placed", "outranked_everywhere", "excluded") for r in results)

        confirmed = await client.post(f"{M}/campaigns/{cid}/confirm", headers=h, json={})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["placements"] == summary["placed"]
        again = await client.post(f"{M}/campaigns/{cid}/confirm", headers=h, json={})
        assert again.status_code == 409

        standing = next(
            r
            for r in results
            if r["post_id"] and int(next(p for p in posts if p["id"] == r["post_id"])["title"][5:]) <= 24
        )
        post = next(p for p in posts if p["id"] == standing["post_id"])

        async def moved() -> bool:
            got = (await client.get(f"/api/v1/roster/cadres/{standing['cadre_id']}", headers=h)).json()
            return bool(got["unit_id"] == post["host_unit_id"] and got["post_title"] == post["title"])

        await until(moved, "roster moves a cadre placed on a standing post")
        history = (await client.get(f"/api/v1/roster/cadres/{standing['cadre_id']}/history", headers=h)).json()
        # effective on the campaign's start, not on the day it was confirmed (issue 17)
        assert [x["changes"]["effective_on"] for x in history if x["kind"] == "moved"] == [f"{year}-03-01"]

    events = await read_topic(f"127.0.0.1:{system.layout.broker_port}", "matching.events", want=summary["placed"] + 2)
    placed = [e for e in events if e["type"] == "matching.placement.confirmed"]
    assert len(placed) == summary["placed"]
    assert {e["data"]["post_kind"] for e in placed} <= {"standing", "phased"}
    assert {e["type"] for e in events} >= {"matching.campaign.opened", "matching.run.completed"}


async def test_a_post_at_a_unit_created_a_moment_ago_through_the_gateway(system: System) -> None:
    """Issue 17: for 1–4 s after a unit was created, a post at it answered 422 "unknown unit"
    (matching's mirror had not heard of it yet); the write now waits for the mirror."""
    async with httpx.AsyncClient(base_url=system.layout.gateway_url, timeout=30) as client:
        admin = {"Authorization": f"Bearer {await token(client, system)}"}
        h = await officer(client, admin)
        campaign = await client.post(
            f"{M}/campaigns", headers=h, json={"name": "新设单位择岗", "kind": "placement", "year": today().year}
        )
        assert campaign.status_code == 201, campaign.text
        for n in range(3):
            made = await client.post(
                "/api/v1/roster/units", headers=h, json={"name": f"新设专班{n}", "kind": "city_organ"}
            )
            assert made.status_code == 201, made.text
            post = await client.post(
                f"{M}/campaigns/{campaign.json()['id']}/posts",
                headers=h,
                json={"title": f"专班{n}", "host_unit_id": made.json()["id"], "category": "经济管理", "seats": 1},
            )
            assert post.status_code == 201, post.text
