"""Two runs of a Qichun-like campaign compared before confirming (issue 17, item 8): the same
pool run under two sets of body quotas, one sending 甲 to the government's post and the other
to the Party committee's; the comparison names the move, the posts that change hands, the
total fit each way and every quota's count; unknown runs, another campaign's run, a failed
run and a run compared with itself are refused."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.matching.conftest import MatchingHarness

FUTURE = "2030-01-01"
# Run a: 甲 on the government's post; the Party committee's stays empty.
QUOTAS_A = [
    {"dimension": "body", "value": "government", "min": 1, "max": 1},
    {"dimension": "body", "value": "party_committee", "min": 0, "max": 0},
    {"dimension": "body", "value": "cppcc", "min": 0, "max": 1},
]
# Run b: the other way round, and no quota on the CPPCC.
QUOTAS_B = [
    {"dimension": "body", "value": "government", "min": 0, "max": 0},
    {"dimension": "body", "value": "party_committee", "min": 1, "max": 1},
]


@dataclass
class Campaign:
    id: str
    county: str
    jia: str  # ranks the government's post, then the Party committee's
    yi: str  # ranks only the CPPCC's post: placed there in both runs
    bing: str  # ranks nothing: unplaced in both runs
    gov: str
    party: str
    cppcc: str


async def _campaign(h: MatchingHarness) -> Campaign:
    county = await h.unit("蕲春县", "city")
    gov = await h.unit("县政府", body="government", parent_path=[county])
    party = await h.unit("县委", body="party_committee", parent_path=[county])
    cppcc = await h.unit("县政协", body="cppcc", parent_path=[county])
    jia, yi, bing = [
        (await h.cadre(county, name=name, retirement_date=FUTURE, rank="副处"))["cadre_id"]
        for name in ("甲", "乙", "丙")
    ]
    c = (await h.campaign(name="副县级干部二次分工", year=2021))["id"]
    g = (await h.add_post(c, gov, title="县政府岗位"))["id"]
    p = (await h.add_post(c, party, title="县委岗位", category="党政群团"))["id"]
    q = (await h.add_post(c, cppcc, title="县政协岗位", category="城建交通"))["id"]
    await h.put(f"/campaigns/{c}/pool", {"cadre_ids": [jia, yi, bing]}, 200)
    await h.post(f"/campaigns/{c}/open", None, expect=200)
    for cadre, ranking in ((jia, [g, p]), (yi, [q]), (bing, [])):
        await h.put(f"/campaigns/{c}/preferences/cadres/{cadre}", {"posts": ranking}, 200)
    return Campaign(c, county, jia, yi, bing, g, p, q)


async def _run(h: MatchingHarness, campaign_id: str, quotas: list[dict[str, Any]]) -> dict[str, Any]:
    run = await h.run(campaign_id, {"method": "optimal", "quotas": quotas, "what_if": True})
    assert run["status"] == "succeeded", run
    return run


def _fit_sum(results: dict[str, dict[str, Any]]) -> Decimal:
    return sum((Decimal(r["fit"]) for r in results.values() if r["post_id"]), Decimal("0.00"))


async def test_two_runs_under_other_quotas_show_the_move_the_posts_that_change_hands_the_fit_and_every_quota(
    matching: MatchingHarness,
) -> None:
    c = await _campaign(matching)
    a = await _run(matching, c.id, QUOTAS_A)
    b = await _run(matching, c.id, QUOTAS_B)
    in_a, in_b = await matching.results(c.id, a["id"]), await matching.results(c.id, b["id"])
    assert {k: v["post_id"] for k, v in in_a.items()} == {c.jia: c.gov, c.yi: c.cppcc, c.bing: None}
    assert {k: v["post_id"] for k, v in in_b.items()} == {c.jia: c.party, c.yi: c.cppcc, c.bing: None}

    resp = await matching.get(f"/campaigns/{c.id}/runs/{a['id']}/compare/{b['id']}", role="portal")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["campaign_id"], got["run_id"], got["other_run_id"]) == (c.id, a["id"], b["id"])
    # Only 甲 moves: 乙 keeps the CPPCC's post and 丙 stays unplaced.
    assert got["moved"] == [
        {
            "cadre_id": c.jia,
            "from_post_id": c.gov,
            "to_post_id": c.party,
            "from_fit": in_a[c.jia]["fit"],
            "to_fit": in_b[c.jia]["fit"],
            "from_reason": "placed",
            "to_reason": "placed",
        }
    ]
    assert in_a[c.jia]["fit"] != in_b[c.jia]["fit"]  # 甲 ranked the government's post first
    assert got["posts"] == sorted(
        [
            {"post_id": c.gov, "title": "县政府岗位", "seats": 1, "holders_before": [c.jia], "holders_after": []},
            {"post_id": c.party, "title": "县委岗位", "seats": 1, "holders_before": [], "holders_after": [c.jia]},
        ],
        key=lambda p: p["post_id"],
    )
    # The totals are the runs' own, and the difference is 甲's change of fit alone.
    assert got["total_fit_before"] == a["summary"]["total_fit"] == str(_fit_sum(in_a))
    assert got["total_fit_after"] == b["summary"]["total_fit"] == str(_fit_sum(in_b))
    jia_change = Decimal(in_b[c.jia]["fit"]) - Decimal(in_a[c.jia]["fit"])
    assert Decimal(got["total_fit_difference"]) == jia_change != 0
    assert got["quotas"] == [
        {
            "quota": "body=government",
            "dimension": "body",
            "value": "government",
            "placed_before": 1,
            "placed_after": 0,
            "difference": -1,
            "bounds_before": {"min": 1, "max": 1},
            "bounds_after": {"min": 0, "max": 0},
        },
        {
            "quota": "body=party_committee",
            "dimension": "body",
            "value": "party_committee",
            "placed_before": 0,
            "placed_after": 1,
            "difference": 1,
            "bounds_before": {"min": 0, "max": 0},
            "bounds_after": {"min": 1, "max": 1},
        },
        {
            "quota": "body=cppcc",
            "dimension": "body",
            "value": "cppcc",
            "placed_before": 1,
            "placed_after": 1,
            "difference": 0,
            "bounds_before": {"min": 0, "max": 1},
            "bounds_after": None,
        },
    ]

    back = (await matching.get(f"/campaigns/{c.id}/runs/{b['id']}/compare/{a['id']}")).json()
    assert [(m["cadre_id"], m["from_post_id"], m["to_post_id"]) for m in back["moved"]] == [(c.jia, c.party, c.gov)]
    assert Decimal(back["total_fit_difference"]) == -jia_change
    assert [(q["quota"], q["difference"], q["bounds_after"]) for q in back["quotas"]] == [
        ("body=government", 1, {"min": 1, "max": 1}),
        ("body=party_committee", -1, {"min": 0, "max": 0}),
        ("body=cppcc", 0, {"min": 0, "max": 1}),
    ]


async def test_an_override_since_the_run_counts_in_the_comparison(matching: MatchingHarness) -> None:
    c = await _campaign(matching)
    a = await _run(matching, c.id, QUOTAS_A)
    b = await _run(matching, c.id, QUOTAS_A)
    url = f"/campaigns/{c.id}/runs/{a['id']}/compare/{b['id']}"
    same = (await matching.get(url)).json()
    assert (same["moved"], same["posts"], same["total_fit_difference"]) == ([], [], "0.00")
    off = {"cadre_id": c.yi, "post_id": None, "reason": "本人申请调整"}
    await matching.post(f"/campaigns/{c.id}/runs/{a['id']}/overrides", off, expect=200)
    yi_fit = (await matching.results(c.id, b["id"]))[c.yi]["fit"]
    got = (await matching.get(url)).json()
    assert [(m["cadre_id"], m["from_post_id"], m["from_reason"], m["to_post_id"]) for m in got["moved"]] == [
        (c.yi, None, "overridden", c.cppcc)
    ]
    assert Decimal(got["total_fit_difference"]) == Decimal(yi_fit)
    assert [(q["quota"], q["placed_before"], q["placed_after"]) for q in got["quotas"]][2] == ("body=cppcc", 0, 1)


async def test_an_unknown_run_or_another_campaigns_run_is_not_found(matching: MatchingHarness) -> None:
    c = await _campaign(matching)
    a = await _run(matching, c.id, QUOTAS_A)
    other = (await matching.campaign(name="另一批"))["id"]
    await matching.add_post(other, c.county, title="另一批岗位")
    await matching.put(f"/campaigns/{other}/pool", {"cadre_ids": [c.bing]}, 200)
    await matching.post(f"/campaigns/{other}/open", None, expect=200)
    theirs = await matching.run(other, {"method": "stable", "what_if": True})
    assert theirs["status"] == "succeeded", theirs

    for path in (
        f"/campaigns/{c.id}/runs/{a['id']}/compare/00000000-0000-0000-0000-000000000000",
        f"/campaigns/{c.id}/runs/00000000-0000-0000-0000-000000000000/compare/{a['id']}",
        f"/campaigns/{c.id}/runs/{a['id']}/compare/{theirs['id']}",
        f"/campaigns/{other}/runs/{theirs['id']}/compare/{a['id']}",
        f"/campaigns/00000000-0000-0000-0000-000000000000/runs/{a['id']}/compare/{theirs['id']}",
    ):
        resp = await matching.get(path)
        assert resp.status_code == 404, (path, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"


async def test_a_failed_run_is_a_conflict_and_a_run_compared_with_itself_names_the_field(
    matching: MatchingHarness,
) -> None:
    c = await _campaign(matching)
    a = await _run(matching, c.id, QUOTAS_A)
    # Each quota alone is reachable, but both need 甲: the run fails.
    clash = [
        {"dimension": "body", "value": "government", "min": 1},
        {"dimension": "body", "value": "party_committee", "min": 1},
    ]
    failed = await matching.run(c.id, {"method": "optimal", "quotas": clash, "what_if": True})
    assert failed["status"] == "failed", failed

    for path in (
        f"/campaigns/{c.id}/runs/{a['id']}/compare/{failed['id']}",
        f"/campaigns/{c.id}/runs/{failed['id']}/compare/{a['id']}",
    ):
        resp = await matching.get(path)
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert f"run {failed['id']} is failed" in resp.json()["detail"]

    itself = await matching.get(f"/campaigns/{c.id}/runs/{a['id']}/compare/{a['id']}")
    assert itself.status_code == 422, itself.text
    assert [e["field"] for e in itself.json()["errors"]] == ["other_run_id"]
