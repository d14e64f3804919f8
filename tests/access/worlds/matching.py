"""Matching's world: its roster mirror holds A (with a village) and B under one city, and
one training campaign with a post, a pool member, a tutor and a spare cadre on each side.

Each side's cadre ranks its own side's post, so the what-if run places A's cadre on A's post
and B's on B's: no answer to a token for A has a reason to name B's cadres (a placement of
B's cadre on A's post would rightly be shown to A: tests/matching/service/test_unit_scope.py).
The campaign stays open (the run is a what-if), so preferences, posts, tutors and
inspections can still be written; B's override of the run and the placements of a second,
confirmed campaign give the overrides and a cadre's placements something to hide; a second
what-if run, with B's cadre back on B's post, gives the comparison of the two runs a move to
hide.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from cadrekit.testing.plugin import Signer
from services.matching.app import MIGRATIONS
from services.matching.app import create_app as create_matching
from tests.access.world import Ids, World, signed
from tests.matching.conftest import MatchingHarness, matching_settings

FUTURE = "2036-05-01"
PLAN = {"duties": ["招商项目跟进"], "goals": ["熟悉镇街工作"], "starts_on": "2025-03-01", "ends_on": "2025-12-31"}
INSPECTION = {
    "inspected_on": "2025-06-10",
    "ratings": [{"role": "tutor", "rater": "导师", "performance": 80, "adaptation": 70}],
}


async def _side(h: MatchingHarness, unit: str, town: str, name: str) -> dict[str, Any]:
    """A side's cadres: a trainee in its (sub)unit, a tutor, a spare tutor and a retiring one."""
    return {
        "unit": unit,
        "cadre": await h.cadre(unit, name=f"{name}干部", retirement_date=FUTURE),
        "tutor": await h.cadre(town, name=f"{name}导师", retirement_date=FUTURE, leadership_status="in_post"),
        "spare": await h.cadre(town, name=f"{name}候选导师", retirement_date=FUTURE, leadership_status="in_post"),
        "retiring": await h.cadre(town, name=f"{name}退休干部", retirement_date="2025-06-30"),
    }


