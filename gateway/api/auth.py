from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cadrekit.auth import Principal, Role, authenticate, require_roles
from cadrekit.problems import Problem
from gateway import clients, tokens

router = APIRouter(tags=["auth"])


class InvalidClient(Problem):
    status, slug, title, title_zh = 401, "invalid-client", "Invalid client", "客户端认证失败"


class UnsupportedGrant(Problem):
    status, slug, title, title_zh = 400, "unsupported-grant-type", "Unsupported grant type", "不支持的授权类型"


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


@router.post(
    "/api/v1/auth/token", response_model=TokenResponse, summary="OAuth2 client credentials → a short-lived signed JWT"
)
async def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=100)],
    client_id: Annotated[str, Form(min_length=1, max_length=100)],
    client_secret: Annotated[str, Form(min_length=1, max_length=200)],
) -> dict[str, Any]:
    if grant_type != "client_credentials":
        raise UnsupportedGrant("only grant_type=client_credentials is supported", error="unsupported_grant_type")
    runtime = request.app.state.runtime
    client = await clients.authenticate_client(runtime, client_id, client_secret)
    if client is None:
        raise InvalidClient("unknown client, wrong secret or disabled client", error="invalid_client")
    s = runtime.settings
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


@router.post(
    "/api/v1/auth/clients",
    status_code=201,
    dependencies=[Depends(authenticate)],
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


@router.get("/api/v1/auth/clients", dependencies=[Depends(authenticate)], summary="List API clients")
async def list_clients(request: Request, who: Admin) -> dict[str, Any]:
    return {"items": await clients.list_clients(request.app.state.runtime), "next_cursor": None}


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disabled: bool


@router.patch(
    "/api/v1/auth/clients/{client_id}",
    dependencies=[Depends(authenticate)],
    summary="Disable or enable a client (its tokens stop working at their next use)",
)
async def update_client(client_id: str, body: ClientUpdate, request: Request, who: Admin) -> dict[str, Any]:
    return await clients.set_disabled(request.app.state.runtime, client_id, body.disabled)


@router.post(
    "/api/v1/auth/clients/{client_id}/rotate-secret",
    dependencies=[Depends(authenticate)],
    summary="Issue a new secret (shown once); the old one stops working",
)
async def rotate_secret(client_id: str, request: Request, who: Admin) -> dict[str, Any]:
    return await clients.rotate_secret(request.app.state.runtime, client_id)
