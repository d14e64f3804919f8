"""Standard Webhooks signatures (https://www.standardwebhooks.com/): pure, no I/O.

A secret is ``whsec_`` + base64 of random bytes; the HMAC key is the decoded bytes. The
signature of one attempt is ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")).
A header may carry several space-separated signatures (during a secret rotation both the
new and the old secret sign), and a receiver accepts the message when any one matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

PREFIX = "whsec_"
SECRET_BYTES = 32
# Receivers refuse timestamps further than this from their clock (replay protection).
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    pass


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if len(key) < 24:
        raise ValueError("a webhook secret needs at least 24 bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    header_values: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """What a subscriber does: raise InvalidSignature unless one v1 signature matches and
    the timestamp is recent. ``header_values`` keys are matched case-insensitively."""
    lower = {k.lower(): v for k, v in header_values.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    given = lower.get("webhook-signature")
    if not msg_id or not stamp or not given:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not an integer") from exc
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("webhook-timestamp too far from now")
    expected = sign(secret, msg_id, timestamp, body).partition(",")[2]
    for candidate in given.split():
        version, _, value = candidate.partition(",")
        # Constant time: the comparison must not tell how much of a forgery was right.
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise InvalidSignature("no matching v1 signature")
