from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
from fastapi import APIRouter, Request
from starlette.responses import Response

from cadrekit.auth import Principal, authenticate
from cadrekit.problems import NotFound, Problem
from gateway.proxy import forward

router = APIRouter()


class TooManyRequests(Problem):
    status, slug, title, title_zh = 429, "rate-limited", "Too many requests", "请求过于频繁"


async def enforce_rate_limit(request: Request, principal: Principal) -> None:
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is None:
        return
    decision = await limiter.hit(principal.client_id or principal.sub)
    if not decision.allowed:
        wait = max(1, math.ceil(decision.retry_after))
        raise TooManyRequests(
            f"this client's rate limit is reached; retry in {wait} s", headers={"Retry-After": str(wait)}
        )


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.get("/api/v1/health", tags=["operations"], summary="Each service's and the broker's state")
async def platform_health(request: Request) -> dict[str, Any]:
    settings = request.app.state.runtime.settings
    http: httpx.AsyncClient = request.app.state.http

    async def probe(name: str, base: str) -> tuple[str, dict[str, Any]]:
        try:
            live = await http.get(base.rstrip("/") + "/health", timeout=3.0)
            ready = await http.get(base.rstrip("/") + "/ready", timeout=3.0)
            body = live.json()
            return name, {
                "status": "up" if live.status_code == 200 else "down",
                "ready": ready.status_code == 200,
                "relay": body.get("relay"),
                "consumers": body.get("consumers"),
                "mirror": body.get("mirror"),
            }
        except (httpx.HTTPError, ValueError) as exc:
            return name, {"status": "down", "ready": False, "error": type(exc).__name__}

    results = dict(await asyncio.gather(*(probe(n, u) for n, u in settings.upstreams().items())))
    broker = await _broker_reachable(settings.kafka_bootstrap)
    status = "ok" if all(v["status"] == "up" for v in results.values()) and broker else "degraded"
    return {
        "status": status,
        "services": results,
        "broker": {"bootstrap": settings.kafka_bootstrap, "reachable": broker},
    }


async def _broker_reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout=2.0)
    except (TimeoutError, OSError, ValueError):
        return False
    writer.close()
    return True


@router.api_route("/api/v1/{service}/{path:path}", methods=METHODS, include_in_schema=False)
async def proxy(service: str, path: str, request: Request) -> Response:
    settings = request.app.state.runtime.settings
    upstreams = settings.upstreams()
    if service not in upstreams:
        raise NotFound(f"no service named {service}")
    principal = await authenticate(request)  # the gateway's verifier also refuses disabled clients
    await enforce_rate_limit(request, principal)
    timeout = settings.upload_timeout_seconds if "imports" in path else settings.upstream_timeout_seconds
    return await forward(request.app.state.proxy_session, request, upstreams[service], service, timeout)
