"""The ledger through the scoring API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from services.scoring.models import kit
from tests.scoring.conftest import API, ScoringHarness


async def test_pinghu_two_tasks_a_criticism_and_its_waiver(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    unit = await scoring.unit()
    cadre = await scoring.cadre(unit)
    await scoring.scored(cadre, "P01")
    await scoring.scored(cadre, "P02")
    assert (await scoring.ledger(cadre))["total"] == "1.20"
    criticism = await scoring.scored(cadre, "N02", reference="平委办通报〔2025〕3号")
    assert criticism["points"] == "-1.00"
    assert (await scoring.ledger(cadre))["total"] == "0.20"

    waiver = await scoring.client.post(
        f"{API}/entries/{criticism['id']}/waiver",
        json={"reference": "平容纠〔2025〕1号", "reason": "先行先试中的失误，符合容错情形"},
        headers=scoring.auth(),
    )
    assert waiver.status_code == 201, waiver.text
    ledger = await scoring.ledger(cadre)
    assert ledger["total"] == "1.20"
    assert [(ln["line"], ln["points"], ln["running_total"]) for ln in ledger["lines"]] == [
        ("entry", "0.60", "0.60"),
        ("entry", "0.60", "1.20"),
        ("entry", "-1.00", "0.20"),
        ("waiver", "1.00", "1.20"),
    ]
    changed = [e["data"] for e in await scoring.outbox() if e["type"] == "scoring.score.changed"]
    assert [(c["previous_total"], c["total"], c["delta"]) for c in changed] == [
        ("0.00", "0.60", "0.60"),
        ("0.60", "1.20", "0.60"),
        ("1.20", "0.20", "-1.00"),
        ("0.20", "1.20", "1.00"),
    ]
    assert all(c["catalogue_version"] == 1 for c in changed)


async def test_a_cap_admits_what_still_fits_and_a_reversal_frees_it(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    # P05 (mentoring): 0.30 per entry, capped at 0.90 a year.
    firsts = [await scoring.scored(cadre, "P05") for _ in range(3)]
    fourth = await scoring.scored(cadre, "P05")
    assert [e["points"] for e in firsts] == ["0.30", "0.30", "0.30"]
    assert (fourth["points"], fourth["capped"]) == ("0.00", True)
    reversal = await scoring.client.post(
        f"{API}/entries/{firsts[0]['id']}/reverse", json={"reason": "重复录入"}, headers=scoring.auth()
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["points"] == "-0.30" and reversal.json()["reverses_id"] == firsts[0]["id"]
    fifth = await scoring.scored(cadre, "P05")
    assert (fifth["points"], fifth["capped"]) == ("0.30", False)
    assert (await scoring.ledger(cadre))["total"] == "0.90"


async def test_the_proposer_cannot_approve_and_an_entry_is_decided_once(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    entry = await scoring.propose(cadre, "P01", sub="officer-a")
    own = await scoring.approve(entry["id"], sub="officer-a")
    assert own.status_code == 403 and "four-eyes" in own.json()["detail"]
    assert (await scoring.approve(entry["id"], sub="officer-b")).status_code == 200
    again = await scoring.approve(entry["id"], sub="officer-c")
    assert again.status_code == 409 and again.json()["state"] == "approved"
    rejected = await scoring.client.post(f"{API}/entries/{entry['id']}/reject", headers=scoring.auth(sub="officer-c"))
    assert rejected.status_code == 409


async def test_two_officers_approving_at_once_move_the_total_once(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    entries = [await scoring.propose(cadre, "P01") for _ in range(5)]
    results = await asyncio.gather(*[scoring.approve(e["id"], sub=f"officer-{i}") for e in entries for i in range(2)])
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 5 + [409] * 5
    ledger = await scoring.ledger(cadre)
    assert ledger["total"] == "3.00"
    assert sorted(ln["seq"] for ln in ledger["lines"]) == [1, 2, 3, 4, 5]
    changed = [e for e in await scoring.outbox() if e["type"] == "scoring.score.changed"]
    assert len(changed) == 5
    assert sorted(e["data"]["total"] for e in changed) == ["0.60", "1.20", "1.80", "2.40", "3.00"]


async def test_reversing_a_reversal_and_waiving_an_addition_are_refused(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    entry = await scoring.scored(cadre, "P01")
    rev = await scoring.client.post(
        f"{API}/entries/{entry['id']}/reverse", json={"reason": "错"}, headers=scoring.auth()
    )
    again = await scoring.client.post(
        f"{API}/entries/{rev.json()['id']}/reverse", json={"reason": "错"}, headers=scoring.auth()
    )
    assert again.status_code == 409 and "reversal cannot be reversed" in again.json()["detail"]
    twice = await scoring.client.post(
        f"{API}/entries/{entry['id']}/reverse", json={"reason": "错"}, headers=scoring.auth()
    )
    assert twice.status_code == 409
    other = await scoring.scored(cadre, "P02")
    waive = await scoring.client.post(
        f"{API}/entries/{other['id']}/waiver", json={"reference": "x", "reason": "y"}, headers=scoring.auth()
    )
    assert waive.status_code == 422 and waive.json()["errors"][0]["field"] == "entry_id"
    assert (await scoring.ledger(cadre))["total"] == "0.60"


async def test_bad_entries_name_the_field_and_write_nothing(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"cadre_id": "00000000-0000-0000-0000-000000000000"}, "cadre_id"),
        ({"rule_code": "P99"}, "rule_code"),
        ({"year": 2024, "occurred_on": "2024-05-01"}, "year"),  # no catalogue for 2024
        ({"occurred_on": "2024-12-31"}, "occurred_on"),
        ({"occurred_on": "not-a-date"}, "occurred_on"),
        ({"year": 1800}, "year"),
    ]
    for change, field in cases:
        body = {"cadre_id": cadre, "rule_code": "P01", "year": 2025, "occurred_on": "2025-03-01", **change}
        resp = await scoring.client.post(f"{API}/entries", json=body, headers=scoring.auth())
        assert resp.status_code == 422, (change, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["field"] == field, (change, resp.json())
    async with scoring.app.state.context.runtime.sessions() as s:
        from services.scoring.models import Entry

        assert (await s.execute(select(func.count()).select_from(Entry))).scalar_one() == 0
    missing = await scoring.approve("00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_sanction_text_is_masked_and_its_reading_audited(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    cadre = await scoring.cadre(await scoring.unit())
    await scoring.scored(cadre, "N03", evidence="因违反规定被诫勉谈话", reference="平纪〔2025〕9号")
    masked = await scoring.ledger(cadre)
    assert masked["lines"][0]["evidence"] == "***" and masked["lines"][0]["masked"] is True
    portal = await scoring.client.get(
        f"{API}/cadres/{cadre}/ledger", params={"year": 2025, "reveal": "true"}, headers=scoring.auth("portal")
    )
    assert portal.status_code == 403
    revealed = await scoring.ledger(cadre, reveal="true")
    assert revealed["lines"][0]["evidence"] == "因违反规定被诫勉谈话"
    async with scoring.app.state.context.runtime.engine.connect() as conn:
        reads = (await conn.execute(select(kit.audit.c.actor, kit.audit.c.subject_id))).all()
    assert [r.actor for r in reads] == ["officer-a"]
    assert reads[0].subject_id == revealed["lines"][0]["id"]


async def test_a_rule_of_another_year_is_refused(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    admin = scoring.auth("admin", sub="admin-1")
    base = (await scoring.client.get(f"{API}/catalogues/default", headers=admin)).json()
    rules = [r for r in base["rules"] if r["code"] != "P08"]
    draft = await scoring.client.post(
        f"{API}/catalogues/2026/drafts", json={"categories": base["categories"], "rules": rules}, headers=admin
    )
    assert draft.status_code == 201, draft.text
    await scoring.client.post(f"{API}/catalogues/{draft.json()['id']}/publish", headers=admin)
    cadre = await scoring.cadre(await scoring.unit())
    resp = await scoring.client.post(
        f"{API}/entries",
        json={"cadre_id": cadre, "rule_code": "P08", "year": 2026, "occurred_on": "2026-02-01"},
        headers=scoring.auth(),
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "rule_code"
    assert "2026" in resp.json()["detail"]


async def test_a_special_reward_carries_its_theme_and_a_unit_hr_stays_in_its_subtree(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    city = await scoring.unit("兴化市")
    mine = await scoring.unit("市住建局", parent=city)
    other = await scoring.unit("市财政局", parent=city)
    inside = await scoring.cadre(mine)
    outside = await scoring.cadre(other)
    hr = scoring.auth("unit_hr", sub="hr-9", unit_scope=[mine["unit_id"]])
    body = {"rule_code": "P08", "year": 2025, "occurred_on": "2025-07-01", "reference": "专项及时奖励：城市更新攻坚"}
    ok = await scoring.client.post(f"{API}/entries", json={**body, "cadre_id": inside}, headers=hr)
    assert ok.status_code == 201 and ok.json()["reference"] == "专项及时奖励：城市更新攻坚"
    # a cadre outside its subtree is, to it, a cadre scoring does not know
    refused = await scoring.client.post(f"{API}/entries", json={**body, "cadre_id": outside}, headers=hr)
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["cadre_id"]
    cannot_approve = await scoring.client.post(f"{API}/entries/{ok.json()['id']}/approve", headers=hr)
    assert cannot_approve.status_code == 403  # the role: unit HR proposes, the cadre office decides
    assert (await scoring.approve(ok.json()["id"])).json()["points"] == "0.50"
    other_ledger = await scoring.client.get(f"{API}/cadres/{outside}/ledger", params={"year": 2025}, headers=hr)
    assert other_ledger.status_code == 404
