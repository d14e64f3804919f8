"""Composed views: one answer built from several services, asked in parallel.

Each part is fetched with the caller's own token, so every service applies its own role
and unit-scope rules; a part that fails is left out and named in ``degraded``. Only the
roster record is essential: without it there is no cadre to show.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Query, Request

from cadrekit.auth import Principal, Role, require_roles
from cadrekit.dates import today
from cadrekit.problems import Forbidden, NotFound, ServiceUnavailable
from cadrekit.scope import Scope, in_path
from gateway.api.routes import enforce_rate_limit

router = APIRouter(tags=["composed views"])

# Who may read a cadre's whole picture: those who read the roster record (its essential part).
# The auditor reads the audit logs, not profiles.
PROFILE_READERS = (Role.admin, Role.officer, Role.unit_hr, Role.portal)


@dataclass(frozen=True)
class Part:
    name: str
    service: str
    path: str
    params: dict[str, Any]


def profile_parts(cadre_id: str, year: int) -> list[Part]:
    # The id goes into upstream paths: escaped, so no character of it can break the URL.
    path_id = quote(cadre_id, safe="")
    return [
        Part("cadre", "roster", f"/api/v1/roster/cadres/{path_id}", {"year": year}),
        Part("score", "scoring", f"/api/v1/scoring/cadres/{path_id}/standing", {"year": year}),
        Part("ledger", "scoring", f"/api/v1/scoring/cadres/{path_id}/ledger", {"year": year}),
        Part("placements", "matching", f"/api/v1/matching/cadres/{path_id}/placements", {}),
        Part("secondments", "secondment", "/api/v1/secondment/secondments", {"cadre_id": cadre_id}),
        Part("reserve_pool", "secondment", "/api/v1/secondment/reserve-pool", {"cadre_id": cadre_id}),
    ]


async def fetch_parts(
    http: httpx.AsyncClient, upstreams: dict[str, str], parts: list[Part], authorization: str, timeout: float
) -> dict[str, tuple[int, Any]]:
    """Each part's status and body; status 0 when the service did not answer."""

    async def one(part: Part) -> tuple[str, tuple[int, Any]]:
        try:
            resp = await http.get(
                upstreams[part.service].rstrip("/") + part.path,
                params=part.params,
                headers={"authorization": authorization},
                timeout=timeout,
            )
        except httpx.HTTPError:
            return part.name, (0, None)
        try:
            body = resp.json()
        except ValueError:
            body = None
        return part.name, (resp.status_code, body)

    return dict(await asyncio.gather(*(one(p) for p in parts)))


def _ledger_summary(ledger: dict[str, Any]) -> dict[str, Any]:
    lines = ledger.get("lines", [])
    return {
        "total": ledger.get("total"),
        "lines": len(lines),
        "waivers": sum(1 for ln in lines if ln.get("line") == "waiver"),
        "reversals": sum(1 for ln in lines if ln.get("line") == "reversal"),
        "pending": len(ledger.get("pending", [])),
        "last": lines[-3:],
    }


@router.get(
    "/api/v1/cadres/{cadre_id}/profile",
    summary="A cadre's whole picture: record, the year's score and rank, placements, secondments, reserve pool",
)
async def profile(
    cadre_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*PROFILE_READERS))],
    # The gateway's own roster mirror places the cadre: a cadre outside the token's units
    # is a 404 before any service is asked (the services would refuse it too).
    _scope: Annotated[Scope, Depends(in_path("cadre", "cadre_id"))],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    await enforce_rate_limit(request, principal)
    settings = request.app.state.runtime.settings
    year = year or today().year
    results = await fetch_parts(
        request.app.state.http,
        settings.upstreams(),
        profile_parts(cadre_id, year),
        request.headers["authorization"],
        settings.upstream_timeout_seconds,
    )
    status, cadre = results["cadre"]
    if status == 404:
        raise NotFound(f"cadre {cadre_id} does not exist")
    if status == 403:
        raise Forbidden("this cadre is outside your units")
    if status != 200:
        raise ServiceUnavailable("the roster service is unavailable; a profile cannot be shown without it")

    def ok(name: str) -> Any:
        code, body = results[name]
        return body if code == 200 else None

    out: dict[str, Any] = {"cadre_id": cadre_id, "year": year, "cadre": cadre}
    score, ledger = ok("score"), ok("ledger")
    out["score"] = score
    out["ledger"] = None if ledger is None else _ledger_summary(ledger)
    placements = ok("placements")
    out["placements"] = placements
    secondments = ok("secondments")
    out["secondments"] = None if secondments is None else secondments.get("items", secondments)
    reserve = ok("reserve_pool")
    out["reserve_pool"] = (
        None if reserve is None else {"in_pool": bool(reserve.get("items")), "entries": reserve.get("items")}
    )
    # A 404 from scoring means "no score yet": not a failure of the service.
    missing = {n for n, (code, _) in results.items() if code != 200 and not (n in ("score", "ledger") and code == 404)}
    out["degraded"] = sorted(missing)
    return out
