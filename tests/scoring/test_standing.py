"""Eligibility, rankings, restatement under a newer catalogue, excellence ratings."""

from __future__ import annotations

from tests.scoring.conftest import API, ScoringHarness


async def test_a_sanction_blocks_excellence_and_promotion_until_waived(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    sanction = await scoring.scored(cadre, "N03", occurred_on="2025-03-10")  # 诫勉: 6 months by default

    async def verdict(on: str) -> dict:
        resp = await scoring.client.get(
            f"{API}/cadres/{cadre}/eligibility", params={"year": 2025, "on": on}, headers=scoring.auth("portal")
        )
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    during = await verdict("2025-06-01")
    assert during["excellent"]["eligible"] is False and during["promotion"]["eligible"] is False
    assert "until 2025-09-09" in during["promotion"]["reasons"][0]  # six months' last day
    after = await verdict("2025-09-10")
    assert after["promotion"]["eligible"] is True and after["excellent"]["eligible"] is False
    await scoring.client.post(
        f"{API}/entries/{sanction['id']}/waiver",
        json={"reference": "容〔2025〕2号", "reason": "容错"},
        headers=scoring.auth(),
    )
    waived = await verdict("2025-06-01")
    assert waived["excellent"]["eligible"] is True and waived["promotion"]["eligible"] is True


async def test_rankings_filter_by_subtree_and_break_ties_by_the_documented_rule(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    city = await scoring.unit("平湖市")
    organ = await scoring.unit("市发改局", parent=city)
    other = await scoring.unit("市财政局", parent=city)
    a = await scoring.cadre(organ, "甲")
    b = await scoring.cadre(organ, "乙", leadership_status="in_post")
    c = await scoring.cadre(other, "丙")
    await scoring.scored(a, "P01")  # 0.60
    await scoring.scored(b, "P01")
    await scoring.scored(b, "P01")
    await scoring.scored(b, "N01")  # 1.20 - 0.50 = 0.70
    await scoring.scored(c, "P03")
    await scoring.scored(c, "P04")  # 0.50 + 0.30 = 0.80
    resp = await scoring.client.get(f"{API}/rankings", params={"year": 2025}, headers=scoring.auth("portal"))
    assert [(i["name"], i["total"]) for i in resp.json()["items"]] == [("丙", "0.80"), ("乙", "0.70"), ("甲", "0.60")]
    sub = await scoring.client.get(
        f"{API}/rankings", params={"year": 2025, "unit_id": organ["unit_id"]}, headers=scoring.auth()
    )
    assert [i["name"] for i in sub.json()["items"]] == ["乙", "甲"]
    second_line = await scoring.client.get(
        f"{API}/rankings", params={"year": 2025, "leadership_status": "second_line"}, headers=scoring.auth()
    )
    assert [i["name"] for i in second_line.json()["items"]] == ["丙", "甲"]
    # A tie on the total goes to the cadre who earned more: 丁 earns 1.10 and loses 0.50,
    # 甲 earned 0.60 and lost nothing; both stand at 0.60.
    d = await scoring.cadre(other, "丁")
    await scoring.scored(d, "P03")
    await scoring.scored(d, "P04")
    await scoring.scored(d, "P04")
    await scoring.scored(d, "N05")
    tied = await scoring.client.get(
        f"{API}/rankings", params={"year": 2025, "leadership_status": "second_line"}, headers=scoring.auth()
    )
    items = {i["name"]: i for i in tied.json()["items"]}
    assert items["丁"]["total"] == items["甲"]["total"] == "0.60"
    assert items["丁"]["rank"] < items["甲"]["rank"]
    assert "more points earned" in tied.json()["tie_rule"]


async def test_restating_under_a_newer_catalogue_shows_the_difference_first(scoring: ScoringHarness) -> None:
    v1 = await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    first = await scoring.scored(cadre, "P01")
    await scoring.scored(cadre, "P01")
    admin = scoring.auth("admin", sub="admin-1")
    draft = (await scoring.client.post(f"{API}/catalogues/2025/drafts", headers=admin)).json()
    assert draft["version"] == 2
    rules = [{**r, "points": "0.80"} if r["code"] == "P01" else r for r in draft["rules"]]
    edit = await scoring.client.put(
        f"{API}/catalogues/{draft['id']}",
        json={
            "categories": draft["categories"],
            "rules": rules,
            "impact_months": draft["impact_months"],
            "row_version": 1,
        },
        headers=admin,
    )
    assert edit.status_code == 200, edit.text
    await scoring.client.post(f"{API}/catalogues/{draft['id']}/publish", headers=admin)
    frozen = await scoring.client.put(
        f"{API}/catalogues/{v1['id']}",
        json={"categories": draft["categories"], "rules": rules, "row_version": 2},
        headers=admin,
    )
    assert frozen.status_code == 409

    preview = await scoring.client.post(
        f"{API}/cadres/{cadre}/restatements", json={"year": 2025, "version": 2}, headers=scoring.auth()
    )
    assert preview.status_code == 200, preview.text
    assert (preview.json()["total"], preview.json()["restated_total"], preview.json()["difference"]) == (
        "1.20",
        "1.60",
        "0.40",
    )
    assert (await scoring.ledger(cadre))["total"] == "1.20"
    stale = await scoring.client.post(
        f"{API}/cadres/{cadre}/restatements",
        json={"year": 2025, "version": 2, "apply": True, "expected_difference": "0.10"},
        headers=scoring.auth(),
    )
    assert stale.status_code == 409
    applied = await scoring.client.post(
        f"{API}/cadres/{cadre}/restatements",
        json={"year": 2025, "version": 2, "apply": True, "expected_difference": "0.40"},
        headers=scoring.auth(),
    )
    assert applied.status_code == 200 and applied.json()["applied"] is True
    ledger = await scoring.ledger(cadre)
    assert ledger["total"] == "1.60"
    kept = next(ln for ln in ledger["lines"] if ln.get("id") == first["id"])
    assert kept["catalogue_version"] == 1 and kept["points"] == "0.60" and kept["reversed_by_id"]
    changed = [e["data"] for e in await scoring.outbox() if e["type"] == "scoring.score.changed"]
    assert (changed[-1]["cause"], changed[-1]["total"], changed[-1]["catalogue_version"]) == ("restatement", "1.60", 2)


async def test_bad_catalogue_drafts_are_refused_naming_the_field(scoring: ScoringHarness) -> None:
    admin = scoring.auth("admin", sub="admin-1")
    base = (await scoring.client.get(f"{API}/catalogues/default", headers=admin)).json()
    assert sum(c["direction"] == "positive" for c in base["categories"]) == 8
    assert sum(c["direction"] == "negative" for c in base["categories"]) == 5
    cases = [
        ({"points": "-0.6"}, "rules[0].points"),
        ({"points": "5000"}, "rules[0].points"),
        ({"category": "nope"}, "rules[0].category"),
        ({"cap_per_year": "0.1"}, "rules[0].cap_per_year"),
    ]
    for change, field in cases:
        rules = [{**base["rules"][0], **change}, *base["rules"][1:]]
        resp = await scoring.client.post(
            f"{API}/catalogues/2025/drafts", json={"categories": base["categories"], "rules": rules}, headers=admin
        )
        assert resp.status_code == 422, (change, resp.text)
        assert resp.json()["errors"][0]["field"].endswith(field.split(".")[-1]), resp.json()
    listed = await scoring.client.get(f"{API}/catalogues", params={"year": 2025}, headers=admin)
    assert listed.json() == []


async def test_excellence_proposals_respect_quotas_periods_and_the_reserve(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    admin = scoring.auth("admin", sub="admin-1")
    await scoring.client.put(
        f"{API}/policies/2025", json={"incentive_pool": 1, "second_line_reserved": 1}, headers=admin
    )
    unit = await scoring.unit()
    cadres = [await scoring.cadre(unit, f"干部{i}", leadership_status="in_post") for i in range(10)]
    veteran = await scoring.cadre(unit, "老张", leadership_status="second_line")
    await scoring.scored(veteran, "P01")  # central work
    blocked = cadres[0]
    await scoring.scored(blocked, "N03", occurred_on="2025-02-01")
    for i, c in enumerate([*cadres, veteran]):
        resp = await scoring.client.put(
            f"{API}/appraisals/2025/{c}",
            json={"ratings": {"party_committee": 95 - i, "public": 90, "organization": 90}, "visible": {"项目": 88}},
            headers=scoring.auth(),
        )
        assert resp.status_code == 200, resp.text
    # Unit rated "second": 20 % of 11 cadres → 2, plus 1 from the incentive pool.
    await scoring.client.put(
        f"{API}/unit-ratings/2025/{unit['unit_id']}", json={"rating": "second"}, headers=scoring.auth()
    )
    grant = await scoring.client.post(
        f"{API}/quota-grants/2025",
        json={"unit_id": unit["unit_id"], "count": 1, "reason": "专项奖励"},
        headers=scoring.auth(),
    )
    assert grant.status_code == 201 and grant.json()["pool_left"] == 0
    over = await scoring.client.post(
        f"{API}/quota-grants/2025",
        json={"unit_id": unit["unit_id"], "count": 1, "reason": "再要"},
        headers=scoring.auth(),
    )
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "count"
    resp = await scoring.client.post(f"{API}/ratings/2025/propose", headers=scoring.auth())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["quotas"][0]["quota"] == 3
    proposed = {r["cadre_id"]: r["source"] for r in body["proposed"]}
    assert set(proposed) == {cadres[1], cadres[2], cadres[3], veteran}
    assert proposed[veteran] == "second_line_reserve"
    reasons = {p["cadre_id"]: p["reason"] for p in body["not_proposed"]}
    assert "impact period" in reasons[blocked] and "quota of 3" in reasons[cadres[4]]
    for c in proposed:
        ok = await scoring.client.post(f"{API}/ratings/2025/{c}/confirm", headers=scoring.auth())
        assert ok.status_code == 200, ok.text
    twice = await scoring.client.post(f"{API}/ratings/2025/{veteran}/confirm", headers=scoring.auth())
    assert twice.status_code == 409
    confirmed = [e for e in await scoring.outbox() if e["type"] == "scoring.rating.confirmed"]
    assert len(confirmed) == 4


async def test_key_post_special_appraisal_is_shown_beside_the_ordinary_one(scoring: ScoringHarness) -> None:
    unit = await scoring.unit()
    cadre = await scoring.cadre(unit)
    post = await scoring.client.post(
        f"{API}/key-posts", json={"title": "招商科科长", "unit_id": unit["unit_id"]}, headers=scoring.auth()
    )
    assert post.status_code == 201
    special = await scoring.client.post(
        f"{API}/key-posts/{post.json()['id']}/appraisals",
        json={"cadre_id": cadre, "year": 2025, "special_assessment": "优秀", "inspection": "无问题", "audit": "无问题"},
        headers=scoring.auth(),
    )
    assert special.status_code == 201, special.text
    await scoring.client.put(
        f"{API}/appraisals/2025/{cadre}",
        json={"ratings": {"party_committee": 90, "public": 80, "organization": 70}, "latent": {"基础工作": 85}},
        headers=scoring.auth(),
    )
    view = (await scoring.client.get(f"{API}/appraisals/2025/{cadre}", headers=scoring.auth("portal"))).json()
    assert view["appraisal"]["weighted"] == "81.00"  # 0.4·90 + 0.3·80 + 0.3·70
    assert view["appraisal"]["latent_achievements"]["mean"] == "85.00"
    assert view["appraisal"]["visible_achievements"]["mean"] is None
    assert view["key_post_appraisals"][0]["key_post"]["title"] == "招商科科长"
    bad = await scoring.client.put(
        f"{API}/appraisals/2025/{cadre}",
        json={"ratings": {"party_committee": 190, "public": 80, "organization": 70}},
        headers=scoring.auth(),
    )
    assert bad.status_code == 422


async def test_standing_answers_total_counts_and_rank_at_once(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    unit = await scoring.unit()
    low, high = await scoring.cadre(unit, "甲"), await scoring.cadre(unit, "乙")
    await scoring.scored(low, "P04")
    await scoring.scored(high, "P01")
    sanction = await scoring.scored(high, "N04")
    await scoring.client.post(
        f"{API}/entries/{sanction['id']}/waiver", json={"reference": "容", "reason": "容错"}, headers=scoring.auth()
    )
    await scoring.propose(high, "P02")
    resp = await scoring.client.get(
        f"{API}/cadres/{high}/standing", params={"year": 2025}, headers=scoring.auth("portal")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["total"], body["rank"], body["ranked"]) == ("0.60", 1, 2)
    assert body["entries"] == {"approved": 2, "reversals": 0, "waived": 1, "pending": 1}


async def test_every_cadres_standing_rank_is_its_place_in_the_rankings(scoring: ScoringHarness) -> None:
    """``standing`` counts one cadre's rank instead of ranking the city: the same rule, ties
    at every level included (an exact tie goes by cadre id)."""
    await scoring.publish_default(2025)
    city = await scoring.unit("平湖市")
    organ = await scoring.unit("市发改局", parent=city)
    cadres = {name: await scoring.cadre(organ, name) for name in ("甲", "乙", "丙", "丁", "戊", "己")}
    for name, rules in {
        "甲": ["P01"],  # 0.60
        "乙": ["P01"],  # 0.60, level with 甲 on all three: the id decides
        "丙": ["P03", "P04", "P04", "N05"],  # 0.60 too, but earned more
        "丁": ["P01", "P01"],  # 1.20
        "戊": [],  # nothing this year: zero
    }.items():
        for rule in rules:
            await scoring.scored(cadres[name], rule)
    left = await scoring.cadre(organ, "庚", status="left")
    ranked = await scoring.client.get(f"{API}/rankings", params={"year": 2025}, headers=scoring.auth())
    places = {i["cadre_id"]: i["rank"] for i in ranked.json()["items"]}
    assert len(places) == 6 and left not in places
    for cadre_id in [*cadres.values(), left]:
        resp = await scoring.client.get(
            f"{API}/cadres/{cadre_id}/standing", params={"year": 2025}, headers=scoring.auth()
        )
        assert resp.status_code == 200, resp.text
        assert (resp.json()["rank"], resp.json()["ranked"]) == (places.get(cadre_id), 6)
    assert places[cadres["丁"]] == 1 and places[cadres["丙"]] == 2
    assert {places[cadres["甲"]], places[cadres["乙"]]} == {3, 4}
    assert places[min(cadres["甲"], cadres["乙"])] == 3
