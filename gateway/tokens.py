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
) -> str:
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
    key = ring.active
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})
