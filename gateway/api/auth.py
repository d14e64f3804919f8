from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cadrekit.auth import Principal, Role, authenticate, require_roles
from cadrekit.problems import Problem, Unauthorized
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import whole_tree
from gateway import clients, delegations, scopes, tokens

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
# Asked for in ``scope``: the officer role, for a person registered with the portal
# (gateway/delegations.py). Without it the person gets the portal's own role.
OFFICER_SCOPE = "role:officer"


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
        f"and its scope never wider. With `{OFFICER_SCOPE}` in `scope` the role is `officer`, for a person an "
        "admin registered with the portal (`/api/v1/auth/clients/{client_id}/delegations`) only, and the scope "
        "is the registered one (or a part of it asked for as `unit:<id>`); anyone else is refused (403 "
        "`officer-not-registered`)."
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
    if not delegations.PERSON_ID.fullmatch(subject_token):
        message = delegations.PERSON_ID_RULE
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
    runtime = request.app.state.runtime
    portal = actor.client_id or actor.sub
    person = delegations.person_subject(portal, subject_token)
    role: Role = actor.role
    held, delegation = actor.unit_scope, None
    logged = {"person": person, "portal": portal, "action": "token-exchange", "method": "POST"}
    if officer_requested(scope):
        delegation = await delegations.in_force(runtime, portal, subject_token)
        if delegation is None:
            # A refused attempt is part of the record too: a portal asking for an officer it has not.
            await delegations.record(runtime, **logged, delegation_id=None, path=request.url.path, status=403)
            raise OfficerNotRegistered(
                f"{subject_token} is not registered as an officer of {portal}; an admin registers the "
                "persons a portal may act for as officers",
                error="invalid_scope",
                errors=[{"field": "subject_token", "message": "not registered as an officer of this portal"}],
            )
        role = Role.officer
        held = None if delegation.unit_scope is None else tuple(delegation.unit_scope)
    unit_scope = await narrowed_scope(runtime, held, scope, whose="the registered" if delegation else "the portal's")
    s = runtime.settings
    remaining = int(actor.claims["exp"]) - int(time.time())
    ttl = max(1, min(s.token_ttl_seconds, remaining))
    access = tokens.issue(
        request.app.state.keyring,
        issuer=s.token_issuer,
        audience=s.token_audience,
        ttl=ttl,
        sub=person,
        role=role.value,
        unit_scope=unit_scope,
        client_id=portal,
        act=portal,
        delegation_id=delegation.id if delegation else None,
    )
    if delegation is not None:
        await delegations.record(runtime, **logged, delegation_id=delegation.id, path=request.url.path, status=200)
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "issued_token_type": ACCESS_TOKEN_TYPE}


class UnauthorizedClient(Problem):
    status, slug, title, title_zh = 403, "unauthorized-client", "Client may not use this grant", "客户端无权使用该授权"


class OfficerNotRegistered(Problem):
    status, slug = 403, "officer-not-registered"
    title, title_zh = "Not registered as an officer of this portal", "未登记为该门户可代理的干部"


def officer_requested(requested: str | None) -> bool:
    """Whether ``scope`` asks for the officer role; any other ``role:`` item is refused."""
    roles = [item for item in (requested or "").split() if item.startswith("role:")]
    unknown = [r for r in roles if r != OFFICER_SCOPE]
    if unknown:
        raise InvalidRequest(f"scope may ask for {OFFICER_SCOPE} only, not {unknown[0][:40]}", error="invalid_scope")
    return bool(roles)


async def narrowed_scope(
    runtime: ServiceRuntime, held: tuple[str, ...] | None, requested: str | None, *, whose: str = "the portal's"
) -> list[str] | None:
    """The person's unit scope: the one held (the portal's, or the registered officer's), or
    a part of it asked for as ``unit:<id>`` items: a unit of the held list or any unit below
    one, judged on the gateway's roster mirror. Never wider: a unit outside the held
    subtrees, or one the mirror does not know, is refused."""
    items = [item.removeprefix("unit:") for item in (requested or "").split() if item.startswith("unit:")]
    units = list(dict.fromkeys(items))
    if not units:
        return None if held is None else list(held)
    if len(units) > delegations.MAX_SCOPE_UNITS:
        raise InvalidRequest(f"scope names more than {delegations.MAX_SCOPE_UNITS} units", error="invalid_scope")
    wider = await scopes.outside(runtime, held, units)
    if wider:
        raise InvalidRequest(f"scope wider than {whose}: {', '.join(wider)}", error="invalid_scope")
    return units


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
