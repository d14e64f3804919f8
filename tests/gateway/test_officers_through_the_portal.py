"""The four-eyes rule through the portal, end to end (issue 17, item 7).

The gateway in front of a scoring service listening on a port of its own, which verifies the
gateway's tokens as in production. A portal limited to one district acts for two persons an
admin registered as officers, A and B. A proposes a sanction for a cadre of the district
through the gateway; A may not approve it (the proposer never approves); B may, and the
cadre's total moves. C, whom nobody registered, gets no officer token; the portal itself,
and A on a plain person token, may neither propose nor approve. The gateway's log holds
each of these steps with the person and the portal; scoring's own audit row of B's read of
the sanction names both as well.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cadrekit.auth import StaticKeySource
from cadrekit.roster_mirror import upsert_cadre, upsert_unit
from cadrekit.testing.plugin import free_port
from gateway.app import MIGRATIONS as GATEWAY
from gateway.app import create_app as create_gateway
from gateway.models import DelegatedAction
from gateway.settings import GatewaySettings
from services.scoring.app import MIGRATIONS as SCORING
from services.scoring.app import create_app as create_scoring
from services.scoring.models import mirror as scoring_mirror
from services.scoring.settings import ScoringSettings
from tests.factories import mirrored_cadre
from tests.gateway.conftest import GatewayHarness, exchange, new_client
from tests.servers import serving

SCORING_API = "/api/v1/scoring"
YEAR = 2025


@dataclass
class Stack:
    gateway: GatewayHarness
    district: str
    cadre_id: str


@pytest.fixture
async def stack(backend: str, database_factories: Any, tmp_path: Path) -> AsyncIterator[Stack]:
    district = str(uuid.uuid4())
    cadre = mirrored_cadre(district, name="张建平", leadership_status="second_line")
    # Nothing listens for roster, matching and secondment: only scoring is asked here.
    down: dict[str, Any] = {f"{s}_url": f"http://127.0.0.1:{free_port()}" for s in ("roster", "matching", "secondment")}
    gw_settings = GatewaySettings(
        database_url=await database_factories(GATEWAY).fresh(backend),
        mode="test",
        kafka_enabled=False,
        rate_limit_enabled=False,
        signing_keys_dir=tmp_path / "gw-keys",
        bootstrap_file=tmp_path / "boot.json",
        upstream_timeout_seconds=10,
        **down,
    )
    holder: dict[str, Any] = {}
    # Scoring verifies with the gateway's public keys, read when the first token comes.
    scoring_app = create_scoring(
        ScoringSettings(
            database_url=await database_factories(SCORING).fresh(backend), kafka_enabled=False, mode="test"
        ),
        key_source=StaticKeySource(lambda: holder["gateway"].state.keyring.public_keys()),
        configure_logs=False,
    )
    async with contextlib.AsyncExitStack() as stack:
        scoring_url = await stack.enter_async_context(serving(scoring_app))
        async with scoring_app.state.context.runtime.sessions() as s:
            await upsert_unit(
                s,
                scoring_mirror,
                {"unit_id": district, "name": "甲区", "kind": "district", "path": f"/{district}/", "version": 1},
            )
            await upsert_cadre(s, scoring_mirror, cadre)
            await s.commit()
        app = create_gateway(gw_settings.model_copy(update={"scoring_url": scoring_url}), configure_logs=False)
        holder["gateway"] = app
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30)
        )
        gw = GatewayHarness(app, client, gw_settings)
        admin = await gw.auth()
        draft = await client.post(f"{SCORING_API}/catalogues/{YEAR}/drafts", headers=admin)
        assert draft.status_code == 201, draft.text
        published = await client.post(f"{SCORING_API}/catalogues/{draft.json()['id']}/publish", headers=admin)
        assert published.status_code == 200, published.text
        yield Stack(gw, district, cadre["cadre_id"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_registered_officer_proposes_and_only_another_registered_officer_approves(stack: Stack) -> None:
    gw, district = stack.gateway, stack.district
    admin = await gw.auth()
    portal_id, portal = await new_client(gw, "portal", [district])
    for person in ("officer-a", "officer-b"):
        made = await gw.client.post(
            f"/api/v1/auth/clients/{portal_id}/delegations",
            headers=admin,
            json={"person_id": person, "unit_scope": [district]},
        )
        assert made.status_code == 201, made.text

    async def officer(person: str) -> dict[str, str]:
        resp = await exchange(gw, portal, person, scope="role:officer")
        assert resp.status_code == 200, resp.text
        return bearer(resp.json()["access_token"])

    a, b = await officer("officer-a"), await officer("officer-b")
    sub_a, sub_b = f"portal:{portal_id}:officer-a", f"portal:{portal_id}:officer-b"

    proposal = {
        "cadre_id": stack.cadre_id,
        "rule_code": "N03",
        "year": YEAR,
        "occurred_on": f"{YEAR}-03-01",
        "evidence": "市纪委诫勉决定",
    }
    # The portal itself, and A behind it on a plain person token, may not propose.
    plain_a = bearer((await exchange(gw, portal, "officer-a")).json()["access_token"])
    for not_an_officer in (bearer(portal), plain_a):
        refused = await gw.client.post(f"{SCORING_API}/entries", headers=not_an_officer, json=proposal)
        assert refused.status_code == 403, refused.text

    proposed = await gw.client.post(f"{SCORING_API}/entries", headers=a, json=proposal)
    assert proposed.status_code == 201, proposed.text
    entry = proposed.json()
    assert (entry["proposed_by"], entry["status"]) == (sub_a, "pending")
    approve = f"{SCORING_API}/entries/{entry['id']}/approve"

    own = await gw.client.post(approve, headers=a)
    assert own.status_code == 403, own.text
    assert "four-eyes" in own.json()["detail"]
    for not_an_officer in (bearer(portal), plain_a):
        assert (await gw.client.post(approve, headers=not_an_officer)).status_code == 403

    # C is nobody the admin registered: no officer token, so no second pair of eyes either.
    c = await exchange(gw, portal, "officer-c", scope="role:officer")
    assert c.status_code == 403 and c.json()["type"].endswith("/officer-not-registered")

    approved = await gw.client.post(approve, headers=b)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", sub_b)
    ledger = await gw.client.get(f"{SCORING_API}/cadres/{stack.cadre_id}/ledger", headers=b, params={"year": YEAR})
    assert ledger.status_code == 200, ledger.text
    assert ledger.json()["total"] == "-2.00" and ledger.json()["pending"] == []

    # B reads the sanction's text: scoring's audit row names the person and the portal.
    revealed = await gw.client.get(f"{SCORING_API}/entries/{entry['id']}", headers=b, params={"reveal": "true"})
    assert revealed.status_code == 200 and revealed.json()["masked"] is False
    reads = await gw.client.get(f"{SCORING_API}/audit/personal-data-reads", headers=admin)
    assert [(r["actor"], r["acting_client"], r["subject_id"]) for r in reads.json()["items"]] == [
        (sub_b, portal_id, entry["id"])
    ]

    async with gw.app.state.runtime.sessions() as s:
        rows = list((await s.execute(select(DelegatedAction).order_by(DelegatedAction.id))).scalars())  # type: ignore[arg-type]
    entries = f"{SCORING_API}/entries"
    assert [(r.person, r.portal, r.action, r.method, r.path, r.status) for r in rows] == [
        (sub_a, portal_id, "token-exchange", "POST", "/api/v1/auth/token", 200),
        (sub_b, portal_id, "token-exchange", "POST", "/api/v1/auth/token", 200),
        (sub_a, portal_id, "request", "POST", entries, 201),
        (sub_a, portal_id, "request", "POST", approve, 403),
        (f"portal:{portal_id}:officer-c", portal_id, "token-exchange", "POST", "/api/v1/auth/token", 403),
        (sub_b, portal_id, "request", "POST", approve, 200),
        (sub_b, portal_id, "request", "GET", f"{SCORING_API}/cadres/{stack.cadre_id}/ledger", 200),
        (sub_b, portal_id, "request", "GET", f"{entries}/{entry['id']}", 200),
    ]
