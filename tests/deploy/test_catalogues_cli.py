"""``cadre catalogues publish-default YEAR``: the default catalogue for a year that has none,
drafted and published explicitly through the API; refused for a year that has one.

Here against the scoring app in-process (the paths are the gateway's: it forwards them as
they are); ``tests/e2e/test_scoring.py`` runs the command against the running system."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cadrekit.problems import Conflict, InvalidInput
from cadrekit.testing.plugin import Signer, free_port
from deploy import catalogues
from deploy.cli import main
from services.scoring.app import MIGRATIONS
from services.scoring.app import create_app as create_scoring
from tests.scoring.conftest import scoring_settings

CATALOGUES = "/api/v1/scoring/catalogues"


@pytest.fixture
async def api(database_factories: Any, signer: Signer) -> AsyncIterator[httpx.AsyncClient]:
    """The scoring API, signed in as the cadre office's admin client ``ops``."""
    url = await database_factories(MIGRATIONS).fresh("sqlite")
    app = create_scoring(scoring_settings(url), key_source=signer.key_source, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = signer.headers("admin", sub="ops")
        async with httpx.AsyncClient(transport=transport, base_url="http://scoring", headers=headers) as client:
            yield client


async def _versions(api: httpx.AsyncClient, year: int) -> list[tuple[int, str]]:
    return [(c["version"], c["status"]) for c in (await api.get(CATALOGUES, params={"year": year})).json()]


async def test_it_publishes_the_default_catalogue_as_the_client_for_a_year_that_has_none(
    api: httpx.AsyncClient,
) -> None:
    done = await catalogues.publish_default(api, 2026)
    assert (done["year"], done["version"], done["status"], done["published_by"]) == (2026, 1, "published", "ops")
    assert done["counts"]["positive_categories"] == 8 and done["counts"]["negative_categories"] == 5
    assert "publish-default" in done["note"]
    default = (await api.get(f"{CATALOGUES}/default")).json()
    published = (await api.get(f"{CATALOGUES}/{done['id']}")).json()
    assert {k: published[k] for k in default} == default
    assert await _versions(api, 2026) == [(1, "published")]


async def test_it_refuses_a_year_that_has_a_published_catalogue(api: httpx.AsyncClient) -> None:
    await catalogues.publish_default(api, 2026)
    with pytest.raises(Conflict) as refused:
        await catalogues.publish_default(api, 2026)
    assert "2026 already has a published catalogue (v1, published by ops" in refused.value.detail
    assert f"POST {CATALOGUES}/2026/drafts" in refused.value.detail
    assert await _versions(api, 2026) == [(1, "published")]


async def test_it_neither_publishes_nor_drafts_beside_a_draft_of_the_cadre_office(api: httpx.AsyncClient) -> None:
    draft = (await api.post(f"{CATALOGUES}/2026/drafts", json={"note": "干部科起草中"})).json()
    with pytest.raises(Conflict) as refused:
        await catalogues.publish_default(api, 2026)
    assert f"2026 has a draft catalogue (v1, {draft['id']}" in refused.value.detail
    assert f"POST {CATALOGUES}/{draft['id']}/publish" in refused.value.detail
    assert await _versions(api, 2026) == [(1, "draft")]


def test_credentials_come_from_the_file_clients_create_printed_or_the_environment(tmp_path: Path) -> None:
    made = tmp_path / "ops.json"
    made.write_text(json.dumps({"client_id": "ops", "client_secret": "s3cret", "role": "admin"}))
    assert catalogues.credentials(str(made), env={}) == ("ops", "s3cret")
    env = {"CADRE_CLIENT_ID": "ops2", "CADRE_CLIENT_SECRET": "x"}
    assert catalogues.credentials(None, env=env) == ("ops2", "x")
    with pytest.raises(InvalidInput, match="CADRE_CLIENT_ID"):
        catalogues.credentials(None, env={})
    with pytest.raises(InvalidInput, match="client_id and client_secret"):
        catalogues.credentials(str(tmp_path / "missing.json"), env={})


def test_the_command_says_why_it_did_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CADRE_CLIENT_ID", raising=False)
    monkeypatch.delenv("CADRE_CLIENT_SECRET", raising=False)
    assert main(["catalogues", "publish-default", "2026"]) == 1
    assert "no client credentials" in capsys.readouterr().err
    made = tmp_path / "ops.json"
    made.write_text(json.dumps({"client_id": "ops", "client_secret": "s3cret"}))
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["catalogues", "publish-default", "2026", "--gateway", down, "--credentials", str(made)]) == 1
    assert f"the gateway at {down}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["catalogues", "publish-default", "next-year"])
