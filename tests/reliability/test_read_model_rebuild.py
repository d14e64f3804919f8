"""A read model rebuilt from scratch equals the one built live: scoring's roster mirror,
kept from roster events as they happened, against a fresh scoring database fed only by
roster's snapshot (and another fed by roster re-publishing its retained events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from cadrekit.testing.plugin import Broker, Signer
from services.scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from services.scoring.app import create_app as create_scoring
from tests.conftest import RosterHarness
from tests.reliability.support import Figures, pg_fetch, wait_for
from tests.scoring.conftest import scoring_settings

MIRROR_CONSUMER = "scoring.roster-mirror"


@asynccontextmanager
async def scoring_on(url: str, broker: Broker, signer: Signer) -> AsyncIterator[None]:
    settings = scoring_settings(
        url, kafka_enabled=True, outbox_poll_seconds=0.1, broker_check_seconds=0.5, **broker.client_settings("scoring")
    )
    app = create_scoring(settings, key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        yield


async def mirror_rows(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    units = await pg_fetch(url, "SELECT * FROM mirror_units ORDER BY unit_id")
    cadres = await pg_fetch(url, "SELECT * FROM mirror_cadres ORDER BY cadre_id")
    return [dict(r) for r in units], [dict(r) for r in cadres]


async def roster_versions(url: str) -> dict[str, int]:
    return {r[0]: r[1] for r in await pg_fetch(url, "SELECT id, version FROM cadres")}


def caught_up(url: str, want: dict[str, int], units: int) -> Callable[[], Any]:
    async def check() -> bool:
        u, c = await mirror_rows(url)
        return len(u) == units and {r["cadre_id"]: r["version"] for r in c} == want

    return check


async def _history(roster: RosterHarness, n: int) -> int:
    """A roster with a life: a unit tree, renames and moves, registrations, changes, moves, exits."""
    h = roster.auth()
    city = await roster.unit("平湖市", kind="city_organ")
    towns = [await roster.unit(f"第{i}镇", kind="town", parent_id=city["id"]) for i in range(3)]
    village = await roster.unit("东村", kind="village", parent_id=towns[0]["id"])
    resp = await roster.client.patch(f"/api/v1/roster/units/{towns[1]['id']}", headers=h, json={"name": "新名镇"})
    assert resp.status_code == 200, resp.text
    resp = await roster.client.post(
        f"/api/v1/roster/units/{village['id']}/move",
        headers=h,
        json={"parent_id": towns[2]["id"], "reason": "区划调整"},
    )
    assert resp.status_code == 200, resp.text
    homes = [city, *towns, village]
    cadres = [
        await roster.cadre(homes[i % len(homes)]["id"], birth_date=dt.date(1960 + i % 35, 1 + i % 12, 1 + i % 28))
        for i in range(n)
    ]
    for i, c in enumerate(cadres):
        url = f"/api/v1/roster/cadres/{c['id']}"
        version = 1
        for j in range(i % 3):
            resp = await roster.client.patch(
                url,
                headers={**h, "If-Match": f'"v{version}"'},
                json={"post_title": f"岗位{i}-{j}", "strengths": ["招商引资", f"特长{j}"], "party_member": j % 2 == 0},
            )
            assert resp.status_code == 200, resp.text
            version += 1
        if i % 4 == 1:
            resp = await roster.client.post(
                url + "/move",
                headers=h,
                json={
                    "unit_id": towns[(i + 1) % 3]["id"],
                    "post_title": "镇长",
                    "effective_on": "2025-03-01",
                    "reason": "交流",
                },
            )
            assert resp.status_code == 200, resp.text
        if i % 5 == 4:
            resp = await roster.client.post(
                url + "/exit", headers=h, json={"kind": "retired", "date": "2025-06-30", "reason": "到龄退休"}
            )
            assert resp.status_code == 200, resp.text
    return len(homes)


@pytest.mark.parametrize("cadres", [12, pytest.param(80, marks=pytest.mark.soak)])
async def test_the_mirror_rebuilt_from_a_snapshot_equals_the_live_one(
    pg_roster: RosterHarness, broker: Broker, signer: Signer, database_factories: Any, cadres: int
) -> None:
    live_db = await database_factories(SCORING_MIGRATIONS).fresh("postgres")
    roster_db = pg_roster.settings.database_url
    async with scoring_on(live_db, broker, signer):
        units = await _history(pg_roster, cadres)
        want = await roster_versions(roster_db)
        await wait_for(caught_up(live_db, want, units), what="the live mirror caught up")
    live = await mirror_rows(live_db)
    produced = len(await pg_fetch(roster_db, "SELECT id FROM outbox"))

    # A new scoring database, joining the same consumer group after the live one stopped:
    # it sees nothing of the past, only what roster sends from now on.
    snap_db = await database_factories(SCORING_MIGRATIONS).fresh("postgres")
    async with scoring_on(snap_db, broker, signer):
        resp = await pg_roster.client.post("/api/v1/roster/events/snapshot", headers=pg_roster.auth())
        assert resp.status_code == 200 and resp.json()["events"] == units + len(want), resp.text
        await wait_for(caught_up(snap_db, want, units), what="the mirror rebuilt from the snapshot")
    from_snapshot = await mirror_rows(snap_db)

    # And another one, from every retained event re-published (the history, then the snapshot).
    replay_db = await database_factories(SCORING_MIGRATIONS).fresh("postgres")
    async with scoring_on(replay_db, broker, signer):
        resp = await pg_roster.client.post(
            "/api/v1/roster/events/republish", params={"since": "2000-01-01T00:00:00Z"}, headers=pg_roster.auth()
        )
        assert resp.status_code == 200, resp.text
        await wait_for(caught_up(replay_db, want, units), what="the mirror rebuilt from re-published events")
        republished = resp.json()["republishing"]
    from_replay = await mirror_rows(replay_db)

    for name, rebuilt in (("snapshot", from_snapshot), ("republish", from_replay)):
        for table, a, b in (("mirror_units", live[0], rebuilt[0]), ("mirror_cadres", live[1], rebuilt[1])):
            # each differing row, by its columns that differ
            diffs = [{k: (x[k], y[k]) for k in x if x[k] != y[k]} for x, y in zip(a, b, strict=True) if x != y]
            assert not diffs, (name, table, diffs[:2])
    applied = 0
    for db in (snap_db, replay_db):
        applied += (await pg_fetch(db, "SELECT count(*) FROM inbox WHERE consumer = $1", MIRROR_CONSUMER))[0][0]
    Figures(
        "read model rebuilt",
        produced=produced,
        delivered=units + len(want) + republished,  # to the two rebuilt mirrors
        applied=applied,
        duplicated=0,
        lost=0,
        notes={
            "units equal": f"{len(live[0])}/{len(live[0])}",
            "cadres equal": f"{len(live[1])}/{len(live[1])}",
            "snapshot events": units + len(want),
        },
    ).report()
