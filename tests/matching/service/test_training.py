"""A training campaign (Pinghu 百岗大练兵): tutors one-to-one, plans, inspections, growth index
as an event and as a term of a later campaign's fit."""

from __future__ import annotations

from tests.matching.conftest import API, MatchingHarness

FUTURE = "2035-01-01"


async def test_tutors_plans_inspections_and_growth(matching: MatchingHarness) -> None:
    city = await matching.unit("平湖市", "city")
    organ = await matching.unit("市发改局", "city_organ", parent_path=[city])
    trainees = [
        await matching.cadre(organ, retirement_date=FUTURE, leadership_status="non_leading", years_of_service=8)
        for _ in range(2)
    ]
    mentors = [
        await matching.cadre(organ, retirement_date=FUTURE, leadership_status="in_post", years_of_service=y)
        for y in (28, 20)
    ]
    other_field = await matching.cadre(
        organ, retirement_date=FUTURE, leadership_status="in_post", years_of_service=35, professional_field="农业"
    )
    c = await matching.campaign(name="百岗大练兵", kind="training", year=2021)
    cid = c["id"]
    t1, t2 = (t["cadre_id"] for t in trainees)
    await matching.put(f"/campaigns/{cid}/pool", {"cadre_ids": [t1, t2]}, 200)

    ranked = (await matching.get(f"/campaigns/{cid}/trainees/{t1}/tutor-suggestions")).json()
    ids = [r["cadre_id"] for r in ranked]
    assert ids[:2] == [mentors[0]["cadre_id"], mentors[1]["cadre_id"]]  # same field, most senior first
    assert ids[2] == other_field["cadre_id"] and t2 not in ids  # trainees are never tutors

    trainee_as_tutor = await matching.put(f"/campaigns/{cid}/trainees/{t1}/tutor", {"tutor_id": t2})
    assert trainee_as_tutor.status_code == 422 and trainee_as_tutor.json()["errors"][0]["field"] == "tutor_id"
    await matching.put(f"/campaigns/{cid}/trainees/{t1}/tutor", {"tutor_id": mentors[0]["cadre_id"]}, 200)
    taken = await matching.put(f"/campaigns/{cid}/trainees/{t2}/tutor", {"tutor_id": mentors[0]["cadre_id"]})
    assert taken.status_code == 409  # one trainee per tutor unless the campaign allows more
    await matching.put(f"/campaigns/{cid}/trainees/{t2}/tutor", {"tutor_id": mentors[1]["cadre_id"]}, 200)
    after = [r["cadre_id"] for r in (await matching.get(f"/campaigns/{cid}/trainees/{t2}/tutor-suggestions")).json()]
    assert mentors[0]["cadre_id"] not in after and mentors[1]["cadre_id"] not in after
    assert len(await matching.outbox("matching.tutor.assigned")) == 2

    plan = {"duties": ["招商项目跟进"], "goals": ["熟悉镇街工作"], "starts_on": "2021-03-01", "ends_on": "2021-12-31"}
    made = await matching.put(f"/campaigns/{cid}/trainees/{t1}/plan", plan, 200)
    assert made.json()["tutor_id"] == mentors[0]["cadre_id"] and made.json()["version"] == 1
    backwards = await matching.put(f"/campaigns/{cid}/trainees/{t1}/plan", {**plan, "ends_on": "2021-01-01"})
    assert backwards.status_code == 422
    stale = await matching.client.put(
        f"{API}/campaigns/{cid}/trainees/{t1}/plan", headers={**matching.auth(), "If-Match": '"v7"'}, json=plan
    )
    assert stale.status_code == 412

    for day, marks in (("2021-05-10", (60, 60)), ("2021-09-10", (90, 90))):
        body = {
            "inspected_on": day,
            "ratings": [
                {"role": "tutor", "rater": "导师", "performance": marks[0], "adaptation": marks[1]},
                {"role": "public", "rater": "群众代表", "performance": marks[0], "adaptation": marks[1]},
            ],
        }
        await matching.post(f"/campaigns/{cid}/trainees/{t1}/inspections", body, expect=201)
    bad = await matching.post(
        f"/campaigns/{cid}/trainees/{t1}/inspections",
        {
            "inspected_on": "2021-10-01",
            "ratings": [{"role": "tutor", "rater": "x", "performance": 101, "adaptation": 1}],
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ratings.0.performance"
    growth = (await matching.get(f"/campaigns/{cid}/trainees/{t1}/growth-index")).json()
    assert growth["value"] == "80.00" and growth["inspections"] == 2
    updates = await matching.outbox("matching.growth_index.updated")
    assert [e["data"]["value"] for e in updates] == ["60.00", "80.00"]

    # a later campaign may weigh the growth index as a sixth fit term
    later = await matching.campaign(name="2022年选拔", year=2022, weights={"growth": "10"})
    await matching.add_post(later["id"], organ)
    await matching.put(f"/campaigns/{later['id']}/pool", {"cadre_ids": [t1]}, 200)
    table = (await matching.get(f"/campaigns/{later['id']}/balance-table")).json()
    term = table["posts"][0]["shortlist"][0]["breakdown"]["growth"]
    assert term == {"label": "成长指数", "value": "0.8000", "weight": "10", "contribution": "8.00"}

    placement = await matching.campaign(name="非练兵")
    wrong = await matching.put(
        f"/campaigns/{placement['id']}/trainees/{t1}/tutor", {"tutor_id": mentors[0]["cadre_id"]}
    )
    assert wrong.status_code == 409
