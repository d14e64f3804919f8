"""What the gateway publishes on ``gateway.events``: its API clients keyed by client id; the
persons a portal may act for as officers (``gateway.delegation.*``) keyed by the portal's
client id, so they follow that client's own events in order; webhook subscriptions it
disabled keyed by the subscription id. Never a secret or its hash.

Every service consumes ``gateway.client.disabled`` and ``.enabled`` and refuses a disabled
client's tokens at its own port (``cadrekit/revocation.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from contracts import topics
from contracts.base import EventData, Order

Role = Literal["admin", "officer", "unit_hr", "portal", "auditor"]


class _OfClient(EventData):
    TOPIC: ClassVar[str] = topics.GATEWAY
    KEY: ClassVar[str] = "client_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("client", "client_id")
    ORDER: ClassVar[Order | None] = Order(("client_id",), "changed_at")

    client_id: str
    role: Role
    disabled: bool = Field(description="the client's state after the change")
    changed_at: dt.datetime = Field(
        description="when the gateway made the change; a consumer keeps the newest state per client"
    )


class ClientCreated(_OfClient):
    """An API client was created (its secret is never published)."""

    TYPE: ClassVar[str] = "gateway.client.created"

    name: str
    unit_scope: list[str] | None = None
    created_by: str | None = None


class ClientDisabled(_OfClient):
    """A client was disabled: every service refuses its tokens, and the tokens it exchanged for its people."""

    TYPE: ClassVar[str] = "gateway.client.disabled"


class ClientEnabled(_OfClient):
    """A disabled client was enabled again: its unexpired tokens work again."""

    TYPE: ClassVar[str] = "gateway.client.enabled"


class ClientSecretRotated(_OfClient):
    """A client was given a new secret; the old one no longer gets tokens (tokens already issued run to expiry)."""

    TYPE: ClassVar[str] = "gateway.client.secret_rotated"


class _Delegation(EventData):
    TOPIC: ClassVar[str] = topics.GATEWAY
    KEY: ClassVar[str] = "portal_client_id"
    KEY_NAME: ClassVar[str | None] = "client id"  # the portal's: after that client's own events
    SUBJECT: ClassVar[tuple[str, str]] = ("delegation", "delegation_id")
    # Registered once, revoked at most once (a new registration is a new delegation).
    ORDER: ClassVar[Order | None] = None

    delegation_id: str
    portal_client_id: str = Field(description="the portal client that acts for the person")
    person_id: str = Field(description="the person's id in the portal")
    subject: str = Field(description="the officer tokens' sub: portal:<portal client id>:<person id>")
    unit_scope: list[str] | None = Field(default=None, description="null: the whole tree")
    registered_by: str
    registered_at: dt.datetime


class DelegationRegistered(_Delegation):
    """An admin registered a person a portal may act for as an officer, with their unit scope."""

    TYPE: ClassVar[str] = "gateway.delegation.registered"


class DelegationRevoked(_Delegation):
    """A person's officer registration was revoked: the gateway refuses their officer tokens from then on."""

    TYPE: ClassVar[str] = "gateway.delegation.revoked"

    revoked_by: str | None = None
    revoked_at: dt.datetime | None = None


class WebhookDisabled(EventData):
    """A webhook subscription was disabled after repeated failed deliveries."""

    TYPE: ClassVar[str] = "gateway.webhook.disabled"
    TOPIC: ClassVar[str] = topics.GATEWAY
    KEY: ClassVar[str] = "subscription_id"
    SUBJECT: ClassVar[tuple[str, str]] = ("webhook-subscription", "subscription_id")
    ORDER: ClassVar[Order | None] = None  # a notice of the moment it was disabled

    subscription_id: str
    owner: str = Field(description="the client that owns the subscription")
    url: str
    reason: str
    disabled_at: dt.datetime
