"""Every cell of the role × endpoint matrix, generated from the routes themselves.

For each service and each endpoint under /api/v1/, every caller calls it (each role, and a
portal acting for a registered person as an officer, admitted where officers are): a role
the route does not admit gets 403 before anything else happens; a role it admits is never
refused for its role (it may still get 404 or 422 for the made-up ids and empty bodies). No
endpoint answers 500 to any of it, and docs/access.md holds this matrix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cadrekit.auth import Role
from cadrekit.role_matrix import CALLERS, Caller, matrix
from cadrekit.settings import BaseServiceSettings
from cadrekit.testing.plugin import Signer, free_port
from gateway import tokens
from gateway.app import MIGRATIONS as GATEWAY
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from services.matching.app import MIGRATIONS as MATCHING
from services.matching.app import create_app as create_matching
from services.matching.settings import MatchingSettings
from services.roster.app import MIGRATIONS as ROSTER
from services.roster.app import create_app as create_roster
from services.scoring.app import MIGRATIONS as SCORING
from services.scoring.app import create_app as create_scoring
from services.scoring.settings import ScoringSettings
from services.secondment.app import MIGRATIONS as SECONDMENT
from services.secondment.app import create_app as create_secondment
from services.secondment.settings import SecondmentSettings
from tests.access.world import signed
from tests.access.worlds.gateway import officer_tokens
from tests.conftest import roster_settings

ISSUER = BaseServiceSettings.model_fields["token_issuer"].default
AUDIENCE = BaseServiceSettings.model_fields["token_audience"].default
SERVICES = ("gateway", "roster", "scoring", "matching", "secondment")


async def _app(name: str, database_factories: Any, signer: Signer, tmp_path: Path) -> FastAPI:
    common: dict[str, Any] = {"kafka_enabled": False, "mode": "test"}
    if name == "gateway":
        url = await database_factories(GATEWAY).fresh("sqlite")
        values: dict[str, Any] = {
            "database_url": url,
            "signing_keys_dir": tmp_path / "gw-keys",
            "bootstrap_file": tmp_path / "boot.json",
            "upstream_timeout_seconds": 0.5,
            **common,
        }
        # Nothing listens: the gateway's composed reads answer 503, never 500.
        values.update({f"{s}_url": f"http://127.0.0.1:{free_port()}" for s in SERVICES[1:]})
        settings = GatewaySettings(**values)
        return create_gateway(settings, configure_logs=False)
    if name == "roster":
        url = await database_factories(ROSTER).fresh("sqlite")
        return create_roster(
            roster_settings(url, tmp_path / "keys"), key_source=signer.key_source, configure_logs=False
        )
    if name == "scoring":
        url = await database_factories(SCORING).fresh("sqlite")
        return create_scoring(
            ScoringSettings(database_url=url, **common), key_source=signer.key_source, configure_logs=False
        )
    if name == "matching":
        url = await database_factories(MATCHING).fresh("sqlite")
        return create_matching(
            MatchingSettings(database_url=url, **common), key_source=signer.key_source, configure_logs=False
        )
    url = await database_factories(SECONDMENT).fresh("sqlite")
    return create_secondment(
        SecondmentSettings(database_url=url, **common), key_source=signer.key_source, configure_logs=False
    )


@pytest.fixture(params=SERVICES)
async def service(request: Any, database_factories: Any, signer: Signer, tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = await _app(request.param, database_factories, signer, tmp_path)
    async with app.router.lifespan_context(app):
        yield app


def _headers(app: FastAPI, signer: Signer, role: Role, scope: list[str] | None) -> dict[str, str]:
    ring = getattr(app.state, "keyring", None)
    if ring is None:
        return signer.headers(role.value, sub=f"{role.value}-person", unit_scope=scope)
    # The gateway verifies its own tokens (and that their client exists: the bootstrap one).
    boot = app.state.runtime.settings.bootstrap_file.read_text()
    client_id = __import__("json").loads(boot)["client_id"]
    token = tokens.issue(
        ring,
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl=600,
        sub=f"{role.value}-person",
        role=role.value,
        unit_scope=scope,
        client_id=client_id,
    )
    return {"Authorization": f"Bearer {token}"}


def _fill(path: str) -> str:
    path = re.sub(r"\{year\}", "2025", path)
    return re.sub(r"\{[a-z_]+\}", lambda _: str(uuid.uuid4()), path)


async def test_every_role_gets_exactly_what_the_matrix_says(service: FastAPI, signer: Signer) -> None:
    cells = matrix(service)
    assert cells, "no endpoints found"
    unit = str(uuid.uuid4())
    transport = httpx.ASGITransport(app=service)
    wrong: list[str] = []
    # At the gateway the delegated caller's token is a real exchange for a registered person.
    officers = await officer_tokens(service, [None]) if hasattr(service.state, "keyring") else {}

    def headers(caller: Caller, scope: list[str] | None) -> dict[str, str]:
        if not caller.delegated:
            return _headers(service, signer, caller.role, scope)
        if officers:
            return {"Authorization": f"Bearer {officers[None]}"}
        return signed(signer)(caller, scope)

    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        for cell in cells:
            url = _fill(cell.path)
            for caller in CALLERS:
                scope = [unit] if caller.role is Role.unit_hr else None
                body: dict[str, Any] | None = {} if cell.method in ("POST", "PUT", "PATCH") else None
                resp = await client.request(cell.method, url, headers=headers(caller, scope), json=body)
                what = f"{cell.method} {cell.path} as {caller.name}"
                admitted = cell.admits(caller)
                if resp.status_code >= 500 and not (resp.status_code in (503, 504) and admitted):
                    wrong.append(f"{what}: {resp.status_code} {resp.text[:200]}")
                elif not admitted and resp.status_code != 403:
                    wrong.append(f"{what}: {resp.status_code}, expected 403")
                elif admitted and resp.status_code == 401:
                    wrong.append(f"{what}: 401")
                elif admitted and caller.role is not Role.unit_hr and resp.status_code == 403:
                    # unit_hr may meet 403 for a unit outside its scope; others never for their role
                    wrong.append(f"{what}: 403 though admitted ({resp.text[:120]})")
            anonymous = await client.request(cell.method, url, json={} if cell.method != "GET" else None)
            if cell.authenticated and anonymous.status_code != 401:
                wrong.append(f"{cell.method} {cell.path} without a token: {anonymous.status_code}")
    assert not wrong, "\n".join(wrong)


def test_docs_access_holds_the_tables_the_routes_declare() -> None:
    from deploy.role_matrix import DOC, render

    doc = DOC.read_text()
    assert render(doc) == doc, "docs/access.md is out of date: run `python -m deploy.role_matrix`"
