"""API clients: created by an admin, secrets shown once and stored as hashes."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from cadrekit.auth import Role
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, Invalid, NotFound
from cadrekit.runtime import ServiceRuntime
from contracts import gateway as contract
from gateway.events import client_event
from gateway.models import ApiClient
from gateway.secrets_hash import hash_secret, new_secret, verify_secret
from gateway.settings import GatewaySettings

log = logging.getLogger("gateway.clients")


def client_public(c: ApiClient) -> dict[str, Any]:
    return {
        "client_id": c.client_id,
        "name": c.name,
        "role": c.role,
        "unit_scope": c.unit_scope,
        "disabled": c.disabled,
        "created_by": c.created_by,
        "created_at": c.created_at,
    }


CLIENT_ID = re.compile(r"[a-zA-Z0-9_.-]{3,100}")


async def create_client(
    runtime: ServiceRuntime,
    *,
    name: str,
    role: str,
    unit_scope: list[str] | None,
    created_by: str,
    client_id: str | None = None,
) -> dict[str, Any]:
    # Checked here, not only in the API's model: ``cadre clients create --client-id`` comes this
    # way too. No ``:`` is allowed, so a client id never equals a portal person's ``portal:…``.
    if client_id is not None and not CLIENT_ID.fullmatch(client_id):
        raise Invalid(
            f"client id {client_id!r} is not allowed",
            errors=[{"field": "client_id", "message": "3 to 100 letters, digits, '_', '.' or '-'"}],
        )
    if role == Role.unit_hr and not unit_scope:
        raise Invalid(
            "a unit_hr client needs a unit scope",
            errors=[{"field": "unit_scope", "message": "required for role unit_hr"}],
        )
    secret = new_secret()
    client = ApiClient(
        client_id=client_id or f"{role}-{secrets.token_hex(6)}",
        name=name,
        role=role,
        unit_scope=unit_scope,
        secret_hash=hash_secret(secret),
        created_by=created_by,
    )
    async with runtime.uow() as uow:
        if await uow.session.get(ApiClient, client.client_id) is not None:
            raise Conflict(
                f"client {client.client_id} exists", errors=[{"field": "client_id", "message": "already taken"}]
            )
        uow.session.add(client)
        uow.record(client_event(contract.ClientCreated, client))
        await uow.commit()
    out = client_public(client)
    out["client_secret"] = secret  # shown once, never stored in the clear
    return out


async def authenticate_client(runtime: ServiceRuntime, client_id: str, secret: str) -> ApiClient | None:
    async with runtime.uow() as uow:
        client = await uow.session.get(ApiClient, client_id)
    # Hash even for an unknown id, so timing does not tell which ids exist.
    stored = client.secret_hash if client else "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA"
    ok = verify_secret(secret, stored)
    if client is None or not ok or client.disabled:
        return None
    return client


async def set_disabled(runtime: ServiceRuntime, client_id: str, disabled: bool) -> dict[str, Any]:
    """Also announced on gateway.events (through the outbox, in this transaction): every
    service then refuses, or again accepts, the client's tokens at its own port."""
    async with runtime.uow() as uow:
        # Locked, so concurrent changes of one client get increasing changed_at in commit order.
        client = await uow.session.get(ApiClient, client_id, with_for_update=True)
        if client is None:
            raise NotFound(f"client {client_id} does not exist")
        client.disabled = disabled
        client.updated_at = utcnow()
        uow.record(client_event(contract.ClientDisabled if disabled else contract.ClientEnabled, client))
        await uow.commit()
        # After the commit: a request in between may have cached the old state.
        forget(runtime, client_id)
        return client_public(client)


async def rotate_secret(runtime: ServiceRuntime, client_id: str) -> dict[str, Any]:
    """A new secret, shown once; the old one stops working at once (tokens already issued
    run to their expiry)."""
    secret = new_secret()
    async with runtime.uow() as uow:
        client = await uow.session.get(ApiClient, client_id, with_for_update=True)
        if client is None:
            raise NotFound(f"client {client_id} does not exist")
        client.secret_hash = hash_secret(secret)
        client.updated_at = utcnow()
        uow.record(client_event(contract.ClientSecretRotated, client))
        await uow.commit()
        out = client_public(client)
    out["client_secret"] = secret
    return out


async def list_clients(runtime: ServiceRuntime) -> list[dict[str, Any]]:
    async with runtime.uow() as uow:
        rows = (await uow.session.execute(select(ApiClient).order_by(col(ApiClient.created_at)))).scalars().all()
        return [client_public(c) for c in rows]


# client id → (until, active): every request asks whether its client is still enabled, and a
# database round trip for it was the gateway's largest cost per request. A change made
# through this process clears the entry at once; another replica's change is seen within
# the settings' client_state_cache_seconds (1 s by default).
_ACTIVE: dict[tuple[int, str], tuple[float, bool]] = {}


def forget(runtime: ServiceRuntime, client_id: str) -> None:
    _ACTIVE.pop((id(runtime), client_id), None)


async def is_active(runtime: ServiceRuntime, client_id: str | None, max_age: float = 0.0) -> bool:
    if client_id is None:
        return False
    key = (id(runtime), client_id)
    now = time.monotonic()
    hit = _ACTIVE.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    async with runtime.sessions() as session:
        disabled = (
            await session.execute(select(col(ApiClient.disabled)).where(col(ApiClient.client_id) == client_id))
        ).scalar_one_or_none()
    active = disabled is not None and not disabled
    if max_age > 0:
        if len(_ACTIVE) > 10_000:
            _ACTIVE.clear()
        _ACTIVE[key] = (now + max_age, active)
    return active


async def ensure_bootstrap_client(runtime: ServiceRuntime, settings: GatewaySettings) -> None:
    """First start of the embedded mode: an admin client with a random secret, written to a
    0600 file. No default password exists anywhere."""
    if not settings.create_bootstrap_client:
        return
    async with runtime.uow() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(ApiClient))).scalar()
    if count:
        return
    out = await create_client(
        runtime,
        name="bootstrap admin",
        role=Role.admin.value,
        unit_scope=None,
        created_by="bootstrap",
        client_id="admin",
    )
    path = settings.bootstrap_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {
                "client_id": out["client_id"],
                "client_secret": out["client_secret"],
                "token_url": settings.public_url + "/api/v1/auth/token",
            },
            fh,
            indent=2,
        )
    os.replace(tmp, path)
    log.info("bootstrap admin client created", extra={"file": str(path)})
