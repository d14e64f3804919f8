"""Two sibling subtrees of one city with a running secondment each, for unit scope tests
(tests/secondment/service/test_unit_scope.py and the scope matrix's world)."""

from __future__ import annotations

from typing import Any

from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND


async def two_subtrees(sec: SecondmentHarness) -> dict[str, Any]:
    """Under the city, subtree A (甲区 with its town 甲镇) and sibling subtree B (乙区 with
    乙镇); each town sends one cadre up to its paired city organ (甲局, 乙局: outside both
    subtrees), one way (the batch allows unpaired placements). Both secondments run, and
    an end-of-term "excellent" put each cadre in the reserve pool."""
    city = await sec.unit("佛山市", "city", "佛山")
    district_a = await sec.unit("甲区", "district", "三水", city)
    district_b = await sec.unit("乙区", "district", "高明", city)
    town_a = await sec.unit("甲镇", "town", "三水", district_a)
    town_b = await sec.unit("乙镇", "town", "高明", district_b)
    organ_a = await sec.unit("甲局", "city_organ", "佛山", city)
    organ_b = await sec.unit("乙局", "city_organ", "佛山", city)
    cadre_a = await sec.cadre(town_a, name="甲干部")
    cadre_b = await sec.cadre(town_b, name="乙干部")
    batch = await sec.ok(
        "/batches", {"name": "2018 批", "year": 2018, "starts_on": "2018-03-01", "allow_unpaired": True}, 201
    )
    out: dict[str, Any] = {
        "batch": batch,
        "A": district_a,
        "host": organ_a,
        "town_a": town_a,
        "units_b": [district_b, town_b, organ_b],
    }
    for side, cadre, organ, town in (("a", cadre_a, organ_a, town_a), ("b", cadre_b, organ_b, town_b)):
        pair = await sec.ok(
            f"/batches/{batch['id']}/pairs",
            {"city_organ_id": organ["unit_id"], "grassroots_unit_id": town["unit_id"]},
            201,
        )
        n = await sec.ok(
            f"/batches/{batch['id']}/nominations",
            {
                "cadre_id": cadre["cadre_id"],
                "pair_id": pair["id"],
                "title_held": "科员",
                "performance_judgement": "strong",
            },
            201,
        )
        await sec.ok(f"/secondments/{n['id']}/vetting", SOUND)
        out[side] = n
        out[f"cadre_{side}"] = cadre
    await sec.ok(f"/batches/{batch['id']}/approve", {})
    for side in ("a", "b"):
        await sec.ok(f"/secondments/{out[side]['id']}/start", {})
        out[f"review_{side}"] = await sec.ok(
            f"/secondments/{out[side]['id']}/reviews",
            {"kind": "end_of_term", "rating": "excellent", "reviewed_on": "2018-05-01"},
            201,
        )
    return out
