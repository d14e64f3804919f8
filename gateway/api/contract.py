"""The portal's contract and cross-service reads: merged OpenAPI and its docs page, the
AsyncAPI document, and the audit log of personal-data reads across services."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from cadrekit.auth import Principal, Role, authenticate, require_roles
from cadrekit.errors import field_error
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.scope import whole_tree
from contracts import catalogue
from gateway.contract import Brokers, build_asyncapi, collect, merge_openapi

router = APIRouter(tags=["contract"])
CACHE_SECONDS = 30.0


async def _cached(request: Request, key: str, build: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Documents are rebuilt at most every CACHE_SECONDS, and at once while one is degraded."""
    cache: dict[str, tuple[float, dict[str, Any]]]
    cache = request.app.state.__dict__.setdefault("contract_cache", {})
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic() and "x-degraded" not in hit[1]:
        return hit[1]
    doc = await build()
    cache[key] = (time.monotonic() + CACHE_SECONDS, doc)
    return doc


@router.get("/api/v1/openapi.json", summary="The whole API: the gateway and every service, merged")
async def openapi(request: Request) -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        settings = request.app.state.runtime.settings
        docs, missing = await collect(request.app.state.http, settings.upstreams(), "/openapi.json")
        return merge_openapi(request.app.openapi(), docs, missing)

    return await _cached(request, "openapi", build)


@router.get("/api/v1/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Cadre Placement Platform API")


@router.get("/api/v1/asyncapi.json", summary="Every topic and event schema of every service (AsyncAPI 3.0)")
async def asyncapi(request: Request) -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        settings = request.app.state.runtime.settings
        catalogs, missing = await collect(request.app.state.http, settings.upstreams(), "/events/catalog")
        catalogs["gateway"] = catalogue.catalog("gateway")
        return build_asyncapi(catalogs, Brokers.of(settings), missing)

    return await _cached(request, "asyncapi", build)


Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]


def _decode(cursor: str | None) -> dict[str, str | None]:
    if not cursor:
        return {}
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise field_error("cursor", "not a cursor this endpoint gave out") from None
    if not isinstance(value, dict):
        raise field_error("cursor", "not a cursor this endpoint gave out")
    return value


@router.get(
    "/api/v1/audit",
    summary="Who read which personal data, when and why, across every service (newest first)",
    # The log names cadres of every unit: only a token for the whole tree reads it.
    dependencies=[Depends(authenticate), Depends(whole_tree("the audit log covers the whole city"))],
)
async def audit(
    request: Request,
    who: Auditor,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601 time")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
) -> dict[str, Any]:
    settings = request.app.state.runtime.settings
    http: httpx.AsyncClient = request.app.state.http
    positions = _decode(cursor)
    params = {k: v for k, v in {"subject_id": subject_id, "actor": actor, "since": since}.items() if v}
    headers = {"authorization": request.headers["authorization"]}
    services = [s for s in settings.upstreams() if not positions or s in positions]

    async def one(service: str) -> tuple[str, dict[str, Any] | None]:
        base = settings.upstreams()[service].rstrip("/")
        query: dict[str, Any] = {**params, "limit": limit}
        if positions.get(service):
            query["cursor"] = positions[service]
        try:
            resp = await http.get(
                f"{base}/api/v1/{service}/audit/personal-data-reads",
                params=query,
                headers=headers,
                timeout=settings.upstream_timeout_seconds,
            )
        except httpx.HTTPError:
            return service, None
        if resp.status_code != 200:
            return service, None
        return service, resp.json()

    pages = dict(await asyncio.gather(*(one(s) for s in services)))
    items = [{**item, "service": s} for s, page in pages.items() if page for item in page["items"]]
    items.sort(key=lambda i: i["at"], reverse=True)
    # Take the newest `limit` and remember, per service, where the next page starts.
    shown = items[:limit]
    nxt: dict[str, str | None] = {}
    for s, page in pages.items():
        if page is None:
            nxt[s] = positions.get(s)  # try it again next page
            continue
        taken = [i for i in shown if i["service"] == s]
        if len(taken) < len(page["items"]):
            nxt[s] = taken[-1]["cursor"] if taken else positions.get(s) or ""
        elif page.get("next_cursor"):
            nxt[s] = page["next_cursor"]
    nxt = {s: c for s, c in nxt.items() if c is not None}
    next_cursor = base64.urlsafe_b64encode(json.dumps(nxt).encode()).decode() if nxt else None
    degraded = sorted(s for s in services if pages.get(s) is None)
    return {"items": shown, "next_cursor": next_cursor, "degraded": degraded}
