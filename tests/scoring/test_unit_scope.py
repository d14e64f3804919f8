"""Unit scope in scoring (issue 15): the probe's findings, one test each.

A city (兴化市) with two sibling districts: 甲区 (with a town under it) and 乙区. A token
scoped to 甲区 writes and reads 甲区's cadres, entries, key posts and units; on 乙区's it
gets the answer an unknown id gets (404 in the path, 422 naming the field in a body) and
changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.scoring.conftest import API, ScoringHarness

YEAR = 2025


@dataclass
class District:
    unit: dict[str, Any]
    town: dict[str, Any]
    cadre: str
    pending: dict[str, Any]  # an N03 sanction (诫勉, −2.00) waiting for a decision
    sanction: dict[str, Any]  # an approved N04 deduction: reversible, waivable
    key_post: str


@dataclass
class City:
    mine: District  # 甲区: the scoped tokens' units
    theirs: District  # 乙区: its sibling


async def _district(scoring: ScoringHarness, city: dict[str, Any], name: str) -> District:
    unit = await scoring.unit(name, parent=city, kind="district")
    town = await scoring.unit(f"{name}一镇", parent=unit, kind="town")
    cadre = await scoring.cadre(town, f"{name}干部")
    pending = await scoring.propose(cadre, "N03")
    sanction = await scoring.scored(cadre, "N04")
    post = await scoring.client.post(
        f"{API}/key-posts", json={"title": f"{name}招商科科长", "unit_id": unit["unit_id"]}, headers=scoring.auth()
    )
    assert post.status_code == 201, post.text
    return District(unit, town, cadre, pending, sanction, post.json()["id"])


@pytest.fixture
async def city(scoring: ScoringHarness) -> City:
    await scoring.publish_default(YEAR)
    root = await scoring.unit("兴化市", kind="city")
    return City(await _district(scoring, root, "甲区"), await _district(scoring, root, "乙区"))


def _officer(scoring: ScoringHarness, city: City) -> dict[str, str]:
    return scoring.auth("officer", sub="officer-district", unit_scope=[city.mine.unit["unit_id"]])


def _unit_hr(scoring: ScoringHarness, city: City) -> dict[str, str]:
    return scoring.auth("unit_hr", sub="hr-district", unit_scope=[city.mine.unit["unit_id"]])


async def _rows(scoring: ScoringHarness) -> dict[str, list[str]]:
    runtime = scoring.app.state.context.runtime
    async with runtime.sessions() as s:
        return {
            t.name: sorted(repr(tuple(r)) for r in (await s.execute(select(t))).all())
            for t in runtime.metadata.sorted_tables
        }


def _answer(resp: httpx.Response) -> tuple[int, Any, list[str]]:
    body = resp.json()
    return resp.status_code, body.get("title"), sorted(e["field"] for e in body.get("errors") or [])


async def _refused_like_unknown(
    scoring: ScoringHarness, method: str, outside: str, unknown: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any, list[str]]:
    """Call on 乙区's object, then on an id that names nothing: the same answer, no row changed."""
    before = await _rows(scoring)
    theirs = await scoring.client.request(method, outside, headers=headers, **kw)
    assert await _rows(scoring) == before, f"{method} {outside} changed rows: {theirs.status_code} {theirs.text}"
    nothing = await scoring.client.request(method, unknown, headers=headers, **kw)
    assert _answer(theirs) == _answer(nothing), (theirs.text, nothing.text)
    return _answer(theirs)


def _other() -> str:
    return str(uuid.uuid4())


async def test_a_district_officer_cannot_approve_a_sanction_in_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    answer = await _refused_like_unknown(
        scoring,
        "POST",
        f"{API}/entries/{city.theirs.pending['id']}/approve",
        f"{API}/entries/{_other()}/approve",
        officer,
    )
    assert answer[0] == 404
    ledger = await scoring.ledger(city.theirs.cadre)
    assert ledger["total"] == "-0.50" and [e["id"] for e in ledger["pending"]] == [city.theirs.pending["id"]]
    # its own district's sanction it approves
    own = await scoring.client.post(f"{API}/entries/{city.mine.pending['id']}/approve", headers=officer)
    assert own.status_code == 200 and own.json()["points"] == "-2.00", own.text


