"""Roster's reaction to secondment events, applied as its consumer would (the broker path
is covered in tests/integration/test_secondment_roster.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from services.roster.reactions import topics_and_handlers
from tests.conftest import RosterHarness


def secondment_event(kind: str, cadre_id: str, unit_id: str, dataversion: str = "2", **data: Any) -> dict[str, Any]:
    base = {
        "secondment_id": "s-1",
        "batch_id": "b-1",
        "pair_id": None,
        "cadre_id": cadre_id,
        "direction": "city_to_grassroots",
        "from_unit_id": unit_id,
        "to_unit_id": "town-1",
        "to_unit_kind": "town",
        "to_unit_name": "北滘镇",
        "title_held": "副镇长",
        "term_months": 24,
        "starts_on": "2017-04-01",
        "ends_on": "2019-03-31",
    }
    return {"id": str(uuid.uuid4()), "type": kind, "dataversion": dataversion, "data": {**base, **data}}


async def apply(roster: RosterHarness, event: dict[str, Any]) -> None:
    topics, handlers = topics_and_handlers(roster.app.state.context)
    assert "secondment.events" in topics
    async with roster.app.state.runtime.sessions() as session:
        await handlers[event["type"]](session, event)
        await session.commit()


async def test_started_makes_the_cadre_seconded_and_completion_accrues_grassroots_years(
    roster: RosterHarness,
) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    await apply(roster, secondment_event("secondment.started", cadre["id"], unit["id"]))
    seconded = (await roster.client.get(url, params={"year": 2018}, headers=roster.auth())).json()
    assert seconded["availability"] == {"year": 2018, "status": "seconded", "reason": "seconded until 2019-03-31"}
    assert seconded["version"] == 2

    extended = secondment_event("secondment.extended", cadre["id"], unit["id"], ends_on="2019-09-30", months=6)
    await apply(roster, {**extended, "data": {**extended["data"], "reason": "项目未完"}})
    ended = secondment_event(
        "secondment.ended",
        cadre["id"],
        unit["id"],
        ends_on="2019-09-30",
        end_kind="completed",
        ended_on="2019-09-30",
        days_served=913,
        grassroots_days=913,
    )
    await apply(roster, ended)
    await apply(roster, {**ended, "id": str(uuid.uuid4())})  # re-published: nothing changes
    back = (await roster.client.get(url, params={"year": 2020}, headers=roster.auth())).json()
    assert back["availability"]["status"] == "available"
    assert back["grassroots_years"] == "2.5"
    assert back["grassroots_periods"] == [{"start": "2017-04-01", "end": "2019-09-30", "unit_name": "北滘镇"}]
    assert back["version"] == 4

    history = (await roster.client.get(f"{url}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "seconded", "seconded", "returned"]
    assert history[-1]["changes"]["grassroots_years"] == ["0.0", "2.5"]
    assert history[-1]["actor"] == "secondment-service"
    updates = [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"]
    assert [sorted(e["data"]["changed"]) for e in updates] == [
        ["seconded_until"],
        ["seconded_until"],
        ["grassroots_periods", "grassroots_years", "seconded_until"],
    ]
    assert updates[-1]["data"]["changed"]["seconded_until"] is None


async def test_an_early_end_from_a_city_organ_adds_no_grassroots_time(roster: RosterHarness) -> None:
    unit = await roster.unit(kind="town", name="白坭镇")
    cadre = await roster.cadre(unit["id"])
    up = {"direction": "grassroots_to_city", "to_unit_kind": "city_organ", "to_unit_name": "佛山市工商局"}
    await apply(roster, secondment_event("secondment.started", cadre["id"], unit["id"], **up))
    await apply(
        roster,
        secondment_event(
            "secondment.ended",
            cadre["id"],
            unit["id"],
            **up,
            end_kind="early",
            ended_on="2018-01-01",
            days_served=275,
            grassroots_days=0,
            reason="调动",
        ),
    )
    out = (
        await roster.client.get(f"/api/v1/roster/cadres/{cadre['id']}", params={"year": 2018}, headers=roster.auth())
    ).json()
    assert out["availability"]["status"] == "available" and out["grassroots_periods"] == []
    history = (await roster.client.get(f"/api/v1/roster/cadres/{cadre['id']}/history", headers=roster.auth())).json()
    assert history[-1]["reason"] == "secondment ended early: 调动"


async def test_an_unknown_cadre_is_ignored(roster: RosterHarness) -> None:
    await apply(roster, secondment_event("secondment.started", str(uuid.uuid4()), "u"))
    assert [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"] == []


async def test_a_town_cadre_seconded_up_pauses_grassroots_years_and_resumes_on_return(roster: RosterHarness) -> None:
    """Issue 17: a town cadre seconded to a city organ kept accruing grassroots years (its
    open town period counted through the secondment)."""
    unit = await roster.unit(kind="town", name="白坭镇")
    cadre = await roster.cadre(
        unit["id"], grassroots_periods=[{"start": "2001-01-01", "end": None, "unit_name": "白坭镇"}]
    )
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    before = Decimal(cadre["grassroots_years"])
    up = {"direction": "grassroots_to_city", "to_unit_kind": "city_organ", "to_unit_name": "佛山市工商局"}
    await apply(roster, secondment_event("secondment.started", cadre["id"], unit["id"], **up))
    away = (await roster.client.get(url, headers=roster.auth())).json()
    assert away["grassroots_periods"] == [{"start": "2001-01-01", "end": "2017-03-31", "unit_name": "白坭镇"}]
    assert away["grassroots_years"] == "16.2"  # 2001-01-01 … 2017-03-31: 5,934 days

    ended = secondment_event(
        "secondment.ended",
        cadre["id"],
        unit["id"],
        **up,
        end_kind="completed",
        ended_on="2019-03-31",
        days_served=730,
        grassroots_days=0,
    )
    await apply(roster, ended)
    await apply(roster, {**ended, "id": str(uuid.uuid4())})  # re-published: nothing changes
    back = (await roster.client.get(url, headers=roster.auth())).json()
    assert back["grassroots_periods"] == [
        {"start": "2001-01-01", "end": "2017-03-31", "unit_name": "白坭镇"},
        {"start": "2019-04-01", "end": None, "unit_name": "白坭镇"},
    ]
    # The two years in the city organ (730 days) no longer count; rounding moves a tenth at most.
    assert abs(before - Decimal(back["grassroots_years"]) - Decimal("2.0")) <= Decimal("0.1")
    history = (await roster.client.get(f"{url}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "seconded", "returned"]
    assert "grassroots_periods" in history[1]["changes"] and "grassroots_periods" in history[2]["changes"]


async def test_a_secondment_down_leaves_the_home_periods_alone(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"], grassroots_periods=[{"start": "2001-01-01", "end": None}])
    await apply(roster, secondment_event("secondment.started", cadre["id"], unit["id"]))
    out = (await roster.client.get(f"/api/v1/roster/cadres/{cadre['id']}", headers=roster.auth())).json()
    assert out["grassroots_periods"] == [{"start": "2001-01-01", "end": None, "unit_name": None}]


async def test_a_version_1_event_reads_as_version_2(roster: RosterHarness) -> None:
    """Before issue 17 secondment's ends_on was the return day: a replayed version-1 event
    lands on the same seconded_until as its version-2 form."""
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    await apply(roster, secondment_event("secondment.started", cadre["id"], unit["id"], "1", ends_on="2019-04-01"))
    out = (
        await roster.client.get(f"/api/v1/roster/cadres/{cadre['id']}", params={"year": 2019}, headers=roster.auth())
    ).json()
    assert out["availability"]["reason"] == "seconded until 2019-03-31"


async def test_an_older_placement_event_replayed_after_the_end_changes_nothing(roster: RosterHarness) -> None:
    """The start and the extension, dead-lettered and replayed after the end (new deliveries,
    older versions of the secondment): the cadre stays back and nothing new is written."""
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    started = secondment_event("secondment.started", cadre["id"], unit["id"], version=3)
    extended = secondment_event(
        "secondment.extended", cadre["id"], unit["id"], ends_on="2019-09-30", months=6, reason="项目未完", version=4
    )
    ended = secondment_event(
        "secondment.ended",
        cadre["id"],
        unit["id"],
        ends_on="2019-09-30",
        end_kind="completed",
        ended_on="2019-09-30",
        days_served=913,
        grassroots_days=913,
        version=5,
    )
    for event in (started, extended, ended):
        await apply(roster, event)
    before = (await roster.client.get(url, params={"year": 2020}, headers=roster.auth())).json()
    assert before["availability"]["status"] == "available" and before["version"] == 4
    written = len(await roster.outbox())

    for late in (started, extended):
        await apply(roster, {**late, "id": str(uuid.uuid4())})
    after = (await roster.client.get(url, params={"year": 2020}, headers=roster.auth())).json()
    assert after == before
    assert len(await roster.outbox()) == written
    history = (await roster.client.get(f"{url}/history", headers=roster.auth())).json()
    assert [h["kind"] for h in history] == ["registered", "seconded", "seconded", "returned"]
