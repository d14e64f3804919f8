"""``/api/v1/webhooks/...``: subscriptions, their deliveries and attempts, replay."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from cadrekit.auth import Principal, require_roles
from cadrekit.errors import field_error
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.scope import no_unit
from gateway.webhooks.subscriptions import MANAGERS, Subscriptions

# A subscription belongs to its owner, not to a unit; what it delivers is limited to the
# owner's unit scope when events are routed (gateway.webhooks.rules).
router = APIRouter(
    prefix="/api/v1/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(no_unit("a subscription is its owner's; deliveries keep to the owner's units"))],
)
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
NoNul = r"^[^\x00]*$"


def _subs(request: Request) -> Subscriptions:
    return request.app.state.webhooks.subscriptions  # type: ignore[no-any-return]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NoNul)] = Field(
        description="http(s) endpoint; refused when it reaches a private address in production mode"
    )
    event_types: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1,
        max_length=50,
        description='exact types ("scoring.score.changed"), "scoring.*" or "*"; '
        '"secondment.started@1" pins a data version (an older one published beside the newest)',
    )
    description: Annotated[str, StringConstraints(max_length=500, pattern=NoNul)] | None = None
    owner: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.-]{3,100}$")] | None = Field(
        default=None, description="admin only: register for another client (it gets that client's unit scope)"
    )


class SubscriptionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NoNul)] | None = None
    event_types: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=50
    )
    description: Annotated[str, StringConstraints(max_length=500, pattern=NoNul)] | None = None


class DisableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=400, pattern=NoNul)] | None = None


class SubscriptionOut(BaseModel):
    id: str
    owner: str
    url: str
    event_types: list[str]
    description: str | None
    unit_scope: list[str] | None
    status: Literal["active", "disabled"]
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    consecutive_failures: int
    previous_secret_valid_until: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="whsec_…: shown once; verify webhook-signature with it")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    attempt: int
    trigger: Literal["first", "retry", "replay"]
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    success: bool
    error: str | None
    next_retry_at: dt.datetime | None


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    message_id: str = Field(description="the webhook-id header: the event id, the same on every attempt")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempt_count: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    attempts: list[AttemptOut]
    payload: dict[str, Any] | None = Field(default=None, description="the CloudEvent sent (single delivery only)")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Subscribe a URL to event types (the signing secret is shown once)",
)
async def create_subscription(body: SubscriptionCreate, request: Request, who: Manager) -> dict[str, Any]:
    return await _subs(request).create(
        who, url=body.url, event_types=body.event_types, description=body.description, owner=body.owner
    )


@router.get(
    "/subscriptions",
    response_model=SubscriptionPage,
    summary="Subscriptions (an admin sees all, others their client's)",
)
async def list_subscriptions(
    request: Request,
    who: Manager,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    status: Literal["active", "disabled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await _subs(request).list(who, owner=owner, status=status, limit=limit, cursor=cursor)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, summary="One subscription")
async def get_subscription(subscription_id: Id, request: Request, who: Manager) -> dict[str, Any]:
    return await _subs(request).get(who, subscription_id)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Change the URL, event types or description",
)
async def update_subscription(
    subscription_id: Id, body: SubscriptionUpdate, request: Request, who: Manager
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    for name in ("url", "event_types"):
        if name in changes and changes[name] is None:
            raise field_error(name, "may be changed, not removed")
    if not changes:
        raise field_error("body", "name at least one of url, event_types, description")
    return await _subs(request).update(who, subscription_id, changes)


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Delete a subscription with its deliveries")
async def delete_subscription(subscription_id: Id, request: Request, who: Manager) -> Response:
    await _subs(request).delete(who, subscription_id)
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/disable",
    response_model=SubscriptionOut,
    summary="Stop sending (new events are not queued while disabled)",
)
async def disable_subscription(
    subscription_id: Id, request: Request, who: Manager, body: DisableBody | None = None
) -> dict[str, Any]:
    return await _subs(request).set_enabled(who, subscription_id, False, body.reason if body else None)


@router.post(
    "/subscriptions/{subscription_id}/enable",
    response_model=SubscriptionOut,
    summary="Send again; pending deliveries go out at once",
)
async def enable_subscription(subscription_id: Id, request: Request, who: Manager) -> dict[str, Any]:
    out = await _subs(request).set_enabled(who, subscription_id, True)
    request.app.state.webhooks.worker.wake()
    return out


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    summary="A new signing secret (shown once); the old one also signs for a grace period",
)
async def rotate_secret(subscription_id: Id, request: Request, who: Manager) -> dict[str, Any]:
    grace = request.app.state.runtime.settings.webhook_secret_grace_seconds
    return await _subs(request).rotate_secret(who, subscription_id, grace)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    summary="Deliveries, newest first, each with every attempt",
)
async def list_deliveries(
    subscription_id: Id,
    request: Request,
    who: Manager,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await _subs(request).deliveries(who, subscription_id, status=status, limit=limit, cursor=cursor)


@router.get(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    summary="One delivery with its attempts and the event sent",
)
async def get_delivery(subscription_id: Id, delivery_id: Id, request: Request, who: Manager) -> dict[str, Any]:
    return await _subs(request).delivery(who, subscription_id, delivery_id)


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again (same webhook-id, a fresh retry schedule)",
)
async def replay_delivery(subscription_id: Id, delivery_id: Id, request: Request, who: Manager) -> dict[str, Any]:
    out = await _subs(request).replay(who, subscription_id, delivery_id)
    request.app.state.webhooks.worker.wake()
    return out
