"""Gateway tables: API clients (secrets stored as scrypt hashes), the persons a portal may
act for as officers and the log of what they did; webhook subscriptions, deliveries and
attempts, and the roster mirror that judges subscribers' unit scope."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cadrekit.db import BigIntId, UTCDateTime, service_registry, utcnow
from cadrekit.roster_mirror import mirror_tables_of
from cadrekit.runtime import kit_tables_of

registry = service_registry()


class GatewayModel(SQLModel, registry=registry):
    pass


def _new_id() -> str:
    return str(uuid.uuid4())


class ApiClient(GatewayModel, table=True):
    __tablename__ = "api_clients"

    client_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    secret_hash: str = Field(max_length=300)
    disabled: bool = False
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OfficerDelegation(GatewayModel, table=True):
    """A person a portal client may act for as an officer (gateway/delegations.py): an
    admin registers it; token exchange gives only such a person the officer role. A revoked
    registration stays, with who revoked it and when; registering the person again makes a
    new row."""

    __tablename__ = "officer_delegations"

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    portal_client_id: str = Field(max_length=100, index=True)
    person_id: str = Field(max_length=64)
    # The person's ``sub``: portal:<portal client id>:<person id>, as token exchange names them.
    subject: str = Field(max_length=200)
    # The subject while the registration is in force, NULL once revoked: unique, so a person
    # has at most one registration in force per portal (NULLs never collide, on either backend).
    active_subject: str | None = Field(default=None, max_length=200, unique=True)
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class DelegatedAction(GatewayModel, table=True):
    """One thing done at the gateway by a portal for a person it acts for as an officer:
    the officer token's exchange (issued or refused), then every request made with it."""

    __tablename__ = "delegated_actions"
    __table_args__ = (Index("ix_delegated_actions_person", "person", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigIntId, primary_key=True, autoincrement=True))
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    person: str = Field(max_length=200)  # the ``sub``: portal:<portal>:<person id>
    portal: str = Field(max_length=100)  # the ``act``: the portal client acting for the person
    delegation_id: str | None = Field(default=None, max_length=36)  # None: an exchange refused
    role: str = Field(max_length=20)
    action: str = Field(max_length=20)  # token-exchange | request
    method: str = Field(max_length=10)
    path: str = Field(max_length=500)
    status: int
    request_id: str | None = Field(default=None, max_length=100)


metadata = registry.metadata
kit = kit_tables_of(metadata)


# Webhooks (gateway/webhooks/) ----------------------------------------------------------------
class WebhookSubscription(GatewayModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    # The client that manages it (the token's client; for an exchanged token, the acting client).
    owner: str = Field(max_length=100, index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=500)
    # The creating token's scope; the owner client's current scope applies as well.
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Kept in the clear: the gateway needs it to sign (a hash would not do).
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="active", max_length=10)  # active | disabled
    disabled_reason: str | None = Field(default=None, max_length=500)
    disabled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Messages in a row that exhausted their retries; a success resets it.
    consecutive_failures: int = 0
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(GatewayModel, table=True):
    """One event for one subscription: sent until it succeeds or its retries run out."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The dispatcher's second guard against enqueueing an event twice (the inbox is the first).
        UniqueConstraint("subscription_id", "message_id", name="uq_webhook_deliveries_message"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"),
    )

    id: str = Field(default_factory=_new_id, primary_key=True, max_length=36)
    subscription_id: str = Field(max_length=36)
    message_id: str = Field(max_length=64)  # webhook-id: the event id, the same on every attempt
    event_type: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the CloudEvent JSON, as signed
    status: str = Field(default="pending", max_length=10)  # pending | delivered | failed
    attempts: int = 0
    failures: int = 0  # failed attempts since the last (re)start: the place in the retry schedule
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=36)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    last_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookAttempt(GatewayModel, table=True):
    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigIntId, primary_key=True, autoincrement=True))
    delivery_id: str = Field(max_length=36, index=True)
    subscription_id: str = Field(max_length=36)
    attempt: int
    trigger: str = Field(max_length=10)  # first | retry | replay
    started_at: dt.datetime = Field(sa_type=UTCDateTime)
    duration_ms: int
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    success: bool
    next_retry_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


mirror = mirror_tables_of(metadata)
