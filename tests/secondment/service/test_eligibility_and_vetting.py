from __future__ import annotations

from tests.secondment.conftest import SecondmentHarness
from tests.secondment.service.test_foshan_batch import SOUND
from tests.secondment.service.test_rules_and_bad_input import fields, small_world


async def test_an_ineligible_nominee_is_refused_rule_by_rule(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    organ = w["organ"]
    veteran = await sec.cadre(organ, name="老基层", grassroots_years="3.1", strengths=["文字材料"])
    url = f"/batches/{w['batch']['id']}"
    check = (await sec.get(f"{url}/eligibility", cadre_id=veteran["cadre_id"], pair_id=w["pair"]["id"])).json()
    assert check["eligible"] is False and check["direction"] == "city_to_grassroots"
    failed = {r["rule"]: r["detail"] for r in check["rules"] if not r["passed"]}
    assert set(failed) == {"needed_specialty", "grassroots_experience_under_2_years"}
    assert "3.1 years" in failed["grassroots_experience_under_2_years"]
    resp = await sec.post(
        f"{url}/nominations", {"cadre_id": veteran["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "x"}
    )
    assert resp.status_code == 422 and fields(resp) == ["cadre_id", "cadre_id"]
    assert [e["rule"] for e in resp.json()["errors"]] == ["needed_specialty", "grassroots_experience_under_2_years"]
    assert len(resp.json()["eligibility"]) == 7
    assert await sec.count("secondments") == 0 and await sec.count("outbox") == 0


async def test_retiring_within_the_term_is_ineligible(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    rule_text = "55 years (original age 55, delayed 0 months; NPCSC decision of 13 September 2024)"
    old = await sec.cadre(
        w["organ"], name="将退", strengths=["科技创新"], retirement_date="2019-06-30", retirement_rule=rule_text
    )
    check = (
        await sec.get(f"/batches/{w['batch']['id']}/eligibility", cadre_id=old["cadre_id"], pair_id=w["pair"]["id"])
    ).json()
    [rule] = [r for r in check["rules"] if not r["passed"]]
    assert rule["rule"] == "not_retiring_within_term" and "2020-02-29" in rule["detail"]
    assert rule["detail"].startswith(f"retires on 2019-06-30 ({rule_text})"), "the date comes with its rule"


async def test_grassroots_performance_from_points_or_the_office_judgement(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    url = f"/batches/{w['batch']['id']}"
    up = w["up"]["cadre_id"]
    unscored = (await sec.get(f"{url}/eligibility", cadre_id=up, pair_id=w["pair"]["id"])).json()
    assert not unscored["eligible"] and unscored["direction"] == "grassroots_to_city"
    # points of 2017 (the year before the batch) against nine other grassroots cadres
    for i in range(9):
        other = await sec.cadre(w["town"], name=f"镇干部{i}")
        await sec.score(other["cadre_id"], 2017, f"{i}.00")
    await sec.score(up, 2017, "7.50")
    ranked = (await sec.get(f"{url}/eligibility", cadre_id=up, pair_id=w["pair"]["id"])).json()
    perf = next(r for r in ranked["rules"] if r["rule"] == "strong_performer")
    assert ranked["eligible"] and "rank 2 of 10" in perf["detail"]
    await sec.score(up, 2017, "5.00")  # a later scoring.score.changed replaces the total
    lower = (await sec.get(f"{url}/eligibility", cadre_id=up, pair_id=w["pair"]["id"])).json()
    assert not lower["eligible"]
    judged = (
        await sec.get(f"{url}/eligibility", cadre_id=up, pair_id=w["pair"]["id"], performance_judgement="strong")
    ).json()
    assert judged["eligible"]


async def test_vetting_in_parts_and_the_discipline_opinion_is_masked_and_audited(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    n = await sec.ok(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "x"},
        201,
    )
    part = await sec.ok(f"/secondments/{n['id']}/vetting", {"political_quality": "sound", "results": "sound"})
    assert part["state"] == "nominated" and not part["vetting"]["complete"]
    assert "discipline_reference" in part["vetting"]["missing"]
    concern = await sec.ok(
        f"/secondments/{n['id']}/vetting", {**SOUND, "integrity": "concerns", "discipline_opinion": "曾被诫勉"}
    )
    assert concern["state"] == "nominated" and concern["vetting"]["concerns"] == ["integrity"]
    masked = (await sec.get(f"/secondments/{n['id']}/vetting")).json()
    assert masked["discipline_opinion"] == "******" and masked["discipline_opinion_masked"]
    assert "曾被诫勉" not in (await sec.get(f"/secondments/{n['id']}")).text
    portal = await sec.client.get(f"/api/v1/secondment/secondments/{n['id']}/vetting", headers=sec.auth("portal"))
    assert portal.status_code == 403
    no_reason = await sec.get(f"/secondments/{n['id']}/vetting", reveal="true")
    assert no_reason.status_code == 422 and fields(no_reason) == ["reason"]
    revealed = (await sec.get(f"/secondments/{n['id']}/vetting", reveal="true", reason="审批前复核")).json()
    assert revealed["discipline_opinion"] == "曾被诫勉"
    # the kit's audit route, which every service serves alike
    audit = (await sec.get("/audit/personal-data-reads", role="auditor")).json()["items"]
    assert [(a["subject_id"], a["reason"], a["actor"], a["fields"]) for a in audit] == [
        (w["down"]["cadre_id"], "审批前复核", "officer-user", "discipline_opinion")
    ]
    assert (await sec.get("/audit/personal-data-reads")).status_code == 403  # an officer reads, not audits
    fixed = await sec.ok(f"/secondments/{n['id']}/vetting", {"integrity": "sound"})
    assert fixed["state"] == "vetted" and fixed["vetting"]["passed"]


async def test_roles(sec: SecondmentHarness) -> None:
    resp = await sec.post("/batches", {"name": "x", "year": 2018, "starts_on": "2018-03-01"}, role="portal")
    assert resp.status_code == 403
    hr = await sec.client.get("/api/v1/secondment/batches", headers=sec.auth("unit_hr", unit_scope=["u1"]))
    assert hr.status_code == 403
    assert (await sec.client.get("/api/v1/secondment/batches")).status_code == 401
    assert (await sec.get("/batches", role="portal")).status_code == 200


async def test_a_units_hr_reads_only_secondments_from_or_to_its_units(sec: SecondmentHarness) -> None:
    w = await small_world(sec)
    far_town = await sec.unit("杨和镇", "town", "高明")
    far = await sec.cadre(far_town, name="远处")
    loose = await sec.ok(
        "/batches", {"name": "单向", "year": 2018, "starts_on": "2018-03-01", "allow_unpaired": True}, 201
    )
    mine = await sec.ok(
        f"/batches/{w['batch']['id']}/nominations",
        {"cadre_id": w["down"]["cadre_id"], "pair_id": w["pair"]["id"], "title_held": "副镇长"},
        201,
    )
    other = await sec.ok(
        f"/batches/{loose['id']}/nominations",
        {
            "cadre_id": far["cadre_id"],
            "to_unit_id": w["organ"]["unit_id"],
            "title_held": "科员",
            "performance_judgement": "strong",
        },
        201,
    )
    hr = sec.auth("unit_hr", unit_scope=[w["town"]["unit_id"]])
    listed = (await sec.client.get("/api/v1/secondment/secondments", headers=hr)).json()["items"]
    assert [x["id"] for x in listed] == [mine["id"]]  # sent to the town
    assert (await sec.client.get(f"/api/v1/secondment/secondments/{mine['id']}", headers=hr)).status_code == 200
    hidden = await sec.client.get(f"/api/v1/secondment/secondments/{other['id']}", headers=hr)
    assert hidden.status_code == 404
    organ_hr = sec.auth("unit_hr", unit_scope=[w["organ"]["unit_id"]])
    both = (await sec.client.get("/api/v1/secondment/secondments", headers=organ_hr)).json()["items"]
    assert {x["id"] for x in both} == {mine["id"], other["id"]}
    # The same scope holds an officer: a secondment neither from nor to the town is unknown to it.
    scoped_officer = sec.auth("officer", unit_scope=[w["town"]["unit_id"]])
    write = await sec.client.post(
        f"/api/v1/secondment/secondments/{other['id']}/withdraw", headers=scoped_officer, json={"reason": "试试"}
    )
    assert write.status_code == 404
    assert (await sec.get(f"/secondments/{other['id']}")).json()["state"] == "nominated"
    stats = await sec.client.get(f"/api/v1/secondment/batches/{w['batch']['id']}/stats", headers=hr)
    assert stats.status_code == 403


async def test_the_openapi_document_describes_the_answers(sec: SecondmentHarness) -> None:
    doc = (await sec.client.get("/openapi.json")).json()
    paths = doc["paths"]
    assert "/api/v1/secondment/batches/{batch_id}/stats" in paths and "/api/v1/secondment/reserve-pool" in paths
    stats = paths["/api/v1/secondment/batches/{batch_id}/stats"]["get"]["responses"]["200"]
    assert stats["content"]["application/json"]["schema"]["$ref"].endswith("/BatchStats")
    assert "VettingPublic" in doc["components"]["schemas"]
    catalog = (await sec.client.get("/events/catalog")).json()
    assert catalog["topic"] == "secondment.events"
    ended = catalog["events"]["secondment.ended"]
    assert {"days_served", "grassroots_days", "ended_on", "end_kind"} <= set(ended["required"]) and ended["summary"]
