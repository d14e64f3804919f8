"""Every line of a ledger says what it is: an award, a deduction, a sanction (通报批评 is one),
a reversal, a restatement, a waiver; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from services.scoring.domain.catalogue import DEFAULT_CATALOGUE
from services.scoring.domain.ledger import AWARD, REVERSAL, line_kind
from tests.scoring.conftest import API, ScoringHarness

# What an entry under each category of the default catalogue is, as seed 000 and domain.md
# put it: the eight positive categories add points; 责令检查, 通报批评 and 诫勉 are the
# sanctions (the discipline records, with an impact period); 履职不力 and 违反工作纪律 are
# deductions that name no sanction.
KIND_OF_CATEGORY = {
    "central_work": "award",
    "breakthrough_project": "award",
    "emergency_front_line": "award",
    "grassroots_service": "award",
    "mentoring": "award",
    "research_advice": "award",
    "honours": "award",
    "special_reward": "award",
    "ordered_inspection": "sanction",
    "circular_criticism": "sanction",
    "admonishment": "sanction",
    "duty_failure": "deduction",
    "discipline_breach": "deduction",
}


def test_the_table_covers_every_category_of_the_default_catalogue() -> None:
    assert set(KIND_OF_CATEGORY) == {c.code for c in DEFAULT_CATALOGUE.categories}


def test_the_rule_says_what_an_entry_is_unless_it_reverses_or_restates_one() -> None:
    for r in DEFAULT_CATALOGUE.rules:
        assert line_kind(AWARD, r.direction, r.sanction_kind, None) == KIND_OF_CATEGORY[r.category], r.code
    assert line_kind(REVERSAL, "negative", None, None) == "reversal"
    assert line_kind(AWARD, "negative", "circular_criticism", "entry-1") == "restatement"


async def test_every_rule_of_the_default_catalogue_gives_its_line_its_kind(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    want = {r.code: KIND_OF_CATEGORY[r.category] for r in DEFAULT_CATALOGUE.rules}
    proposed = {code: await scoring.propose(cadre, code) for code in want}
    pending = {e["rule_code"]: e["kind"] for e in (await scoring.ledger(cadre))["pending"]}
    approved = {code: (await scoring.approve(e["id"])).json() for code, e in proposed.items()}
    ledger = await scoring.ledger(cadre)
    one = await scoring.client.get(f"{API}/entries/{approved['N02']['id']}", headers=scoring.auth())

    assert {code: e["kind"] for code, e in proposed.items()} == want
    assert pending == want
    assert {code: e["kind"] for code, e in approved.items()} == want
    assert {ln["rule_code"]: ln["kind"] for ln in ledger["lines"]} == want
    assert one.json()["kind"] == "sanction"  # 通报批评
    listed = await scoring.client.get(f"{API}/entries", params={"cadre_id": cadre}, headers=scoring.auth())
    assert {e["rule_code"]: e["kind"] for e in listed.json()["items"]} == want


async def test_reversals_restatements_and_waivers_say_what_they_are(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    task = await scoring.scored(cadre, "P01")
    criticism = await scoring.scored(cadre, "N02", reference="平委办通报〔2025〕3号")
    lapse = await scoring.scored(cadre, "N04")
    reversal = await scoring.client.post(
        f"{API}/entries/{task['id']}/reverse", json={"reason": "重复录入"}, headers=scoring.auth()
    )
    waiver = await scoring.client.post(
        f"{API}/entries/{lapse['id']}/waiver",
        json={"reference": "平容纠〔2025〕1号", "reason": "符合容错情形"},
        headers=scoring.auth(),
    )
    assert reversal.status_code == 201 and waiver.status_code == 201
    assert reversal.json()["kind"] == "reversal"

    # Version 2 deducts 1.50 for 通报批评; restating the year re-issues the criticism.
    admin = scoring.auth("admin", sub="admin-1")
    draft = (await scoring.client.post(f"{API}/catalogues/2025/drafts", headers=admin)).json()
    rules = [{**r, "points": "1.50"} if r["code"] == "N02" else r for r in draft["rules"]]
    body: dict[str, Any] = {**{k: draft[k] for k in ("categories", "impact_months")}, "rules": rules}
    edited = await scoring.client.put(f"{API}/catalogues/{draft['id']}", json={**body, "row_version": 1}, headers=admin)
    assert edited.status_code == 200, edited.text
    await scoring.client.post(f"{API}/catalogues/{draft['id']}/publish", headers=admin)
    applied = await scoring.client.post(
        f"{API}/cadres/{cadre}/restatements", json={"year": 2025, "version": 2, "apply": True}, headers=scoring.auth()
    )
    assert applied.status_code == 200, applied.text

    lines = (await scoring.ledger(cadre))["lines"]
    assert [(ln["line"], ln["kind"], ln.get("rule_code"), ln["points"]) for ln in lines] == [
        ("entry", "award", "P01", "0.60"),
        ("entry", "sanction", "N02", "-1.00"),
        ("entry", "deduction", "N04", "-0.50"),
        ("reversal", "reversal", "P01", "-0.60"),
        ("waiver", "waiver", None, "0.50"),
        ("reversal", "reversal", "N02", "1.00"),
        ("entry", "restatement", "N02", "-1.50"),
    ]
    restated = lines[-1]
    assert restated["restates_id"] == criticism["id"] and restated["sanction_kind"] == "circular_criticism"


async def test_the_kinds_are_documented_with_their_chinese_labels(scoring: ScoringHarness) -> None:
    schemas = (await scoring.client.get("/openapi.json")).json()["components"]["schemas"]
    entry = schemas["EntryPublic"]["properties"]["kind"]
    assert entry["enum"] == ["award", "deduction", "sanction", "reversal", "restatement"]
    assert entry["x-labels-zh"] == {
        "award": "加分",
        "deduction": "扣分",
        "sanction": "问责扣分",
        "reversal": "冲销",
        "restatement": "重新计分",
    }
    assert all(f"`{k}` {label}" in entry["description"] for k, label in entry["x-labels-zh"].items())
    assert schemas["WaiverLine"]["properties"]["kind"]["x-labels-zh"] == {"waiver": "容错纠错"}