@pytest.mark.parametrize(
    ("action", "entry", "body"),
    [
        ("reject", "pending", {"note": "不予认定"}),
        ("waiver", "sanction", {"reference": "容〔2025〕9号", "reason": "容错"}),
        ("reverse", "sanction", {"reason": "认定有误"}),
    ],
)
async def test_a_district_officer_cannot_reject_waive_or_reverse_entries_in_the_sibling_district(
    scoring: ScoringHarness, city: City, action: str, entry: str, body: dict[str, str]
) -> None:
    officer = _officer(scoring, city)
    theirs = getattr(city.theirs, entry)["id"]
    answer = await _refused_like_unknown(
        scoring, "POST", f"{API}/entries/{theirs}/{action}", f"{API}/entries/{_other()}/{action}", officer, json=body
    )
    assert answer[0] == 404
    own = await scoring.client.post(
        f"{API}/entries/{getattr(city.mine, entry)['id']}/{action}", headers=officer, json=body
    )
    assert own.status_code in (200, 201), own.text


async def test_a_district_officer_cannot_restate_a_cadre_of_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    body = {"year": YEAR, "version": 1, "apply": True}
    answer = await _refused_like_unknown(
        scoring,
        "POST",
        f"{API}/cadres/{city.theirs.cadre}/restatements",
        f"{API}/cadres/{_other()}/restatements",
        officer,
        json=body,
    )
    assert answer[0] == 404
    own = await scoring.client.post(f"{API}/cadres/{city.mine.cadre}/restatements", headers=officer, json=body)
    assert own.status_code == 200, own.text


async def test_a_district_officer_cannot_propose_ratings_for_a_unit_of_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    answer = await _refused_like_unknown(
        scoring,
        "POST",
        f"{API}/ratings/{YEAR}/propose",
        f"{API}/ratings/{YEAR}/propose",
        officer,
        json={"unit_id": city.theirs.unit["unit_id"]},
    )
    assert answer == (422, "Invalid request", ["unit_id"])
    unknown = await scoring.client.post(f"{API}/ratings/{YEAR}/propose", headers=officer, json={"unit_id": _other()})
    assert _answer(unknown) == answer


async def test_a_scoped_proposal_without_a_unit_proposes_for_the_tokens_units_only(
    scoring: ScoringHarness, city: City
) -> None:
    for district in (city.mine, city.theirs):
        resp = await scoring.client.put(
            f"{API}/appraisals/{YEAR}/{district.cadre}",
            json={"ratings": {"party_committee": 90, "public": 90, "organization": 90}},
            headers=scoring.auth(),
        )
        assert resp.status_code == 200, resp.text
    resp = await scoring.client.post(f"{API}/ratings/{YEAR}/propose", headers=_officer(scoring, city))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    considered = {r["cadre_id"] for r in body["proposed"]} | {p["cadre_id"] for p in body["not_proposed"]}
    assert considered == {city.mine.cadre}
    assert city.theirs.unit["unit_id"] not in resp.text and city.theirs.town["unit_id"] not in resp.text


