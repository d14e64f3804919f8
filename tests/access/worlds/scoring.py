"""The scoring world for the scope matrix (tests/access/world.py).

A city with two sibling districts: A (the scoped tokens' unit, with a town under it) and
B. Each has a cadre (A's in the town, so the subtree counts), a published 2025 ledger with
one approved award and one pending N03 sanction (the ``{entry_id}``: approving or
rejecting it is the write a scoped officer must not do on B's), a key post, an appraisal,
a key-post special appraisal of 2024, an incentive-pool grant and a proposed excellence
rating. The year and a 2026 draft catalogue are the same on both sides.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from cadrekit.testing.plugin import Signer
from services.scoring.app import MIGRATIONS, create_app
from services.scoring.settings import ScoringSettings
from tests.access.world import World, signed
from tests.scoring.conftest import API, ScoringHarness

YEAR = 2025


def _ok(resp: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()  # type: ignore[no-any-return]


async def _side(h: ScoringHarness, parent: dict[str, Any], name: str, *, town: bool) -> dict[str, str]:
    """A district with a cadre (in a town under it, if ``town``) and one object of each kind."""
    office = h.auth("admin", sub="seed-admin")
    district = await h.unit(f"{name}区", parent=parent, kind="district")
    home = await h.unit(f"{name}区一镇", parent=district, kind="town") if town else district
    cadre = await h.cadre(home, f"{name}区干部{name}{name}")
    award = await h.scored(cadre, "P01", YEAR, sub="seed-hr")
    sanction = await h.propose(cadre, "N03", YEAR, sub="seed-hr")
    post = _ok(
        await h.client.post(
            f"{API}/key-posts", json={"title": f"{name}区招商科科长", "unit_id": district["unit_id"]}, headers=office
        ),
        201,
    )
    special = _ok(
        await h.client.post(
            f"{API}/key-posts/{post['id']}/appraisals",
            json={
                "cadre_id": cadre,
                "year": YEAR - 1,
                "special_assessment": "优秀",
                "inspection": "无问题",
                "audit": "无问题",
            },
            headers=office,
        ),
        201,
    )
    _ok(
        await h.client.put(
            f"{API}/appraisals/{YEAR}/{cadre}",
            json={"ratings": {"party_committee": 90, "public": 88, "organization": 86}},
            headers=office,
        )
    )
    grant = _ok(
        await h.client.post(
            f"{API}/quota-grants/{YEAR}",
            json={"unit_id": home["unit_id"], "count": 1, "reason": "专项奖励"},
            headers=office,
        ),
        201,
    )
    return {
        "unit_id": district["unit_id"],
        "home_id": home["unit_id"],
        "unit_name": district["name"],
        "cadre_id": cadre,
        "cadre_name": f"{name}区干部{name}{name}",
        "entry_id": sanction["id"],
        "award_id": award["id"],
        "post_id": post["id"],
        "special_id": special["id"],
        "grant_id": grant["id"],
    }


@contextlib.asynccontextmanager
async def world(backend: str, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[World]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    settings = ScoringSettings(database_url=url, kafka_enabled=False, mode="test")
    app = create_app(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
            h = ScoringHarness(app, client, signer)
            admin = h.auth("admin", sub="seed-admin")
            await h.publish_default(YEAR)
            draft = _ok(await client.post(f"{API}/catalogues/{YEAR + 1}/drafts", headers=admin), 201)
            default = _ok(await client.get(f"{API}/catalogues/default", headers=admin))
            _ok(await client.put(f"{API}/policies/{YEAR}", json={"incentive_pool": 10}, headers=admin))
            city = await h.unit("兴化市", kind="city")
            a = await _side(h, city, "甲", town=True)
            b = await _side(h, city, "乙", town=False)
            proposed = _ok(await client.post(f"{API}/ratings/{YEAR}/propose", headers=admin))
            assert {r["cadre_id"] for r in proposed["proposed"]} == {a["cadre_id"], b["cadre_id"]}, proposed

        names = ("cadre_id", "entry_id", "post_id", "unit_id")
        entry = {"rule_code": "P02", "year": YEAR, "occurred_on": f"{YEAR}-04-01", "evidence": "会议纪要"}
        special = {"year": YEAR, "special_assessment": "良好", "inspection": "无问题", "audit": "无问题"}
        bodies = {
            "POST /api/v1/scoring/entries": lambda ids: {**entry, "cadre_id": ids["cadre_id"]},
            "POST /api/v1/scoring/entries/{entry_id}/approve": lambda ids: {"note": "同意"},
            "POST /api/v1/scoring/entries/{entry_id}/reject": lambda ids: {"note": "不予认定"},
            "POST /api/v1/scoring/entries/{entry_id}/reverse": lambda ids: {"reason": "认定有误"},
            "POST /api/v1/scoring/entries/{entry_id}/waiver": lambda ids: {
                "reference": "容〔2025〕1号",
                "reason": "容错",
            },
            "POST /api/v1/scoring/cadres/{cadre_id}/restatements": lambda ids: {"year": YEAR, "version": 1},
            "PUT /api/v1/scoring/policies/{year}": lambda ids: {"incentive_pool": 12},
            "PUT /api/v1/scoring/appraisals/{year}/{cadre_id}": lambda ids: {
                "ratings": {"party_committee": 91, "public": 89, "organization": 87}
            },
            "POST /api/v1/scoring/key-posts": lambda ids: {"title": "财政科科长", "unit_id": ids["unit_id"]},
            "POST /api/v1/scoring/key-posts/{post_id}/appraisals": lambda ids: {**special, "cadre_id": ids["cadre_id"]},
            "PUT /api/v1/scoring/unit-ratings/{year}/{unit_id}": lambda ids: {"rating": "first"},
            "POST /api/v1/scoring/quota-grants/{year}": lambda ids: {
                "unit_id": ids["unit_id"],
                "count": 1,
                "reason": "专项奖励",
            },
            "POST /api/v1/scoring/ratings/{year}/propose": lambda ids: {"unit_id": ids["unit_id"]},
            "PUT /api/v1/scoring/catalogues/{catalogue_id}": lambda ids: {**default, "row_version": 1},
        }
        yield World(
            app=app,
            headers=signed(signer),
            scope=[a["unit_id"]],
            inside={n: a[n] for n in names},
            outside={n: b[n] for n in names},
            fixed={"year": str(YEAR), "catalogue_id": draft["id"]},
            bodies=bodies,
            # B's district is B's alone here: no answer to A names it (key posts, rankings,
            # ratings and quota tables are all filtered), so its id and name are secrets too.
            secrets={
                b[k]
                for k in (
                    "cadre_id",
                    "cadre_name",
                    "entry_id",
                    "award_id",
                    "post_id",
                    "special_id",
                    "grant_id",
                    "unit_id",
                    "unit_name",
                )
            },
        )
