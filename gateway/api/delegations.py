"""The persons a portal may act for as officers (admin), and the log of what they did
through it (admin, auditor). The registry and the log are gateway/delegations.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StringConstraints
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadrekit.auth import Principal, Role, authenticate, require_roles
from cadrekit.errors import field_error
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.runtime import ServiceRuntime
from cadrekit.schemas import Strict
from cadrekit.scope import whole_tree
from gateway import delegations
from gateway.api.auth import Admin, ClientsScope
from gateway.delegations import DelegatedActionPage, DelegationPage, DelegationPublic

router = APIRouter(tags=["auth"])

UnitId = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class DelegationCreate(Strict):
    person_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = Field(
        description="the person's id in the portal, as the portal names them in token exchange"
    )
    unit_scope: list[UnitId] | None = Field(
        max_length=delegations.MAX_SCOPE_UNITS,
        min_length=1,
        description="units inside the portal's scope; null (for a portal with the whole tree only): the whole tree",
    )


DELEGATIONS = "/api/v1/auth/clients/{client_id}/delegations"


@router.post(
    DELEGATIONS,
    status_code=201,
    response_model=DelegationPublic,
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="Register a person the portal may act for as an officer, with a unit scope inside the portal's",
)
async def register(client_id: str, body: DelegationCreate, request: Request, who: Admin) -> DelegationPublic:
    return await delegations.register(
        request.app.state.runtime,
        portal_client_id=client_id,
        person_id=body.person_id,
        unit_scope=body.unit_scope,
        created_by=who.sub,
    )


@router.get(
    DELEGATIONS,
    response_model=DelegationPage,
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="The persons the portal may act for as officers",
)
async def list_delegations(
    client_id: str,
    request: Request,
    who: Admin,
    include_revoked: Annotated[bool, Query(description="also the revoked registrations")] = False,
) -> DelegationPage:
    return await delegations.list_for(request.app.state.runtime, client_id, include_revoked=include_revoked)


@router.delete(
    DELEGATIONS + "/{person_id}",
    response_model=DelegationPublic,
    dependencies=[Depends(authenticate), Depends(ClientsScope)],
    summary="Revoke a person's registration: their officer tokens stop working at their next use",
)
async def revoke(client_id: str, person_id: str, request: Request, who: Admin) -> DelegationPublic:
    return await delegations.revoke(request.app.state.runtime, client_id, person_id, revoked_by=who.sub)


Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]


@router.get(
    "/api/v1/gateway/audit/delegated-actions",
    tags=["operations"],
    response_model=DelegatedActionPage,
    summary="What portals did for the persons they act for as officers: every exchange and request, newest first",
    # The log names the people of every unit: only a token for the whole tree reads it.
    dependencies=[Depends(authenticate), Depends(whole_tree("the audit log covers the whole city"))],
)
async def delegated_actions(
    request: Request,
    who: Auditor,
    person: Annotated[str | None, Query(max_length=200, description="a sub: portal:<portal>:<person id>")] = None,
    portal: Annotated[str | None, Query(max_length=100, description="the acting portal's client id")] = None,
    since: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> DelegatedActionPage:
    if since is not None and since.tzinfo is not None:
        try:
            since = since.astimezone(dt.UTC)
        except OverflowError as exc:
            raise field_error("since", "out of the representable range") from exc
    return await delegations.actions(
        request.app.state.runtime, person=person, portal=portal, since=since, limit=limit, cursor=cursor
    )


class DelegatedActionLog:
    """A row of the log for every request made with an officer token a portal holds for a
    person, whatever the route and whatever the answer (a refusal too). It is written when
    the answer's status is known and before the caller receives it: a request whose row
    cannot be written answers 500, never a success the log does not hold. Other tokens cost
    a dictionary lookup."""

    def __init__(self, app: ASGIApp, runtime: ServiceRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state") or {}
                principal = state.get("principal")  # set by cadrekit.auth.authenticate
                who = delegations.log_fields(principal) if isinstance(principal, Principal) else None
                if who is not None:
                    await delegations.record(
                        self.runtime,
                        **who,
                        action="request",
                        method=scope["method"],
                        path=scope["path"],
                        status=message["status"],
                        request_id=state.get("request_id"),
                    )
            await send(message)

        await self.app(scope, receive, _send)
