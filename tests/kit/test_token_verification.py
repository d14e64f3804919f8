"""Every service verifies the gateway's token again: pinned algorithm, required claims."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cadrekit.auth import Role, TokenVerifier
from cadrekit.problems import Unauthorized
from cadrekit.testing.plugin import Signer


def verifier(signer: Signer) -> TokenVerifier:
    return TokenVerifier(signer.key_source, issuer="cadre-gateway", audience="cadre-platform", leeway=10)


async def test_a_good_token_names_the_person_the_acting_system_role_and_scope(signer: Signer) -> None:
    p = await verifier(signer).verify(signer.token("unit_hr", unit_scope=["u1"], sub="zhang", act="portal-1"))
    assert (p.sub, p.act, p.role, p.unit_scope) == ("zhang", "portal-1", Role.unit_hr, ("u1",))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "no_sub",
        "not_yet_valid",
        "unknown_role",
        "hr_without_scope",
        "alg_none",
        "hs256_confusion",
        "unknown_kid",
        "tampered",
        "garbage",
    ],
)
async def test_bad_tokens_are_refused(signer: Signer, case: str) -> None:
    now = int(time.time())
    if case == "expired":
        token = signer.token(exp=now - 60, iat=now - 120)
    elif case == "wrong_audience":
        token = signer.token(aud="other")
    elif case == "wrong_issuer":
        token = signer.token(iss="someone-else")
    elif case == "no_sub":
        claims = jwt.decode(signer.token(), options={"verify_signature": False})
        del claims["sub"]
        token = jwt.encode(claims, signer.private, algorithm="EdDSA", headers={"kid": signer.kid})
    elif case == "not_yet_valid":
        token = signer.token(nbf=now + 3600)
    elif case == "unknown_role":
        token = signer.token(role="root")
    elif case == "hr_without_scope":
        token = signer.token("unit_hr", unit_scope=None)
    elif case == "alg_none":
        token = f"{_b64({'alg': 'none', 'kid': signer.kid})}.{_b64({'sub': 'x', 'role': 'admin'})}."
    elif case == "hs256_confusion":
        public_pem = signer.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header, payload, _ = signer.token().split(".")
        import hashlib
        import hmac

        forged_header = _b64({"alg": "HS256", "kid": signer.kid, "typ": "JWT"})
        sig = hmac.new(public_pem, f"{forged_header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{forged_header}.{payload}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"
    elif case == "unknown_kid":
        other = Ed25519PrivateKey.generate()
        token = jwt.encode(
            jwt.decode(signer.token(), options={"verify_signature": False}),
            other,
            algorithm="EdDSA",
            headers={"kid": "rotated-away"},
        )
    elif case == "tampered":
        header, payload, sig = signer.token("portal").split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["role"] = "admin"
        token = f"{header}.{_b64(claims)}.{sig}"
    else:
        token = "definitely.not.a-token"
    with pytest.raises(Unauthorized):
        await verifier(signer).verify(token)
