"""The ``cadre`` command creates the first clients straight in the gateway's database."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from cadrekit.runtime import ServiceRuntime
from deploy.cli import main
from gateway import clients
from gateway.app import MIGRATIONS
from gateway.models import metadata
from gateway.settings import GatewaySettings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else out.err


async def test_cadre_clients_create_list_disable(
    database_factories: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await database_factories(MIGRATIONS).fresh("sqlite")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    code, made = await asyncio.to_thread(_run, capsys, "clients", "create", "--name", "门户", "--role", "portal")
    assert code == 0 and made["role"] == "portal" and made["client_secret"]

    runtime = ServiceRuntime(GatewaySettings(database_url=url), metadata, MIGRATIONS)
    try:
        assert await clients.authenticate_client(runtime, made["client_id"], made["client_secret"]) is not None
        code, listed = await asyncio.to_thread(_run, capsys, "clients", "list")
        assert code == 0 and [c["client_id"] for c in listed] == [made["client_id"]]
        assert "client_secret" not in json.dumps(listed)
        code, _ = await asyncio.to_thread(_run, capsys, "clients", "disable", made["client_id"])
        assert code == 0
        assert await clients.authenticate_client(runtime, made["client_id"], made["client_secret"]) is None
        code, err = await asyncio.to_thread(_run, capsys, "clients", "create", "--name", "x", "--role", "unit_hr")
        assert code == 1 and "unit scope" in err
    finally:
        await runtime.engine.dispose()


@pytest.mark.parametrize("client_id", ["portal:gw:admin", "ab", "门户", "a b c", "x" * 101])
async def test_cadre_clients_create_refuses_a_client_id_outside_the_charset(
    database_factories: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], client_id: str
) -> None:
    """The CLI writes to the database directly, so the id rule lives in create_client: a
    ``portal:<client>:<person>`` identity can never be made a client's id from the command line."""
    url = await database_factories(MIGRATIONS).fresh("sqlite")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    argv = ("clients", "create", "--name", "门户", "--role", "portal", "--client-id", client_id)
    code, err = await asyncio.to_thread(_run, capsys, *argv)
    assert code == 1 and "client id" in err
    code, listed = await asyncio.to_thread(_run, capsys, "clients", "list")
    assert code == 0 and listed == []
