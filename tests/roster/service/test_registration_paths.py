"""A cadre imported from a spreadsheet equals one registered through ``POST /cadres``: the
same cadre row, the same history row and the same ``roster.cadre.registered`` event, all
derived from one ``Registration`` (services/roster/domain/registration.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from services.roster.domain.registration import FIELDS, SEALED_COLUMNS
from services.roster.importing.writer import CADRE_COLUMNS
from services.roster.models import Cadre, CadreChange
from tests.conftest import RosterHarness
from tests.factories import cadre_body, id_number
from tests.roster.service.test_imports import register, row_of, run_import, xlsx

API = "/api/v1/roster"
# What differs between two cadres by nature: their ids, their ID numbers (two people) and
# when they were written.
OWN = {"id", *SEALED_COLUMNS, "created_at", "updated_at"}


async def _rows(roster: RosterHarness, cadre_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with roster.app.state.context.runtime.sessions() as s:
        cadre = (await s.execute(select(Cadre).where(Cadre.id == cadre_id))).scalar_one()  # type: ignore[arg-type]
        history = (await s.execute(select(CadreChange).where(CadreChange.cadre_id == cadre_id))).scalars().all()  # type: ignore[arg-type]
    row = {c: getattr(cadre, c) for c in Cadre.model_fields if c not in OWN}
    changes = [{k: getattr(h, k) for k in ("actor", "acting_client", "kind", "changes", "reason")} for h in history]
    return row, changes


def _event(events: list[dict[str, Any]], cadre_id: str) -> dict[str, Any]:
    (env,) = [e for e in events if e["data"].get("cadre_id") == cadre_id]
    return env


BODIES = {
    "everything said": {
        "grassroots_periods": [{"start": "2005-01-01", "end": "2010-12-31", "unit_name": "某某镇"}],
        "retirement_date": "2031-01-01",
    },
    "a woman, the least said": {
        "gender": "female",
        "birth_date": "1985-02-03",
        "post_title": None,
        "rank": None,
        "party_member": False,
        "education": None,
        "years_of_service": None,
        "strengths": [],
        "post_wishes": [],
        "professional_field": None,
        "willingness": {"town": False, "heavy_task": False, "mentor": False},
        "leadership_status": "non_leading",
    },
}


@pytest.mark.parametrize("case", sorted(BODIES))
async def test_an_imported_cadre_equals_one_registered_through_the_api(roster: RosterHarness, case: str) -> None:
    organ = await roster.unit("市委组织部")
    by_api = cadre_body(organ["id"], **BODIES[case])
    # The same person in every field but the ID number (two people cannot share one).
    birth = dt.date.fromisoformat(by_api["birth_date"])
    by_sheet = {**by_api, "id_number": id_number(birth, by_api["gender"])}
    row = row_of(by_sheet, "市委组织部")
    if by_api.get("grassroots_periods"):
        row["基层工作经历"] = "2005-01-01至2010-12-31@某某镇"
    if by_api.get("retirement_date"):
        row["退休日期"] = by_api["retirement_date"]
    officer = roster.auth("officer", sub="officer-li")

    resp = await roster.client.post(f"{API}/cadres", headers=officer, json=by_api)
    assert resp.status_code == 201, resp.text
    api_id = resp.json()["id"]
    job = await run_import(roster, xlsx([row]))
    assert job["status"] == "succeeded", job
    (imported,) = [
        c
        for c in (await roster.client.get(f"{API}/cadres", headers=roster.auth())).json()["items"]
        if c["id"] != api_id
    ]

    api_row, api_history = await _rows(roster, api_id)
    sheet_row, sheet_history = await _rows(roster, imported["id"])
    assert sheet_row == api_row
    # The import names its job in the history row where the API names the cadre, and says
    # nothing else differently.
    assert [h["changes"].pop("import_job") for h in sheet_history] == [job["id"]]
    assert [h["changes"].pop("name") for h in api_history] == [by_api["name"]]
    assert sheet_history == api_history

    events = await roster.outbox()
    api_event, sheet_event = _event(events, api_id), _event(events, imported["id"])
    assert sheet_event["data"].pop("cadre_id") == imported["id"] and api_event["data"].pop("cadre_id") == api_id
    assert sheet_event["data"] == api_event["data"]
    assert sheet_event["subject"] == f"cadre/{imported['id']}"
    same = {"specversion", "source", "type", "datacontenttype", "dataversion"}
    assert {k: sheet_event[k] for k in same} == {k: api_event[k] for k in same}
    assert list(sheet_event) == list(api_event)  # one envelope, the kit's, in one key order


async def test_the_import_writes_every_column_a_registration_sets() -> None:
    """The COPY's columns are the registration's fields with the sealed number and the new
    state; every other column of ``cadres`` is left to a default the API path also gets."""
    assert set(FIELDS) <= set(CADRE_COLUMNS)
    left = set(Cadre.__table__.columns.keys()) - set(CADRE_COLUMNS)  # type: ignore[attr-defined]
    assert left == {
        "id_number_form",
        "seconded_until",
        "on_assignment_until",
        "exit_kind",
        "exit_date",
        "exit_reason",
        "created_at",
        "updated_at",
    }


async def test_a_registration_round_trips_through_the_api(roster: RosterHarness) -> None:
    """The read model shows what the registration stored (the API path alone)."""
    organ = await roster.unit("市委组织部")
    body = cadre_body(organ["id"], **BODIES["everything said"])
    got = await register(roster, body)
    assert got["retirement_date"] == "2031-01-01" and got["grassroots_years"] == "6.0"
    assert got["grassroots_periods"] == body["grassroots_periods"]
