"""Concurrent writers on one record: optimistic locking lets exactly one win per version
and loses nothing; concurrent approvals of one ledger entry move the total once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.conftest import RosterHarness
from tests.scoring.conftest import API, ScoringHarness, scoring, scoring_db

__all__ = ["scoring", "scoring_db"]

WRITERS = 20
ROUNDS = 3
APPROVERS = 50


async def test_twenty_writers_per_version_lose_no_update(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    winners: list[str] = []
    for version in range(1, ROUNDS + 1):

        async def write(i: int, v: int = version) -> tuple[int, str]:
            title = f"第{v}轮-{i}"
            resp = await roster.client.patch(
                url, headers={**roster.auth(), "If-Match": f'"v{v}"'}, json={"post_title": title}
            )
            return resp.status_code, title

        results = await asyncio.gather(*(write(i) for i in range(WRITERS)))
        assert sorted(code for code, _ in results) == [200] + [412] * (WRITERS - 1)
        winners += [title for code, title in results if code == 200]
    final = (await roster.client.get(url, headers=roster.auth())).json()
    assert final["version"] == ROUNDS + 1 and final["post_title"] == winners[-1]
    history = (await roster.client.get(url + "/history", headers=roster.auth())).json()
    assert [h["changes"]["post_title"][1] for h in history if h["kind"] == "updated"] == winners
    events = [e for e in await roster.outbox() if e["type"] == "roster.cadre.updated"]
    assert [e["data"]["version"] for e in events] == list(range(2, ROUNDS + 2))


async def test_fifty_concurrent_approvals_of_one_entry_move_the_total_once(scoring: ScoringHarness) -> None:
    unit = await scoring.unit()
    cadre = await scoring.cadre(unit)
    await scoring.publish_default(2025)
    entry = await scoring.propose(cadre, "P01")
    before = await scoring.ledger(cadre)

    async def approve(i: int) -> int:
        return (await scoring.approve(entry["id"], sub=f"officer-{i}")).status_code

    codes = await asyncio.gather(*(approve(i) for i in range(APPROVERS)))
    assert sorted(codes) == [200] + [409] * (APPROVERS - 1), sorted(codes)
    after = await scoring.ledger(cadre)
    lines = [ln for ln in after["lines"] if ln["id"] == entry["id"]]
    assert len(lines) == 1 and len(after["lines"]) == len(before["lines"]) + 1
    points = Decimal(lines[0]["points"])
    assert points != 0 and Decimal(after["total"]) == Decimal(before["total"]) + points
    changes = [e for e in await scoring.outbox() if e["type"] == "scoring.score.changed"]
    assert len(changes) == 1 and Decimal(changes[0]["data"]["delta"]) == points
    got = await scoring.client.get(f"{API}/entries/{entry['id']}", headers=scoring.auth())
    assert got.json()["status"] == "approved"
