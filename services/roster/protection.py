"""Sealing ID numbers at rest: authenticated encryption plus a keyed hash for lookups.

Each sealed value records the id of the key that sealed it, so keys rotate: new values
use the first key, old ones still open with theirs. The cipher profile is a setting:
AES-256-GCM with HMAC-SHA256, or SM4-GCM with HMAC-SM3 (national commercial algorithms).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.roster.settings import RosterSettings

_AAD = b"cadre.id_number.v1"
_NONCE = 12


@dataclass(frozen=True)
class Sealed:
    kid: str
    blob: bytes


class IdSealer:
    def __init__(self, keys: dict[str, bytes], active: str, index_key: bytes, profile: str = "aes") -> None:
        if active not in keys:
            raise ValueError("active key not among the keys")
        self.keys = keys
        self.active = active
        self.index_key = index_key
        self.profile = profile
        # An AESGCM object expands its key once; building one per value cost more than the
        # encryption itself in bulk imports.
        self._aes = {kid: AESGCM(key) for kid, key in keys.items()} if profile == "aes" else {}
        # HMAC-SHA256 with its key already hashed in: per value, two copies and two updates
        # (RFC 2104). The one-shot hmac.digest sets the key up anew each time, and releases
        # the GIL around so little work that threads queue for it.
        block = (
            index_key.ljust(64, b"\0") if len(index_key) <= 64 else hashlib.sha256(index_key).digest().ljust(64, b"\0")
        )
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def seal(self, value: str) -> Sealed:
        return Sealed(self.active, self._seal(secrets.token_bytes(_NONCE), value))

    def seal_many(self, values: Iterable[str]) -> list[bytes]:
        """Blobs for many values, all under the active key (``kid`` is ``self.active``).

        One call to the system's random source gives every nonce: a call per value showed
        in profiles of bulk imports.
        """
        values = list(values)
        nonces = secrets.token_bytes(_NONCE * len(values))
        if self.profile == "sm4":
            return [self._seal(nonces[i * _NONCE : (i + 1) * _NONCE], v) for i, v in enumerate(values)]
        encrypt = self._aes[self.active].encrypt
        out = []
        for i, value in enumerate(values):
            nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
            out.append(nonce + encrypt(nonce, value.encode(), _AAD))
        return out

    def _seal(self, nonce: bytes, value: str) -> bytes:
        if self.profile == "sm4":
            key = self.keys[self.active]
            enc = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce)).encryptor()
            enc.authenticate_additional_data(_AAD)
            ct = enc.update(value.encode()) + enc.finalize() + enc.tag
        else:
            ct = self._aes[self.active].encrypt(nonce, value.encode(), _AAD)
        return nonce + ct

    def open(self, sealed: Sealed) -> str:
        key = self.keys[sealed.kid]
        nonce, ct = sealed.blob[:12], sealed.blob[12:]
        if self.profile == "sm4":
            dec = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce, ct[-16:])).decryptor()
            dec.authenticate_additional_data(_AAD)
            return (dec.update(ct[:-16]) + dec.finalize()).decode()
        return self._aes[sealed.kid].decrypt(nonce, ct, _AAD).decode()

    def index(self, value: str) -> str:
        if self.profile == "sm4":
            h = hmac.HMAC(self.index_key, hashes.SM3())
            h.update(value.encode())
            return h.finalize().hex()
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def _parse_keys(spec: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in spec.split(","):
        kid, _, b64 = part.strip().partition(":")
        if not kid or not b64:
            raise ValueError("id_seal_keys must look like 'kid:base64key,...'")
        key = base64.b64decode(b64)
        if len(key) != 32:
            raise ValueError(f"seal key {kid} must be 32 bytes")
        keys[kid] = key
        order.append(kid)
    return keys, order[0]


def load_sealer(settings: RosterSettings) -> IdSealer:
    """Keys from the environment; in embedded and test mode, from a key file made on first use."""
    if settings.id_seal_keys and settings.id_index_key:
        keys, active = _parse_keys(settings.id_seal_keys)
        return IdSealer(keys, active, base64.b64decode(settings.id_index_key), settings.cipher_profile)
    if settings.mode == "production":
        raise RuntimeError("production mode needs ROSTER_ID_SEAL_KEYS and ROSTER_ID_INDEX_KEY")
    path = Path(settings.keys_dir) / "roster-id-keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "active": "k1",
            "keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()},
            "index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
    data = json.loads(path.read_text())
    keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
    return IdSealer(keys, data["active"], base64.b64decode(data["index_key"]), settings.cipher_profile)