@contextlib.asynccontextmanager
async def world(backend: str, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[World]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    app = create_matching(matching_settings(url), key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
            h = MatchingHarness(app, client, signer)
            city = await h.unit("平湖市", "city")
            town_a = await h.unit("甲镇", "town", parent_path=[city], parent_id=city)
            village_a = await h.unit("甲村", "village", parent_path=[city, town_a], parent_id=town_a)
            town_b = await h.unit("乙镇", "town", parent_path=[city], parent_id=city)
            a = await _side(h, village_a, town_a, "甲镇")
            b = await _side(h, town_b, town_b, "乙镇")

            # Last year's campaign, confirmed: each side's cadre has a placement.
            last = (await h.campaign(name="2024年择岗", year=2024))["id"]
            await _rank_and_run(h, last, a, b, what_if=False)
            await h.post(f"/campaigns/{last}/confirm", {}, expect=200)

            c = (await h.campaign(name="2025年百岗大练兵", kind="training", year=2025))["id"]
            posts, run = await _rank_and_run(h, c, a, b, what_if=True)
            for side in (a, b):
                trainee = side["cadre"]["cadre_id"]
                await h.put(f"/campaigns/{c}/trainees/{trainee}/tutor", {"tutor_id": side["tutor"]["cadre_id"]}, 200)
                await h.put(f"/campaigns/{c}/trainees/{trainee}/plan", PLAN, 200)
                side["inspection"] = (
                    await h.post(f"/campaigns/{c}/trainees/{trainee}/inspections", INSPECTION, expect=201)
                ).json()["id"]
            moved = {"cadre_id": b["cadre"]["cadre_id"], "post_id": None, "reason": "本人申请调整"}
            await h.post(f"/campaigns/{c}/runs/{run}/overrides", moved, expect=200)
            # A second run puts B's cadre back on B's post: the comparison of the two has a
            # move of B's to hide.
            again = await h.run(c, {"method": "stable", "what_if": True})
            assert again["status"] == "succeeded", again

            def ids(side: dict[str, Any]) -> Ids:
                return {
                    "cadre_id": side["cadre"]["cadre_id"],
                    "trainee_id": side["cadre"]["cadre_id"],
                    "tutor_id": side["spare"]["cadre_id"],
                    "host_unit_id": side["unit"],
                }

            base = "POST /api/v1/matching/campaigns"
            camp = "/api/v1/matching/campaigns/{campaign_id}"
            trainee = camp + "/trainees/{trainee_id}"
            bodies: dict[str, Callable[[Ids], dict[str, Any]]] = {
                base: lambda i: {"name": "2026年择岗", "kind": "placement", "year": 2026},
                f"PATCH {camp}": lambda i: {"name": "2025年百岗大练兵（调整）"},
                f"POST {camp}/open": lambda i: {},
                f"POST {camp}/posts": lambda i: {"title": "新设岗位", "category": "经济管理", "seats": 1},
                f"PUT {camp}/pool": lambda i: {"cadre_ids": [a["cadre"]["cadre_id"], b["cadre"]["cadre_id"]]},
                f"PUT {camp}/preferences/cadres/{{cadre_id}}": lambda i: {"posts": [posts["甲镇"]]},
                f"PUT {camp}/preferences/posts/{{post_id}}": lambda i: {"cadres": [a["cadre"]["cadre_id"]]},
                f"POST {camp}/runs": lambda i: {"method": "stable", "what_if": True},
                f"POST {camp}/runs/{{run_id}}/overrides": lambda i: {
                    "cadre_id": a["cadre"]["cadre_id"],
                    "post_id": None,
                    "reason": "组织安排调整",
                },
                f"POST {camp}/confirm": lambda i: {"run_id": run},
                f"PUT {trainee}/tutor": lambda i: {"tutor_id": i["tutor_id"]},
                f"PUT {trainee}/plan": lambda i: dict(PLAN),
                f"POST {trainee}/inspections": lambda i: dict(INSPECTION),
            }
            yield World(
                app=app,
                headers=signed(signer),
                scope=[town_a],
                inside=ids(a),
                outside=ids(b),
                fixed={"campaign_id": c, "run_id": run, "other_run_id": again["id"], "post_id": posts["甲镇"]},
                bodies=bodies,
                # B's unit is a post's host unit, and B's post is in every campaign's offer:
                # both are shown to every scope. B's cadres and B's inspection never are.
                secrets={
                    *(b[k]["cadre_id"] for k in ("cadre", "tutor", "spare", "retiring")),
                    *(b[k]["name"] for k in ("cadre", "tutor", "spare", "retiring")),
                    b["inspection"],
                },
            )


async def _rank_and_run(
    h: MatchingHarness, campaign_id: str, a: dict[str, Any], b: dict[str, Any], *, what_if: bool
) -> tuple[dict[str, str], str]:
    """A post per side, both sides' cadres (and B's retiring one) in the pool, each cadre and
    post ranking its own side first; then a stable run."""
    posts = {
        name: (await h.add_post(campaign_id, side["unit"], title=f"{name}岗位"))["id"]
        for name, side in (("甲镇", a), ("乙镇", b))
    }
    pool = [a["cadre"]["cadre_id"], b["cadre"]["cadre_id"], b["retiring"]["cadre_id"]]
    await h.put(f"/campaigns/{campaign_id}/pool", {"cadre_ids": pool}, 200)
    await h.post(f"/campaigns/{campaign_id}/open", None, expect=200)
    for name, side in (("甲镇", a), ("乙镇", b)):
        cadre = side["cadre"]["cadre_id"]
        await h.put(f"/campaigns/{campaign_id}/preferences/cadres/{cadre}", {"posts": [posts[name]]}, 200)
        await h.put(f"/campaigns/{campaign_id}/preferences/posts/{posts[name]}", {"cadres": [cadre]}, 200)
    run = await h.run(campaign_id, {"method": "stable", "what_if": what_if})
    assert run["status"] == "succeeded", run
    return posts, run["id"]
