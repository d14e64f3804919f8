"""Secondment's world: its roster mirror holds, under one city, A (甲区 with its town 甲镇)
and B (乙区 with 乙镇); each town sends a cadre up to its own city organ (outside both
subtrees), and both secondments run, reviewed "excellent" at the end of term, so each
cadre is in the reserve pool (tests/secondment/subtrees.py).

The secondment in the path is running, so an extension, an early end and a review are
valid writes (vetting, start and withdrawal rightly answer 409). The batch routes, whole
tree only, work on a second, open batch with a vetted nominee of A: a pair, a nomination
and the approval are valid there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from cadrekit.testing.plugin import Signer
from services.secondment.app import MIGRATIONS
from services.secondment.app import create_app as create_secondment
from services.secondment.settings import SecondmentSettings
from tests.access.world import World, signed
from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND
from tests.secondment.subtrees import two_subtrees

API = "/api/v1/secondment"


@contextlib.asynccontextmanager
async def world(backend: str, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[World]:
    url = await database_factories(MIGRATIONS).fresh(backend)
    settings = SecondmentSettings(database_url=url, kafka_enabled=False, mode="test")
    app = create_secondment(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://secondment") as client:
            h = SecondmentHarness(app, client, signer)
            w = await two_subtrees(h)
            host, town_a = w["host"]["unit_id"], w["town_a"]["unit_id"]
            nominee = await h.cadre(w["town_a"], name="甲候选")
            spare = await h.cadre(w["town_a"], name="甲备选")
            batch = await h.ok(
                "/batches", {"name": "2019 批", "year": 2019, "starts_on": "2019-03-01", "allow_unpaired": True}, 201
            )

            def up(cadre: dict[str, Any]) -> dict[str, Any]:
                return {
                    "cadre_id": cadre["cadre_id"],
                    "to_unit_id": host,
                    "title_held": "科员",
                    "performance_judgement": "strong",
                }

            n = await h.ok(f"/batches/{batch['id']}/nominations", up(nominee), 201)
            await h.ok(f"/secondments/{n['id']}/vetting", SOUND)

            batches = f"{API}/batches"
            one = f"{API}/secondments/{{secondment_id}}"
            bodies = {
                f"POST {batches}": lambda i: {"name": "2020 批", "year": 2020, "starts_on": "2020-03-01"},
                f"POST {batches}/{{batch_id}}/pairs": lambda i: {"city_organ_id": host, "grassroots_unit_id": town_a},
                f"POST {batches}/{{batch_id}}/nominations": lambda i: up(spare),
                f"POST {batches}/{{batch_id}}/approve": lambda i: {},
                f"POST {one}/vetting": lambda i: {"notes": "补充材料"},
                f"POST {one}/start": lambda i: {},
                f"POST {one}/extend": lambda i: {"months": 6, "reason": "项目未完"},
                f"POST {one}/end": lambda i: {"kind": "early", "ended_on": "2018-12-01", "reason": "调动"},
                f"POST {one}/withdraw": lambda i: {"reason": "本人申请"},
                f"POST {one}/reviews": lambda i: {
                    "kind": "routine",
                    "rating": "competent",
                    "reviewed_on": "2018-06-01",
                },
            }
            b_review = w["review_b"]
            yield World(
                app=app,
                headers=signed(signer),
                scope=[w["A"]["unit_id"]],
                inside={"secondment_id": w["a"]["id"]},
                outside={"secondment_id": w["b"]["id"]},
                fixed={"batch_id": batch["id"]},
                bodies=bodies,
                # Nothing of B is legitimately shown to A: B's units appear only on B's
                # secondment and in the batch's pairs, which are whole tree only.
                secrets={
                    w["cadre_b"]["cadre_id"],
                    w["cadre_b"]["name"],
                    w["b"]["id"],
                    b_review["id"],
                    b_review["reserve_entry"]["id"],
                    *(u["unit_id"] for u in w["units_b"]),
                    *(u["name"] for u in w["units_b"]),
                },
            )
