"""A Pinghu-like campaign through the API: pool with exclusions, preferences, balance table,
runs, overrides, confirmation and the events it records."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from python_calamine import CalamineWorkbook

from tests.matching.conftest import API, MatchingHarness

FUTURE = "2030-01-01"


async def _setup(h: MatchingHarness) -> dict:
    city = await h.unit("平湖市", "city")
    econ = await h.unit("市发改局", "city_organ", parent_path=[city])
    town = await h.unit("当湖街道", "town", parent_path=[city], region="当湖")
    ok = [await h.cadre(econ, retirement_date=FUTURE) for _ in range(5)]
    retiring = await h.cadre(econ, retirement_date="2022-09-30")
    ill = await h.cadre(econ, retirement_date=FUTURE, health="exempt")
    seconded = await h.cadre(econ, retirement_date=FUTURE)
    in_post = await h.cadre(econ, retirement_date=FUTURE, leadership_status="in_post")
    await h.deliver(
        "secondment.started",
        seconded["cadre_id"],
        {
            "cadre_id": seconded["cadre_id"],
            "secondment_id": "s-1",
            "starts_on": "2021-09-01",
            "ends_on": "2023-08-31",
            "direction": "city_to_grassroots",
            "version": 3,  # nominated 1, approved 2, started 3, as the producer counts
            "programme_note": "第二批",  # a field the contract does not know: tolerated
        },
    )
    c = await h.campaign()
    p1 = await h.add_post(c["id"], econ, title="招商专班", seats=2, required_strengths=["招商引资"])
    p2 = await h.add_post(c["id"], town, title="重点工程", category="城建交通", kind="phased", term_months=6)
    p3 = await h.add_post(c["id"], town, title="信访维稳", category="社会管理", seats=1)
    return {
        "city": city,
        "econ": econ,
        "town": town,
        "ok": ok,
        "retiring": retiring,
        "ill": ill,
        "seconded": seconded,
        "in_post": in_post,
        "campaign": c,
        "posts": [p1, p2, p3],
    }


async def test_pool_by_filter_lists_every_exclusion_with_its_reason(matching: MatchingHarness) -> None:
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    pool = (await matching.put(f"/campaigns/{cid}/pool", {"filter": {"leadership_status": "second_line"}}, 200)).json()
    assert {e["cadre_id"] for e in pool["eligible"]} == {c["cadre_id"] for c in s["ok"]}
    reasons = {e["cadre_id"]: e["reason"] for e in pool["excluded"]}
    assert reasons == {
        s["retiring"]["cadre_id"]: "retiring",
        s["ill"]["cadre_id"]: "health_exempt",
        s["seconded"]["cadre_id"]: "seconded",
    }
    assert s["in_post"]["cadre_id"] not in reasons  # not second-line: not in the pool at all
    excluded = {e["cadre_id"]: e["detail"] for e in pool["excluded"]}
    assert excluded[s["seconded"]["cadre_id"]] == "seconded until 2023-08-31"
    extended = {
        "cadre_id": s["seconded"]["cadre_id"],
        "secondment_id": "s-1",
        "starts_on": "2021-09-01",
        "ends_on": "2024-02-29",
        "months": 6,
        "version": 4,
    }
    await matching.deliver("secondment.extended", s["seconded"]["cadre_id"], extended)
    details = {e["cadre_id"]: e["detail"] for e in (await matching.get(f"/campaigns/{cid}/pool")).json()["excluded"]}
    assert details[s["seconded"]["cadre_id"]] == "seconded until 2024-02-29"
    # extended again; then the first extension, dead-lettered and replayed, comes back late:
    # an older version, it changes nothing
    await matching.deliver(
        "secondment.extended", s["seconded"]["cadre_id"], {**extended, "ends_on": "2024-08-31", "version": 5}
    )
    await matching.deliver("secondment.extended", s["seconded"]["cadre_id"], extended)
    details = {e["cadre_id"]: e["detail"] for e in (await matching.get(f"/campaigns/{cid}/pool")).json()["excluded"]}
    assert details[s["seconded"]["cadre_id"]] == "seconded until 2024-08-31"
    # the secondment ends: the cadre is available again on the next read
    await matching.deliver(
        "secondment.ended",
        s["seconded"]["cadre_id"],
        {"cadre_id": s["seconded"]["cadre_id"], "secondment_id": "s-1", "ended_on": "2021-12-01", "version": 6},
    )
    again = (await matching.get(f"/campaigns/{cid}/pool")).json()
    assert s["seconded"]["cadre_id"] in {e["cadre_id"] for e in again["eligible"]}
    # the start, dead-lettered once and replayed after the end (a new delivery, an older
    # version): the secondment stays ended and the cadre available
    replayed = {**extended, "ends_on": "2023-08-31", "version": 3}
    del replayed["months"]
    assert await matching.deliver("secondment.started", s["seconded"]["cadre_id"], replayed)
    after = (await matching.get(f"/campaigns/{cid}/pool")).json()
    assert s["seconded"]["cadre_id"] in {e["cadre_id"] for e in after["eligible"]}


async def test_a_whole_campaign_from_draft_to_confirmed(matching: MatchingHarness) -> None:
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    p1, p2, p3 = s["posts"]
    await matching.put(f"/campaigns/{cid}/pool", {"filter": {"leadership_status": "second_line"}}, 200)
    opened = await matching.post(f"/campaigns/{cid}/open", None, expect=200)
    assert opened.json()["status"] == "open"
    a, b, c, d, e = (x["cadre_id"] for x in s["ok"])
    await matching.put(f"/campaigns/{cid}/preferences/cadres/{a}", {"posts": [p3["id"], p1["id"]]}, 200)
    await matching.put(f"/campaigns/{cid}/preferences/posts/{p3['id']}", {"cadres": [b, a]}, 200)
    await matching.put(f"/campaigns/{cid}/preferences/cadres/{b}", {"posts": [p3["id"]]}, 200)

    table = (await matching.get(f"/campaigns/{cid}/balance-table")).json()
    by_post = {row["post_id"]: row for row in table["posts"]}
    assert [r["cadre_id"] for r in by_post[p3["id"]]["shortlist"]] == [b, a]  # the post's own order
    assert by_post[p3["id"]]["flags"] == []
    assert len(by_post[p1["id"]]["shortlist"]) == 4  # two seats at 1:2
    first = by_post[p1["id"]]["shortlist"][0]
    assert sum(Decimal(t["contribution"]) for t in first["breakdown"].values()) == Decimal(first["fit"])

    run = await matching.run(cid, {"method": "stable"})
    assert run["status"] == "succeeded" and run["progress"] == 100
    assert run["summary"]["placed"] == 4 and run["summary"]["excluded"] == 3
    results = await matching.results(cid, run["id"])
    assert results[b]["post_id"] == p3["id"] and results[b]["post_rank"] == 1 and results[b]["cadre_rank"] == 1
    # a ranked p1 second: a lower wish term than c, d, e who wished its category first
    assert [results[x]["post_id"] for x in (c, d, e)].count(p1["id"]) == 2
    unplaced = [r for r in results.values() if r["post_id"] is None and r["reason"] != "excluded"]
    assert [(r["cadre_id"], r["reason"]) for r in unplaced] == [(a, "outranked_everywhere")]
    assert results[s["retiring"]["cadre_id"]]["detail"].startswith("retiring")
    assert (await matching.get(f"/campaigns/{cid}")).json()["status"] == "matched"

    late = await matching.put(f"/campaigns/{cid}/preferences/cadres/{a}", {"posts": [p1["id"]]})
    assert late.status_code == 409 and late.headers["content-type"] == "application/problem+json"

    # the office moves the unplaced cadre onto the phased post's free seat? it is full: refused
    loser = unplaced[0]["cadre_id"]
    full = await matching.post(
        f"/campaigns/{cid}/runs/{run['id']}/overrides", {"cadre_id": loser, "post_id": p2["id"], "reason": "组织安排"}
    )
    assert full.status_code == 409
    # …so it takes the seat of the cadre placed there, who is moved off first
    holder = next(r["cadre_id"] for r in results.values() if r["post_id"] == p2["id"])
    await matching.post(
        f"/campaigns/{cid}/runs/{run['id']}/overrides",
        {"cadre_id": holder, "post_id": None, "reason": "本人身体原因申请调整"},
        expect=200,
    )
    moved = await matching.post(
        f"/campaigns/{cid}/runs/{run['id']}/overrides",
        {"cadre_id": loser, "post_id": p2["id"], "reason": "组织安排"},
        expect=200,
    )
    assert moved.json()["overridden"] and moved.json()["fit"] is not None
    history = (await matching.get(f"/campaigns/{cid}/runs/{run['id']}/overrides")).json()
    assert [(o["cadre_id"], o["to_post_id"]) for o in history] == [(holder, None), (loser, p2["id"])]

    confirmed = await matching.post(f"/campaigns/{cid}/confirm", {}, expect=200)
    assert confirmed.json()["placements"] == 4 and confirmed.json()["campaign"]["status"] == "confirmed"
    events = await matching.outbox("matching.placement.confirmed")
    assert len(events) == 4
    phased = next(ev for ev in events if ev["data"]["cadre_id"] == loser)
    assert phased["data"]["post_kind"] == "phased" and phased["data"]["term_months"] == 6
    assert phased["data"]["host_unit_id"] == s["town"] and phased["subject"] == f"cadre/{loser}"
    # the campaign's start (the posts have none): six months from 2022-03-01 end on 2022-08-31
    assert (phased["data"]["starts_on"], phased["data"]["ends_on"]) == ("2022-03-01", "2022-08-31")
    assert {ev["data"]["starts_on"] for ev in events} == {"2022-03-01"}
    twice = await matching.post(f"/campaigns/{cid}/confirm", {})
    assert twice.status_code == 409
    assert len(await matching.outbox("matching.placement.confirmed")) == 4
    assert [e["type"] for e in await matching.outbox("matching.campaign.opened")] == ["matching.campaign.opened"]
    assert len(await matching.outbox("matching.run.completed")) == 1

    mine = (await matching.get(f"/cadres/{loser}/placements", role="portal")).json()["items"]
    assert [(x["campaign_id"], x["post_id"], x["post_kind"]) for x in mine] == [(cid, p2["id"], "phased")]
    assert mine[0]["ends_on"] is not None
    catalog = (await matching.client.get("/events/catalog")).json()
    assert {"matching.placement.confirmed", "matching.growth_index.updated"} <= set(catalog["events"])

    # placed cadres are "already placed" for another campaign of the same year
    other = await matching.campaign(name="第二批")
    pool = (await matching.put(f"/campaigns/{other['id']}/pool", {"cadre_ids": [b, loser]}, 200)).json()
    assert {x["reason"] for x in pool["excluded"]} == {"already_placed"}


async def test_a_what_if_run_leaves_the_campaign_open_and_optimal_totals_at_least_stable(
    matching: MatchingHarness,
) -> None:
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    await matching.put(f"/campaigns/{cid}/pool", {"filter": {"leadership_status": "second_line"}}, 200)
    await matching.post(f"/campaigns/{cid}/open", None, expect=200)
    stable = await matching.run(cid, {"method": "stable", "what_if": True})
    best = await matching.run(cid, {"method": "optimal", "what_if": True})
    assert best["summary"]["solver"] == "min_cost_flow"
    assert Decimal(best["summary"]["total_fit"]) >= Decimal(stable["summary"]["total_fit"])
    again = await matching.run(cid, {"method": "optimal", "what_if": True})
    first = {k: v["post_id"] for k, v in (await matching.results(cid, best["id"])).items()}
    assert {k: v["post_id"] for k, v in (await matching.results(cid, again["id"])).items()} == first
    assert (await matching.get(f"/campaigns/{cid}")).json()["status"] == "open"
    refused = await matching.post(f"/campaigns/{cid}/confirm", {})
    assert refused.status_code == 409  # no real run yet; a what-if one must be named
    ok = await matching.post(f"/campaigns/{cid}/confirm", {"run_id": best["id"]}, expect=200)
    assert ok.json()["run_id"] == best["id"]


async def test_score_events_move_the_points_term(matching: MatchingHarness) -> None:
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    a = s["ok"][0]["cadre_id"]
    await matching.put(f"/campaigns/{cid}/pool", {"cadre_ids": [a]}, 200)

    def points_of(table: dict) -> str:
        row = next(r for r in table["posts"][0]["shortlist"] if r["cadre_id"] == a)
        return str(row["breakdown"]["points"]["value"])

    assert points_of((await matching.get(f"/campaigns/{cid}/balance-table")).json()) == "0.0000"
    event = {
        "cadre_id": a,
        "year": 2022,
        "total": "1.20",
        "previous_total": "0.60",
        "delta": "0.60",
        "cause_entry_id": "e-1",
        "catalogue_version": 2,
    }
    assert await matching.deliver("scoring.score.changed", a, event)
    assert points_of((await matching.get(f"/campaigns/{cid}/balance-table")).json()) == "0.4000"


async def test_balance_table_exports_as_xlsx(matching: MatchingHarness) -> None:
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    await matching.put(f"/campaigns/{cid}/pool", {"filter": {"leadership_status": "second_line"}}, 200)
    resp = await matching.get(f"/campaigns/{cid}/balance-table/export")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    rows = CalamineWorkbook.from_filelike(BytesIO(resp.content)).get_sheet_by_name("选配平衡表").to_python()
    assert rows[0][:4] == ["岗位", "类别", "性质", "职数"]
    assert len(rows) == 1 + 4 + 2 + 2  # 1:2 for 2 + 1 + 1 seats


async def test_qichun_split_by_body_through_the_api(matching: MatchingHarness) -> None:
    county = await matching.unit("蕲春县", "city")
    bodies = {"party_committee": 3, "people_congress": 4, "government": 9, "cppcc": 3}
    c = await matching.campaign(name="副县级干部二次分工", year=2021)
    for body in bodies:
        unit = await matching.unit(f"县{body}", "city_organ", body=body, parent_path=[county])
        for n in range(3):
            await matching.add_post(c["id"], unit, title=f"{body}-{n}", seats=3, category="党政群团")
    cadres = [
        await matching.cadre(county, retirement_date=FUTURE, post_wishes=["党政群团"], rank="副处") for _ in range(19)
    ]
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": [x["cadre_id"] for x in cadres]}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    quotas = [{"dimension": "body", "value": b, "min": k, "max": k} for b, k in bodies.items()]
    run = await matching.run(c["id"], {"method": "optimal", "quotas": quotas})
    assert run["status"] == "succeeded", run
    posts = {p["id"]: p["title"].split("-")[0] for p in (await matching.get(f"/campaigns/{c['id']}/posts")).json()}
    placed = [r["post_id"] for r in (await matching.results(c["id"], run["id"])).values() if r["post_id"]]
    assert {b: sum(1 for p in placed if posts[p] == b) for b in bodies} == bodies


async def test_confirmation_needs_a_business_start_date_never_the_day_of_confirmation(
    matching: MatchingHarness,
) -> None:
    """Issue 17: a standing move was recorded as effective the day after confirmation (the
    server's clock) when the post had no starts_on, for a 2022 campaign confirmed today."""
    city = await matching.unit("平湖市", "city")
    econ = await matching.unit("市发改局", "city_organ", parent_path=[city])
    people = [(await matching.cadre(econ, retirement_date=FUTURE))["cadre_id"] for _ in range(3)]
    c = await matching.campaign(starts_on=None)
    assert c["starts_on"] is None
    await matching.add_post(c["id"], econ, title="招商专班", seats=1)
    await matching.add_post(c["id"], econ, title="重点工程", kind="phased", term_months=12)
    await matching.add_post(c["id"], econ, title="自带日期", seats=1, starts_on="2022-05-01")
    await matching.put(f"/campaigns/{c['id']}/pool", {"cadre_ids": people}, 200)
    await matching.post(f"/campaigns/{c['id']}/open", None, expect=200)
    run = await matching.run(c["id"], {"method": "stable"})
    assert run["status"] == "succeeded"
    refused = await matching.post(f"/campaigns/{c['id']}/confirm", {})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["errors"][0]["field"] == "starts_on" and "招商专班" in problem["errors"][0]["message"]
    assert "自带日期" not in problem["errors"][0]["message"]  # that post has its own start
    assert await matching.outbox("matching.placement.confirmed") == []

    url = f"{API}/campaigns/{c['id']}"
    version = (await matching.get(f"/campaigns/{c['id']}")).json()["version"]
    patched = await matching.client.patch(
        url, headers={**matching.auth(), "If-Match": f'"v{version}"'}, json={"starts_on": "2022-03-01"}
    )
    assert patched.status_code == 200, patched.text  # a matched campaign may still be given its start
    await matching.post(f"/campaigns/{c['id']}/confirm", {}, expect=200)
    events = {e["data"]["post_title"]: e["data"] for e in await matching.outbox("matching.placement.confirmed")}
    assert (events["招商专班"]["starts_on"], events["招商专班"]["ends_on"]) == ("2022-03-01", None)
    assert (events["重点工程"]["starts_on"], events["重点工程"]["ends_on"]) == ("2022-03-01", "2023-02-28")
    assert events["自带日期"]["starts_on"] == "2022-05-01"


async def test_a_wish_about_an_excluded_cadre_is_kept_with_a_warning(matching: MatchingHarness) -> None:
    """Issue 17: wishes for an excluded (retiring) cadre were accepted with no word."""
    s = await _setup(matching)
    cid = s["campaign"]["id"]
    p1 = s["posts"][0]
    await matching.put(f"/campaigns/{cid}/pool", {"filter": {"leadership_status": "second_line"}}, 200)
    retiring, fine = s["retiring"]["cadre_id"], s["ok"][0]["cadre_id"]

    own = (await matching.put(f"/campaigns/{cid}/preferences/cadres/{retiring}", {"posts": [p1["id"]]}, 200)).json()
    assert own["posts"] == [p1["id"]]  # kept
    assert [(w["cadre_id"], w["reason"]) for w in own["warnings"]] == [(retiring, "retiring")]
    assert (
        "excluded from the pool" in own["warnings"][0]["message"] and "偏好已保存" in own["warnings"][0]["message_zh"]
    )

    ranked = (
        await matching.put(f"/campaigns/{cid}/preferences/posts/{p1['id']}", {"cadres": [fine, retiring]}, 200)
    ).json()
    assert ranked["ranking"] == [fine, retiring]
    assert [w["cadre_id"] for w in ranked["warnings"]] == [retiring]
    clean = (await matching.put(f"/campaigns/{cid}/preferences/cadres/{fine}", {"posts": [p1["id"]]}, 200)).json()
    assert clean["warnings"] == []
