"""Roster's reaction to secondment events, applied as its consumer would (the broker path
is covered in tests/integration/test_secondment_roster.py)."""

from __future__ import annotations

import uuid
from typing import Any

from services.roster.reactions import topics_and_handlers
from tests.conftest import RosterHarness


def secondment_event(kind: str, cadre_id: str, unit_id: str, **data: Any) -> dict[str, Any]:
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
        "ends_on": "2019-04-01",
    }
    return {"id": str(uuid.uuid4()), "type": kind, "data": {**base, **data}}


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
    assert seconded["availability"] == {"year": 2018, "status": "seconded", "reason": "seconded until 2019-04-01"}
    assert seconded["version"] == 2

    extended = secondment_event("secondment.extended", cadre["id"], unit["id"], ends_on="2019-10-01", months=6)
    await apply(roster, {**extended, "data": {**extended["data"], "reason": "项目未完"}})
    ended = secondment_event(
        "secondment.ended",
        cadre["id"],
        unit["id"],
        ends_on="2019-10-01",
        end_kind="completed",
        ended_on="2019-10-01",
        days_served=913,
        grassroots_days=913,
    )
    await apply(roster, ended)
    await apply(roster, {**ended, "id": str(uuid.uuid4())})  # re-published: nothing changes
    back = (await roster.client.get(url, params={"year": 2020}, headers=roster.auth())).json()
    assert back["availability"]["status"] == "available"
    assert back["grassroots_years"] == "2.5"
    assert back["grassroots_periods"] == [{"start": "2017-04-01", "end": "2019-10-01", "unit_name": "北滘镇"}]
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
