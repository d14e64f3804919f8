"""Soak: rounds of 50 concurrent writers on one cadre, each holding the same ETag.
Exactly one wins per version, and no update is lost (make soak)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import RosterHarness

pytestmark = pytest.mark.soak

ROUNDS = 20
WRITERS = 50


async def test_fifty_writers_per_version_lose_no_update(roster: RosterHarness) -> None:
    unit = await roster.unit()
    cadre = await roster.cadre(unit["id"])
    url = f"/api/v1/roster/cadres/{cadre['id']}"
    started = time.perf_counter()
    winners: list[str] = []
    for version in range(1, ROUNDS + 1):

        async def write(i: int, v: int = version) -> tuple[int, str]:
            title = f"第{v}轮-{i}"
            resp = await roster.client.patch(
                url, headers={**roster.auth(), "If-Match": f'"v{v}"'}, json={"post_title": title}
            )
            return resp.status_code, title

        results = await asyncio.gather(*(write(i) for i in range(WRITERS)))
        codes = sorted(code for code, _ in results)
        assert codes == [200] + [412] * (WRITERS - 1), codes
        winners += [title for code, title in results if code == 200]
    elapsed = time.perf_counter() - started
    final = (await roster.client.get(url, headers=roster.auth())).json()
    assert final["version"] == ROUNDS + 1 and final["post_title"] == winners[-1]
    history = (await roster.client.get(url + "/history", headers=roster.auth())).json()
    titles = [h["changes"]["post_title"][1] for h in history if h["kind"] == "updated"]
    assert titles == winners  # every accepted write is in the history, in order
    print(
        f"\n{ROUNDS * WRITERS} writes in {elapsed:.1f} s: {ROUNDS} accepted, "
        f"{ROUNDS * (WRITERS - 1)} refused with 412, 0 lost"
    )
