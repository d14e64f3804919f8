"""What the gateway publishes about its clients on ``gateway.events``, keyed by client id;
and about the persons a portal may act for as officers (``gateway.delegation.*``), keyed by
the portal's client id, so they follow that client's own events in order.

Each change is recorded in the same transaction as the client's row and leaves through the
gateway's outbox, whether it was made through the API or with ``cadre clients`` on the
database. Every service consumes ``gateway.client.disabled`` and ``.enabled`` and refuses a
disabled client's tokens at its own port (``cadrekit/revocation.py``). Events never carry a
secret or its hash.
"""

from __future__ import annotations

from typing import Any

from cadrekit.events import Event
from cadrekit.revocation import CLIENT_CREATED, CLIENT_DISABLED, CLIENT_ENABLED, CLIENT_SECRET_ROTATED
from gateway.models import ApiClient, OfficerDelegation

__all__ = [
    "CLIENT_CREATED",
    "CLIENT_DISABLED",
    "CLIENT_ENABLED",
    "CLIENT_SECRET_ROTATED",
    "DELEGATION_REGISTERED",
    "DELEGATION_REVOKED",
    "SCHEMAS",
    "client_event",
    "delegation_event",
]

DELEGATION_REGISTERED = "gateway.delegation.registered"
DELEGATION_REVOKED = "gateway.delegation.revoked"


def client_event(type_: str, client: ApiClient) -> Event:
    data: dict[str, Any] = {
        "client_id": client.client_id,
        "role": client.role,
        "disabled": client.disabled,
        "changed_at": client.updated_at.isoformat(),
    }
    if type_ == CLIENT_CREATED:
        data.update(name=client.name, unit_scope=client.unit_scope, created_by=client.created_by)
    return Event(type_, f"client/{client.client_id}", client.client_id, data)


def delegation_event(type_: str, d: OfficerDelegation) -> Event:
    data: dict[str, Any] = {
        "delegation_id": d.id,
        "portal_client_id": d.portal_client_id,
        "person_id": d.person_id,
        "subject": d.subject,
        "unit_scope": d.unit_scope,
        "registered_by": d.created_by,
        "registered_at": d.created_at.isoformat(),
    }
    if type_ == DELEGATION_REVOKED:
        data.update(revoked_by=d.revoked_by, revoked_at=d.revoked_at.isoformat() if d.revoked_at else None)
    return Event(type_, f"delegation/{d.id}", d.portal_client_id, data)


_BASE: dict[str, Any] = {
    "client_id": {"type": "string"},
    "role": {"type": "string", "enum": ["admin", "officer", "unit_hr", "portal", "auditor"]},
    "disabled": {"type": "boolean", "description": "the client's state after the change"},
    "changed_at": {
        "type": "string",
        "format": "date-time",
        "description": "when the gateway made the change; a consumer keeps the newest state per client",
    },
}
_REQUIRED = ["client_id", "role", "disabled", "changed_at"]


def _schema(summary: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "type": "object",
        "required": [*_REQUIRED, *extra],
        "properties": {**_BASE, **extra},
    }


_DELEGATION: dict[str, Any] = {
    "delegation_id": {"type": "string"},
    "portal_client_id": {"type": "string", "description": "the portal client that acts for the person"},
    "person_id": {"type": "string", "description": "the person's id in the portal"},
    "subject": {"type": "string", "description": "the officer tokens' sub: portal:<portal client id>:<person id>"},
    "unit_scope": {"type": ["array", "null"], "items": {"type": "string"}, "description": "null: the whole tree"},
    "registered_by": {"type": "string"},
    "registered_at": {"type": "string", "format": "date-time"},
}
_DELEGATION_REQUIRED = list(_DELEGATION)


SCHEMAS: dict[str, dict[str, Any]] = {
    CLIENT_CREATED: _schema(
        "An API client was created (its secret is never published).",
        name={"type": "string"},
        unit_scope={"type": ["array", "null"], "items": {"type": "string"}},
        created_by={"type": "string"},
    ),
    CLIENT_DISABLED: _schema(
        "A client was disabled: every service refuses its tokens, and the tokens it exchanged for its people."
    ),
    CLIENT_ENABLED: _schema("A disabled client was enabled again: its unexpired tokens work again."),
    CLIENT_SECRET_ROTATED: _schema(
        "A client was given a new secret; the old one no longer gets tokens (tokens already issued run to expiry)."
    ),
    DELEGATION_REGISTERED: {
        "summary": "An admin registered a person a portal may act for as an officer, with their unit scope.",
        "type": "object",
        "required": _DELEGATION_REQUIRED,
        "properties": _DELEGATION,
    },
    DELEGATION_REVOKED: {
        "summary": "A person's officer registration was revoked: the gateway refuses their officer tokens from then on.",
        "type": "object",
        "required": [*_DELEGATION_REQUIRED, "revoked_by", "revoked_at"],
        "properties": {
            **_DELEGATION,
            "revoked_by": {"type": "string"},
            "revoked_at": {"type": "string", "format": "date-time"},
        },
    },
}
