"""Issuing the platform's access tokens (short-lived EdDSA JWTs)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from gateway.keys import KeyRing


def issue(
    ring: KeyRing,
    *,
    issuer: str,
    audience: str,
    ttl: int,
    sub: str,
    role: str,
    unit_scope: list[str] | None,
    client_id: str,
    act: str | None = None,
    delegation_id: str | None = None,
) -> str:
    """``act`` names the client acting for the person in ``sub`` (RFC 8693's actor claim);
    ``delegation_id`` the registration an officer token was issued under
    (gateway/delegations.py), which the gateway checks is still in force at every use."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "role": role,
        "unit_scope": unit_scope,
        "client_id": client_id,
    }
    if act:
        claims["act"] = {"sub": act}
    if delegation_id:
        claims["delegation_id"] = delegation_id
    key = ring.active
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})
