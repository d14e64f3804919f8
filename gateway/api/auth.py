from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cadrekit.auth import Principal, Role, authenticate, require_roles
from cadrekit.problems import Problem, Unauthorized
from cadrekit.roster_mirror import get_units
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import whole_tree
from gateway import clients, tokens
from gateway.models import mirror

router = APIRouter(tags=["auth"])


class InvalidClient(Problem):
    status, slug, title, title_zh = 401, "invalid-client", "Invalid client", "客户端认证失败"


class UnsupportedGrant(Problem):
    status, slug, title, title_zh = 400, "unsupported-grant-type", "Unsupported grant type", "不支持的授权类型"


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
# The portal vouches for its logged-in person by naming them: the person has no account
# here, so the subject "token" is their identifier in the portal (RFC 8693 allows own types).
PERSON_TOKEN_TYPE = "urn:cadre:params:oauth:token-type:person"
# The person's id in the portal: a strict charset, so the issued identity is unambiguous.
PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_SCOPE_UNITS = 100


def person_subject(portal_client_id: str, person_id: str) -> str:
    """The ``sub`` of a token issued for a portal's person: namespaced to the portal, so it
    never equals a client id (which holds no ``:``), ``admin`` or another portal's person.
    Audit logs and four-eyes rules compare ``sub`` values and rely on this."""
    return f"portal:{portal_client_id}:{person_id}"


class ExchangeTokenResponse(TokenResponse):
    issued_token_type: str = ACCESS_TOKEN_TYPE


