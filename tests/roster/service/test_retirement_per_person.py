"""A cadre's retirement as the law keys it (issue 17): a category recorded per person, recorded
earlier or later retirements, the rule shown with every date, an explicit date winning, and
rows derived under another rule set derived again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import RosterHarness
from tests.roster.service.test_imports import TEMPLATE_HEADERS, row_of, run_import, xlsx

API = "/api/v1/roster"


async def patch(roster: RosterHarness, cadre: dict[str, Any], body: dict[str, Any], **headers: str) -> Any:
    current = (await roster.client.get(f"{API}/cadres/{cadre['id']}", headers=roster.auth())).json()
    return await roster.client.patch(
        f"{API}/cadres/{cadre['id']}",
        headers={**roster.auth(), "If-Match": f'"v{current["version"]}"', **headers},
        json=body,
    )


async def test_the_rule_comes_with_the_date_and_a_recorded_category_replaces_the_default(
    roster: RosterHarness,
) -> None:
    """Qichun's 副处级 woman born May 1964 retires at 60 under 组通字〔2015〕14号; recorded as
    a woman cadre (original age 55) she retires at 55, born before 1970, undelayed."""
    unit = await roster.unit()
    senior = await roster.cadre(unit["id"], gender="female", birth_date="1964-05-10", rank="副处")
    r = senior["retirement"]
    assert (r["date"], r["basis"], r["category"], r["category_is_set"]) == (
        "2024-05-10",
        "statutory",
        "senior_women",
        False,
    )
    assert "组通字〔2015〕14号" in r["rule_zh"] and "60" in r["rule"]
    assert r["category_zh"].startswith("处级及以上女干部")

    changed = await patch(roster, senior, {"retirement_category": "women_cadres"})
    assert changed.status_code == 200, changed.text
    r = changed.json()["retirement"]
    assert (r["date"], r["category"], r["category_is_set"]) == ("2019-05-10", "women_cadres", True)
    assert r["rule_zh"].startswith("55周岁（原法定退休年龄55周岁，延迟0个月")
    history = (await roster.client.get(f"{API}/cadres/{senior['id']}/history", headers=roster.auth())).json()
    assert history[-1]["changes"] == {"retirement_category": [None, "women_cadres"]}
    updated = [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"][-1]["data"]["changed"]
    assert updated["retirement_date"] == "2019-05-10" and updated["retirement_rule_zh"] == r["rule_zh"]

    back = await patch(roster, senior, {"retirement_category": None})
    assert back.json()["retirement"]["date"] == "2024-05-10"
    assert back.json()["retirement"]["category_is_set"] is False


async def test_a_woman_worker_follows_the_two_month_table(roster: RosterHarness) -> None:
    """Women workers (original age 50) are recorded per person: born January 1975, 50 years
    1 month (the decision's own example)."""
    unit = await roster.unit()
    worker = await roster.cadre(
        unit["id"], gender="female", birth_date="1975-01-20", rank="科员", retirement_category="women_workers"
    )
    r = worker["retirement"]
    assert (r["date"], r["category_is_set"]) == ("2025-02-20", True)
    assert r["rule"].startswith("50 years 1 month (original age 50, delayed 1 month")


async def test_earlier_and_later_retirements_are_recorded_decisions_inside_their_windows(
    roster: RosterHarness,
) -> None:
    """A man born March 1970: 62 months after January 1965, 16 months' delay, due 2031-07-15
    (61 years 4 months); earlier at most three years before that and never before 60
    (2030-03-15); later at most three years after it."""
    unit = await roster.unit()
    man = await roster.cadre(unit["id"], birth_date="1970-03-15")
    assert man["retirement"]["date"] == "2031-07-15"

    early = {"kind": "early", "retires_on": "2030-09-01", "decided_on": "2029-12-20"}
    done = await patch(roster, man, {"retirement_decision": early})
    assert done.status_code == 200, done.text
    r = done.json()["retirement"]
    assert (r["date"], r["basis"]) == ("2030-09-01", "early")
    assert r["decision"] == early
    assert r["rule"].startswith("voluntary earlier retirement, decided 2029-12-20 (statutory: 2031-07-15")
    assert r["rule_zh"].startswith("弹性提前退休，2029-12-20决定（法定：2031-07-15")
    assert done.json()["retirement_date"] == "2030-09-01"

    too_early = await patch(
        roster,
        man,
        {"retirement_decision": {"kind": "early", "retires_on": "2030-01-01"}},
        **{"Accept-Language": "zh-CN"},
    )
    assert too_early.status_code == 422, too_early.text
    error = too_early.json()["errors"][0]
    assert error["field"] == "retirement_decision.retires_on"
    assert "不早于2030-03-15" in error["message"], "in Chinese under Accept-Language: zh-CN"
    english = await patch(roster, man, {"retirement_decision": {"kind": "early", "retires_on": "2030-01-01"}})
    assert "on or after 2030-03-15" in english.json()["errors"][0]["message"]
    assert (await roster.client.get(f"{API}/cadres/{man['id']}", headers=roster.auth())).json()["retirement"][
        "date"
    ] == "2030-09-01", "a refused decision changes nothing"

    later = await patch(roster, man, {"retirement_decision": {"kind": "later", "retires_on": "2033-07-15"}})
    assert later.json()["retirement"]["basis"] == "later" and later.json()["retirement_date"] == "2033-07-15"
    too_late = await patch(roster, man, {"retirement_decision": {"kind": "later", "retires_on": "2034-07-16"}})
    assert too_late.status_code == 422 and too_late.json()["errors"][0]["field"] == "retirement_decision.retires_on"

    # an explicit date still wins, and says what the law would have given
    typed = await patch(roster, man, {"retirement_date": "2032-01-01"})
    r = typed.json()["retirement"]
    assert (r["date"], r["basis"]) == ("2032-01-01", "set")
    assert "statutory: 2031-07-15" in r["rule"]
    cleared = await patch(roster, man, {"retirement_date": None, "retirement_decision": None})
    assert cleared.json()["retirement"]["basis"] == "statutory"
    assert cleared.json()["retirement_date"] == "2031-07-15"


async def test_a_decision_outside_its_window_is_refused_at_registration(roster: RosterHarness) -> None:
    unit = await roster.unit()
    resp = await roster.client.post(
        f"{API}/cadres",
        headers=roster.auth(),
        json={
            **(await _body(unit["id"], birth_date="1970-03-15")),
            "retirement_decision": {"kind": "early", "retires_on": "2027-01-01"},
        },
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "retirement_decision.retires_on"
    assert (await roster.client.get(f"{API}/cadres", headers=roster.auth())).json()["items"] == []


async def _body(unit_id: str, **overrides: Any) -> dict[str, Any]:
    from tests.factories import cadre_body

    return cadre_body(unit_id, **overrides)


async def test_an_upsert_import_keeps_the_recorded_category(roster: RosterHarness) -> None:
    unit = await roster.unit(name="平湖市某局")
    body = await _body(unit["id"], gender="female", birth_date="1976-02-03", rank="科员")
    made = (await roster.client.post(f"{API}/cadres", headers=roster.auth(), json=body)).json()
    assert made["retirement_date"] == "2032-09-03"  # woman cadre: 73 months after Jan 1970, 19 months late
    await patch(roster, made, {"retirement_category": "women_workers"})
    worker_date = (await roster.client.get(f"{API}/cadres/{made['id']}", headers=roster.auth())).json()[
        "retirement_date"
    ]
    assert worker_date == "2026-09-03"  # woman worker: 13 months after Jan 1975, 7 months late
    row = {**row_of(body, unit["name"]), "职务": "副科长"}
    job = await run_import(roster, xlsx([row], TEMPLATE_HEADERS), mode="upsert")
    assert job["status"] == "succeeded", job
    after = (await roster.client.get(f"{API}/cadres/{made['id']}", headers=roster.auth())).json()
    assert after["post_title"] == "副科长"
    assert (after["retirement_date"], after["retirement"]["category"]) == ("2026-09-03", "women_workers")


async def test_dates_derived_under_another_rule_set_are_derived_again_with_history_and_events(
    roster: RosterHarness,
) -> None:
    """A row registered when the platform knew only fixed ages (60 for men) and before the
    rule was stored: the pass gives it the 2025 law's date, a history line and an event."""
    unit = await roster.unit()
    man = await roster.cadre(unit["id"], birth_date="1970-03-15")
    current = await roster.cadre(unit["id"], birth_date="1980-01-01")
    # The startup pass runs beside the requests; on a slow machine it may still be waiting for
    # the database and would take this row first (the endpoint would find nothing to do).
    for task in list(roster.app.state.runtime.background):
        if task.get_name() == "rederiving":
            await task
    engine = roster.app.state.runtime.engine
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE cadres SET retirement_date = '2030-03-15', retirement_rule = '', retirement_rule_zh = '',"
                " retirement_law = '' WHERE id = :id"
            ),
            {"id": man["id"]},
        )
    done = await roster.client.post(f"{API}/admin/retirement/rederive", headers=roster.auth())
    assert done.status_code == 200, done.text
    assert done.json() == {"law": "2025", "looked_at": 1, "changed": 1, "pending": 0}
    after = (await roster.client.get(f"{API}/cadres/{man['id']}", headers=roster.auth())).json()
    assert (after["retirement_date"], after["version"]) == ("2031-07-15", 2)
    assert after["retirement"]["rule"].startswith("61 years 4 months")
    history = (await roster.client.get(f"{API}/cadres/{man['id']}/history", headers=roster.auth())).json()
    assert history[-1]["actor"] == "roster:retirement-law"
    assert history[-1]["changes"] == {"retirement_date": ["2030-03-15", "2031-07-15"]}
    event = [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"][-1]["data"]
    assert event["cadre_id"] == man["id"] and event["version"] == 2
    assert event["changed"]["retirement_date"] == "2031-07-15"
    untouched = (await roster.client.get(f"{API}/cadres/{current['id']}", headers=roster.auth())).json()
    assert untouched["version"] == 1
    again = await roster.client.post(f"{API}/admin/retirement/rederive", headers=roster.auth())
    assert again.json()["looked_at"] == 0


async def test_the_category_follows_the_unit_kind_through_moves_and_a_change_of_kind(roster: RosterHarness) -> None:
    """A 副处级 woman in an enterprise is not under 组通字〔2015〕14号 (a woman cadre: 55 for one
    born 1966); moved to an organ she retires at 60; the move says so with an update event of
    its own version. A unit becoming an enterprise derives its cadres again."""
    organ = await roster.unit(name="市发改委")
    firm = await roster.unit(name="市城投集团", kind="enterprise")
    woman = await roster.cadre(firm["id"], gender="female", birth_date="1966-06-15", rank="副处")
    assert (woman["retirement_date"], woman["retirement"]["category"]) == ("2021-06-15", "women_cadres")
    moved = await roster.client.post(
        f"{API}/cadres/{woman['id']}/move",
        headers=roster.auth(),
        json={"unit_id": organ["id"], "effective_on": "2020-01-01", "reason": "调任"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["retirement_date"], moved.json()["retirement"]["category"]) == ("2026-06-15", "senior_women")
    assert moved.json()["version"] == 3
    tail = [(e["type"], e["data"]["version"]) for e in await roster.outbox()][-2:]
    assert tail == [("roster.cadre.moved", 2), ("roster.cadre.updated", 3)]
    history = (await roster.client.get(f"{API}/cadres/{woman['id']}/history", headers=roster.auth())).json()
    assert history[-1]["kind"] == "moved" and history[-1]["changes"]["retirement_date"] == ["2021-06-15", "2026-06-15"]

    became = await roster.client.patch(f"{API}/units/{organ['id']}", headers=roster.auth(), json={"kind": "enterprise"})
    assert became.status_code == 200, became.text
    after = (await roster.client.get(f"{API}/cadres/{woman['id']}", headers=roster.auth())).json()
    assert (after["retirement_date"], after["retirement"]["category"], after["version"]) == (
        "2021-06-15",
        "women_cadres",
        4,
    )
