"""``cadre catalogues publish-default YEAR``: a year's first catalogue, the default one, through
the gateway's API as any client of the cadre office would publish it.

A year's entries can only be proposed under a published catalogue, and nothing publishes
one on its own: the catalogue is the department's decision. This command is the operator's
explicit way to publish the default catalogue (``GET /api/v1/scoring/catalogues/default``,
its open values marked ``default: true``) for a year that has none: it drafts it and
publishes the draft, as the client whose credentials it is given (an ``admin`` or
``officer`` client for the whole city), so ``created_by`` and ``published_by`` name that
client. It refuses a year that has a published catalogue (a change is a new version, drafted
and checked by the cadre office) or a draft (someone is preparing that year's catalogue).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from cadrekit.problems import Conflict, InvalidInput, Problem, ServiceUnavailable

CATALOGUES = "/api/v1/scoring/catalogues"
NOTE = "the default catalogue, drafted and published by `cadre catalogues publish-default`"
DEFAULT_GATEWAY = "http://127.0.0.1:8000"


def credentials(path: str | None, env: dict[str, str] | None = None) -> tuple[str, str]:
    """The client's id and secret: from a JSON file with ``client_id`` and ``client_secret``
    (what ``cadre clients create`` prints, or the bootstrap file of ``make run``), else from
    CADRE_CLIENT_ID and CADRE_CLIENT_SECRET."""
    env = dict(os.environ) if env is None else env
    if path is not None:
        try:
            found = json.loads(Path(path).read_text(encoding="utf-8"))
            return str(found["client_id"]), str(found["client_secret"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(
                f"--credentials {path}: not a JSON file with client_id and client_secret ({exc})"
            ) from exc
    if env.get("CADRE_CLIENT_ID") and env.get("CADRE_CLIENT_SECRET"):
        return env["CADRE_CLIENT_ID"], env["CADRE_CLIENT_SECRET"]
    raise InvalidInput(
        "no client credentials: give --credentials FILE (the JSON `cadre clients create` printed) "
        "or set CADRE_CLIENT_ID and CADRE_CLIENT_SECRET"
    )


async def _call(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
    try:
        resp = await client.request(method, path, **kw)
    except httpx.TransportError as exc:
        raise ServiceUnavailable(f"the gateway at {client.base_url} is not reachable: {exc}") from exc
    if resp.is_success:
        return resp.json()
    try:
        detail = resp.json().get("detail") or resp.text
    except ValueError:
        detail = resp.text
    raise Problem(f"{method} {path} answered {resp.status_code}: {detail}")


async def sign_in(client: httpx.AsyncClient, client_id: str, secret: str) -> None:
    """Get a token for the client and send it with every later call."""
    token = await _call(
        client,
        "POST",
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    client.headers["Authorization"] = f"Bearer {token['access_token']}"


async def publish_default(client: httpx.AsyncClient, year: int) -> dict[str, Any]:
    """Draft the default catalogue for ``year`` and publish it, if the year has no catalogue
    at all; what was published, in brief."""
    versions = await _call(client, "GET", CATALOGUES, params={"year": year})
    published = [c for c in versions if c["status"] == "published"]
    if published:
        newest = published[0]  # newest first
        raise Conflict(
            f"{year} already has a published catalogue (v{newest['version']}, published by "
            f"{newest['published_by']} at {newest['published_at']}); publish-default publishes only a year's "
            f"first catalogue. A change is a new version the cadre office drafts with POST {CATALOGUES}/{year}/drafts, "
            f"checks, and publishes with POST {CATALOGUES}/{{catalogue_id}}/publish"
        )
    if versions:  # what is not published is the year's one draft
        waiting = versions[0]
        raise Conflict(
            f"{year} has a draft catalogue (v{waiting['version']}, {waiting['id']}, by {waiting['created_by']}) that "
            f"the cadre office is preparing; publish-default neither publishes it nor drafts beside it. Once checked, "
            f"it is published with POST {CATALOGUES}/{waiting['id']}/publish"
        )
    default = await _call(client, "GET", f"{CATALOGUES}/default")
    draft = await _call(client, "POST", f"{CATALOGUES}/{year}/drafts", json={**default, "note": NOTE})
    if draft["version"] != 1:
        raise Conflict(
            f"a catalogue for {year} was made while this command ran; the default it drafted (v{draft['version']}, "
            f"{draft['id']}) is left unpublished for the cadre office to decide on"
        )
    done = await _call(client, "POST", f"{CATALOGUES}/{draft['id']}/publish")
    return {
        "id": done["id"],
        "year": done["year"],
        "version": done["version"],
        "status": done["status"],
        "published_by": done["published_by"],
        "published_at": done["published_at"],
        "counts": done["counts"],
        "note": done["note"],
    }


async def run(year: int, *, gateway: str | None, credentials_file: str | None) -> dict[str, Any]:
    client_id, secret = credentials(credentials_file)
    base = gateway or os.environ.get("CADRE_GATEWAY_URL") or DEFAULT_GATEWAY
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await sign_in(client, client_id, secret)
        return await publish_default(client, year)