@router.post(
    "/api/v1/auth/token",
    response_model=ExchangeTokenResponse,
    response_model_exclude_none=True,
    summary="OAuth2 client credentials, or RFC 8693 token exchange → a short-lived signed JWT",
    description=(
        "`grant_type=client_credentials` with `client_id` and `client_secret`; or "
        f"`grant_type={TOKEN_EXCHANGE}` with `actor_token` (the portal's own access token), "
        f"`subject_token` (the person's id in the portal: 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter "
        f"or digit) and `subject_token_type={PERSON_TOKEN_TYPE}`, optionally `scope=unit:<id> unit:<id>` to "
        "narrow the unit scope to units inside the portal's subtrees. The issued token names the person as "
        "`sub` = `portal:<portal client id>:<person id>` and the portal as `act`; its role is the portal's "
        "and its scope never wider."
    ),
)
async def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=100)],
    client_id: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
    client_secret: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    subject_token: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
    subject_token_type: Annotated[str | None, Form(max_length=200)] = None,
    actor_token: Annotated[str | None, Form(min_length=1, max_length=4000)] = None,
    actor_token_type: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=4000)] = None,
) -> dict[str, Any]:
    runtime = request.app.state.runtime
    s = runtime.settings
    if grant_type == TOKEN_EXCHANGE:
        return await _exchange(request, subject_token, subject_token_type, actor_token, actor_token_type, scope)
    if grant_type != "client_credentials":
        raise UnsupportedGrant(f"grant_type is client_credentials or {TOKEN_EXCHANGE}", error="unsupported_grant_type")
    if not client_id or not client_secret:
        raise InvalidClient("client_id and client_secret are required", error="invalid_client")
    client = await clients.authenticate_client(runtime, client_id, client_secret)
    if client is None:
        raise InvalidClient("unknown client, wrong secret or disabled client", error="invalid_client")
    access = tokens.issue(
        request.app.state.keyring,
        issuer=s.token_issuer,
        audience=s.token_audience,
        ttl=s.token_ttl_seconds,
        sub=client.client_id,
        role=client.role,
        unit_scope=client.unit_scope,
        client_id=client.client_id,
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": s.token_ttl_seconds}


class InvalidRequest(Problem):
    status, slug, title, title_zh = 400, "invalid-request", "Invalid token request", "令牌请求无效"


async def _exchange(
    request: Request,
    subject_token: str | None,
    subject_token_type: str | None,
    actor_token: str | None,
    actor_token_type: str | None,
    scope: str | None,
) -> dict[str, Any]:
    if not actor_token or (actor_token_type or ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise InvalidRequest(f"actor_token (an access token, {ACCESS_TOKEN_TYPE}) is required", error="invalid_request")
    if not subject_token or subject_token_type != PERSON_TOKEN_TYPE:
        raise InvalidRequest(
            f"subject_token (the person's id) with subject_token_type={PERSON_TOKEN_TYPE} is required",
            error="invalid_request",
        )
    if not PERSON_ID.fullmatch(subject_token):
        message = "1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
        raise InvalidRequest(
            f"subject_token: {message}",
            error="invalid_request",
            errors=[{"field": "subject_token", "message": message}],
        )
    try:
        actor = await request.app.state.verifier.verify(actor_token)
    except Unauthorized as exc:
        raise InvalidClient(f"actor_token: {exc.detail}", error="invalid_client") from None
    if actor.act is not None:
        raise InvalidRequest("a token already issued for a person cannot be exchanged again", error="invalid_request")
    if actor.role is not Role.portal:
        raise UnauthorizedClient("only portal clients act for people", error="unauthorized_client")
    portal = actor.client_id or actor.sub
    unit_scope = await narrowed_scope(request.app.state.runtime, actor.unit_scope, scope)
    s = request.app.state.runtime.settings
    remaining = int(actor.claims["exp"]) - int(time.time())
    ttl = max(1, min(s.token_ttl_seconds, remaining))
    access = tokens.issue(
        request.app.state.keyring,
        issuer=s.token_issuer,
        audience=s.token_audience,
        ttl=ttl,
        sub=person_subject(portal, subject_token),
        role=actor.role.value,
        unit_scope=unit_scope,
        client_id=portal,
        act=portal,
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "issued_token_type": ACCESS_TOKEN_TYPE}


class UnauthorizedClient(Problem):
    status, slug, title, title_zh = 403, "unauthorized-client", "Client may not use this grant", "客户端无权使用该授权"


async def narrowed_scope(
    runtime: ServiceRuntime, held: tuple[str, ...] | None, requested: str | None
) -> list[str] | None:
    """The person's unit scope: the portal's, or a part of it asked for as ``unit:<id>``
    items: a unit of the portal's list or any unit below one, judged on the gateway's roster
    mirror (a unit is inside when its path starts with a scope unit's path). Never wider: a
    unit outside the portal's subtrees, or one the mirror does not know, is refused."""
    items = [item.removeprefix("unit:") for item in (requested or "").split() if item.startswith("unit:")]
    units = list(dict.fromkeys(items))
    if not units:
        return None if held is None else list(held)
    if len(units) > MAX_SCOPE_UNITS:
        raise InvalidRequest(f"scope names more than {MAX_SCOPE_UNITS} units", error="invalid_scope")
    if held is not None:
        outside = [u for u in units if u not in held]
        if outside:
            inside = await _below(runtime, held, outside)
            outside = [u for u in outside if u not in inside]
        if outside:
            raise InvalidRequest(f"scope wider than the portal's: {', '.join(outside)}", error="invalid_scope")
    return units


async def _below(runtime: ServiceRuntime, held: tuple[str, ...], candidates: list[str]) -> set[str]:
    """Those of the candidates whose mirrored path lies under one of the held units' paths."""

    def plausible(ids: Iterable[str]) -> list[str]:
        # Only what can be a unit id is looked up (no NUL: PostgreSQL text cannot hold it).
        return [u for u in ids if len(u) <= 36 and "\x00" not in u]

    lookup = plausible(candidates)
    if not lookup:
        return set()
    async with runtime.sessions() as session:
        units = await get_units(session, mirror, [*plausible(held), *lookup])
    roots = [units[h].path for h in held if h in units]
    return {u for u in lookup if u in units and any(units[u].path.startswith(r) for r in roots)}


@router.get("/.well-known/jwks.json", summary="Public keys that verify the platform's tokens")
async def jwks(request: Request) -> dict[str, Any]:
    return request.app.state.keyring.jwks()  # type: ignore[no-any-return]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    role: Role
    unit_scope: list[Annotated[str, StringConstraints(max_length=36)]] | None = Field(default=None, max_length=100)
    client_id: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.-]{3,100}$")] | None = None


Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
# Clients are the platform's, not a unit's: an admin token limited to some units manages none.
ClientsScope = whole_tree("API clients serve the whole platform")


@router.post(
    "/api/v1/auth/clients",
    status_code=201,
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="Create an API client (the secret is shown once)",
)
async def create_client(body: ClientCreate, request: Request, who: Admin) -> dict[str, Any]:
    return await clients.create_client(
        request.app.state.runtime,
        name=body.name,
        role=body.role.value,
        unit_scope=body.unit_scope,
        created_by=who.sub,
        client_id=body.client_id,
    )


@router.get(
    "/api/v1/auth/clients", dependencies=[Depends(authenticate), Depends(ClientsScope)], summary="List API clients"
)
async def list_clients(request: Request, who: Admin) -> dict[str, Any]:
    return {"items": await clients.list_clients(request.app.state.runtime), "next_cursor": None}


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool


@router.patch(
    "/api/v1/auth/clients/{client_id}",
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="Disable or enable a client (its tokens stop working at their next use)",
)
async def update_client(client_id: str, body: ClientUpdate, request: Request, who: Admin) -> dict[str, Any]:
    return await clients.set_disabled(request.app.state.runtime, client_id, body.disabled)


@router.post(
    "/api/v1/auth/clients/{client_id}/rotate-secret",
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="Issue a new secret (shown once); the old one stops working",
)
async def rotate_secret(client_id: str, request: Request, who: Admin) -> dict[str, Any]:
    return await clients.rotate_secret(request.app.state.runtime, client_id)
