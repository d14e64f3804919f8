"""JWT attacks against every service and the gateway over HTTP: each is a 401 problem+json.

tests/kit/test_token_verification.py checks the verifier itself; here the same attacks, and
the cases it lacks (iat in the future, expiry just past the leeway, missing exp, an unsigned
token with every valid claim, a stripped signature, RS256/ES256 under a known kid, HS256 with
the raw public key, a known kid with another key's signature, an attacker's key embedded in
the header, a tampered header), go through each app's real authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.security.conftest import System

PROBES = {
    "roster": "/api/v1/roster/units",
    "scoring": "/api/v1/scoring/catalogues/default",
    "matching": "/api/v1/matching/campaigns",
    "secondment": "/api/v1/secondment/batches",
    "gateway": "/api/v1/auth/clients",
}


def _b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _key(system: System, service: str) -> tuple[Ed25519PrivateKey, str, dict[str, Any]]:
    """The key that signs valid tokens for this app, its kid, and a valid token's claims."""
    token = system.auth(service, "admin")["Authorization"].split()[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    if service == "gateway":
        active = system.apps["gateway"].state.keyring.active
        return active.private, active.kid, claims
    return system.signer.private, system.signer.kid, claims


def _attacks(private: Ed25519PrivateKey, kid: str, claims: dict[str, Any]) -> dict[str, str]:
    now = int(time.time())

    def signed(extra: dict[str, Any], drop: tuple[str, ...] = (), key: Any = None, **header: Any) -> str:
        body = {k: v for k, v in {**claims, **extra}.items() if k not in drop}
        return jwt.encode(body, key or private, algorithm="EdDSA", headers={"kid": kid, **header})

    valid = signed({})
    head, payload, sig = valid.split(".")
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def hs256(secret: bytes) -> str:
        h = _b64({"alg": "HS256", "kid": kid, "typ": "JWT"})
        mac = hmac.new(secret, f"{h}.{payload}".encode(), hashlib.sha256).digest()
        return f"{h}.{payload}.{_b64(mac)}"

    attacker = Ed25519PrivateKey.generate()
    attacker_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(attacker.public_key()))
    claims_admin = {**claims, "role": "admin"}
    return {
        "expired": signed({"exp": now - 60, "iat": now - 120}),
        "expired just past the 10 s leeway": signed({"exp": now - 15, "iat": now - 100}),
        "not yet valid (nbf)": signed({"nbf": now + 3600}),
        "issued in the future (iat)": signed({"iat": now + 3600, "exp": now + 7200}),
        "no exp": signed({}, drop=("exp",)),
        "no iat": signed({}, drop=("iat",)),
        "wrong issuer": signed({"iss": "someone-else"}),
        "wrong audience": signed({"aud": "another-platform"}),
        "audience list without ours": signed({"aud": ["x", "y"]}),
        "alg none, every claim valid": f"{_b64({'alg': 'none', 'kid': kid, 'typ': 'JWT'})}.{payload}.",
        "alg None spelled oddly": f"{_b64({'alg': 'nOnE', 'kid': kid})}.{payload}.",
        "signature stripped": f"{head}.{payload}.",
        "HS256 keyed with the public PEM": hs256(pem),
        "HS256 keyed with the raw public key": hs256(raw),
        "RS256 under the known kid": jwt.encode(
            claims,
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": kid},
        ),
        "ES256 under the known kid": jwt.encode(
            claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": kid}
        ),
        "unknown kid": jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": "rotated-away"}),
        "known kid, another key's signature": jwt.encode(claims, attacker, algorithm="EdDSA", headers={"kid": kid}),
        "no kid": jwt.encode(claims, private, algorithm="EdDSA"),
        "attacker's key embedded (jwk header)": jwt.encode(
            claims_admin, attacker, algorithm="EdDSA", headers={"kid": kid, "jwk": attacker_jwk}
        ),
        "attacker's key by URL (jku header)": jwt.encode(
            claims_admin, attacker, algorithm="EdDSA", headers={"kid": kid, "jku": "http://127.0.0.1:1/jwks"}
        ),
        "tampered payload (role)": f"{head}.{_b64({**claims, 'role': 'admin', 'sub': 'mallory'})}.{sig}",
        "tampered payload (exp)": f"{head}.{_b64({**claims, 'exp': now + 10**6})}.{sig}",
        "tampered header (kid)": f"{_b64({'alg': 'EdDSA', 'kid': kid + 'x'})}.{payload}.{sig}",
        "garbage": "definitely.not.a-token",
        "two parts": f"{head}.{payload}",
    }


SERVICES = list(PROBES)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_forged_or_stale_token_is_401(system: System, service: str) -> None:
    client = system.clients[service]
    private, kid, claims = _key(system, service)
    ok = await client.get(PROBES[service], headers=system.auth(service, "admin"))
    assert ok.status_code == 200, ok.text  # the control: the same request with a good token
    wrong = []
    for name, token in _attacks(private, kid, claims).items():
        resp = await client.get(PROBES[service], headers={"Authorization": f"Bearer {token}"})
        if resp.status_code != 401 or resp.headers.get("content-type") != "application/problem+json":
            wrong.append(f"{name}: {resp.status_code} {resp.text[:120]}")
    # (the scheme itself is case-insensitive, RFC 7235: "bearer <good token>" is fine)
    for header in ("", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Token abc.def.ghi"):
        resp = await client.get(PROBES[service], headers={"Authorization": header} if header else {})
        if resp.status_code != 401:
            wrong.append(f"Authorization {header[:20]!r}: {resp.status_code}")
    assert not wrong, f"{service} accepted or mishandled:\n" + "\n".join(wrong)