async def test_a_district_officer_cannot_record_key_post_appraisals_in_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    body = {"year": YEAR, "special_assessment": "优秀", "inspection": "无问题", "audit": "无问题"}
    # 乙区's post, 乙区's cadre: the post answers as an unknown post
    answer = await _refused_like_unknown(
        scoring,
        "POST",
        f"{API}/key-posts/{city.theirs.key_post}/appraisals",
        f"{API}/key-posts/{_other()}/appraisals",
        officer,
        json={**body, "cadre_id": city.theirs.cadre},
    )
    assert answer[0] == 404
    # its own post, 乙区's cadre: the cadre answers as an unknown cadre
    before = await _rows(scoring)
    theirs = await scoring.client.post(
        f"{API}/key-posts/{city.mine.key_post}/appraisals",
        headers=officer,
        json={**body, "cadre_id": city.theirs.cadre},
    )
    assert await _rows(scoring) == before
    unknown = await scoring.client.post(
        f"{API}/key-posts/{city.mine.key_post}/appraisals", headers=officer, json={**body, "cadre_id": _other()}
    )
    assert _answer(theirs) == _answer(unknown) == (422, "Invalid request", ["cadre_id"])
    own = await scoring.client.post(
        f"{API}/key-posts/{city.mine.key_post}/appraisals", headers=officer, json={**body, "cadre_id": city.mine.cadre}
    )
    assert own.status_code == 201, own.text


async def test_a_district_officer_cannot_rate_a_unit_of_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    answer = await _refused_like_unknown(
        scoring,
        "PUT",
        f"{API}/unit-ratings/{YEAR}/{city.theirs.unit['unit_id']}",
        f"{API}/unit-ratings/{YEAR}/{_other()}",
        officer,
        json={"rating": "fourth"},
    )
    assert answer[0] == 404
    own = await scoring.client.put(
        f"{API}/unit-ratings/{YEAR}/{city.mine.town['unit_id']}", headers=officer, json={"rating": "fourth"}
    )
    assert own.status_code == 200 and own.json()["ratio"] == "0.10", own.text


async def test_a_district_officer_cannot_create_a_key_post_in_the_sibling_district(
    scoring: ScoringHarness, city: City
) -> None:
    officer = _officer(scoring, city)
    answer = await _refused_like_unknown(
        scoring,
        "POST",
        f"{API}/key-posts",
        f"{API}/key-posts",
        officer,
        json={"title": "财政科科长", "unit_id": city.theirs.unit["unit_id"]},
    )
    assert answer == (422, "Invalid request", ["unit_id"])
    unknown = await scoring.client.post(
        f"{API}/key-posts", headers=officer, json={"title": "财政科科长", "unit_id": _other()}
    )
    assert _answer(unknown) == answer
    own = await scoring.client.post(
        f"{API}/key-posts", headers=officer, json={"title": "财政科科长", "unit_id": city.mine.town["unit_id"]}
    )
    assert own.status_code == 201, own.text


async def test_a_unit_hr_lists_only_its_own_key_posts_and_a_sibling_unit_answers_as_unknown(
    scoring: ScoringHarness, city: City
) -> None:
    hr = _unit_hr(scoring, city)
    listed = await scoring.client.get(f"{API}/key-posts", headers=hr)
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [city.mine.key_post]
    theirs = await scoring.client.get(f"{API}/key-posts", headers=hr, params={"unit_id": city.theirs.unit["unit_id"]})
    unknown = await scoring.client.get(f"{API}/key-posts", headers=hr, params={"unit_id": _other()})
    assert theirs.status_code == 404 and _answer(theirs) == _answer(unknown)
    assert city.theirs.key_post not in theirs.text
    own = await scoring.client.get(f"{API}/key-posts", headers=hr, params={"unit_id": city.mine.unit["unit_id"]})
    assert [p["id"] for p in own.json()] == [city.mine.key_post]


async def test_a_scoped_token_ranks_its_own_subtree_without_naming_a_unit(scoring: ScoringHarness, city: City) -> None:
    resp = await scoring.client.get(f"{API}/rankings", params={"year": YEAR}, headers=_unit_hr(scoring, city))
    assert resp.status_code == 200, resp.text
    assert [(i["cadre_id"], i["rank"]) for i in resp.json()["items"]] == [(city.mine.cadre, 1)]
    assert resp.json()["count"] == 1
