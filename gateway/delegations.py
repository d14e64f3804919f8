"""The persons a portal may act for as officers, and the log of what they did through it.

The portal vouches for its logged-in people, and a portal's own role may neither propose
nor approve a points entry. An officer needs their own identity for the four-eyes rule
(the proposer may not approve) to mean anything, yet has no client of their own: an admin
registers here, per portal client, the persons it may act for as officers, each with a
unit scope inside the portal's. Token exchange (gateway/api/auth.py) gives the officer
role to a registered person only, as ``sub`` = ``portal:<portal>:<person id>`` with the
portal in ``act``, so a portal cannot make up a second officer to approve what its first
proposed. Registrations and revocations are announced on ``gateway.events`` like client
changes; every exchange for an officer and every request made with an officer's token is a
row of ``delegated_actions``, naming the person and the portal.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cadrekit import context
from cadrekit.auth import Principal, Role
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, field_error
from cadrekit.pagination import by_id, decode_cursor, window
from cadrekit.runtime import ServiceRuntime
from cadrekit.schemas import ReadModel
from gateway import scopes
from gateway.events import delegation_registered, delegation_revoked
from gateway.models import ApiClient, DelegatedAction, OfficerDelegation

# The person's id in the portal: a strict charset, so the issued identity is unambiguous.
PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PERSON_ID_RULE = "1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
MAX_SCOPE_UNITS = 100


def person_subject(portal_client_id: str, person_id: str) -> str:
    """The ``sub`` of a token issued for a portal's person: namespaced to the portal, so it
    never equals a client id (which holds no ``:``), ``admin`` or another portal's person.
    Audit logs and four-eyes rules compare ``sub`` values and rely on this."""
    return f"portal:{portal_client_id}:{person_id}"


class DelegationPublic(ReadModel):
    id: str
    portal_client_id: str
    person_id: str
    subject: str
    unit_scope: list[str] | None
    created_by: str
    created_at: dt.datetime
    revoked_by: str | None
    revoked_at: dt.datetime | None


class DelegationPage(BaseModel):
    items: list[DelegationPublic]
    next_cursor: str | None = None


class DelegatedActionPublic(ReadModel):
    id: int
    at: dt.datetime
    person: str
    portal: str
    delegation_id: str | None
    role: str
    action: str
    method: str
    path: str
    status: int
    request_id: str | None


class DelegatedActionPage(BaseModel):
    items: list[DelegatedActionPublic]
    next_cursor: str | None


# the registry ---------------------------------------------------------------------------------
async def _portal(runtime: ServiceRuntime, client_id: str) -> ApiClient:
    async with runtime.sessions() as session:
        client = await session.get(ApiClient, client_id)
    if client is None:
        raise NotFound(f"client {client_id} does not exist")
    if client.role != Role.portal:
        raise field_error("client_id", f"{client_id} is a {client.role} client: only a portal acts for persons")
    return client


async def _checked_scope(runtime: ServiceRuntime, portal: ApiClient, unit_scope: list[str] | None) -> list[str] | None:
    """The registered scope: inside the portal's (a unit of it or below one, on the roster
    mirror); the whole tree only for a portal that has it."""
    if unit_scope is None:
        if portal.unit_scope is not None:
            raise field_error("unit_scope", "the portal is limited to some units: name units inside them")
        return None
    units = list(dict.fromkeys(unit_scope))
    if not units or len(units) > MAX_SCOPE_UNITS:
        raise field_error("unit_scope", f"1 to {MAX_SCOPE_UNITS} units, or null for the whole tree")
    if any(not u or len(u) > 36 or "\x00" in u for u in units):
        raise field_error("unit_scope", "a unit id is 1 to 36 characters")
    wider = await scopes.outside(runtime, portal.unit_scope, units)
    if wider:
        raise field_error("unit_scope", f"outside the portal's scope: {', '.join(wider)}")
    return units


async def register(
    runtime: ServiceRuntime, *, portal_client_id: str, person_id: str, unit_scope: list[str] | None, created_by: str
) -> DelegationPublic:
    """Checked here, not only in the API's model: ``cadre delegations register`` comes this way too."""
    if not PERSON_ID.fullmatch(person_id):
        raise field_error("person_id", PERSON_ID_RULE)
    portal = await _portal(runtime, portal_client_id)
    scope = await _checked_scope(runtime, portal, unit_scope)
    subject = person_subject(portal_client_id, person_id)
    row = OfficerDelegation(
        portal_client_id=portal_client_id,
        person_id=person_id,
        subject=subject,
        active_subject=subject,
        unit_scope=scope,
        created_by=created_by,
    )
    taken = Conflict(
        f"{person_id} is already registered as an officer of {portal_client_id}",
        errors=[{"field": "person_id", "message": "already registered: revoke it first to change its scope"}],
    )
    try:
        async with runtime.uow() as uow:
            found = await uow.session.execute(
                select(col(OfficerDelegation.id)).where(col(OfficerDelegation.active_subject) == subject)
            )
            if found.first() is not None:
                raise taken
            uow.session.add(row)
            uow.record(delegation_registered(row))
            await uow.commit()
    except IntegrityError:  # a concurrent registration of the same person won
        raise taken from None
    return DelegationPublic.model_validate(row)


async def list_for(runtime: ServiceRuntime, portal_client_id: str, *, include_revoked: bool) -> DelegationPage:
    await _portal(runtime, portal_client_id)
    stmt = select(OfficerDelegation).where(col(OfficerDelegation.portal_client_id) == portal_client_id)
    if not include_revoked:
        stmt = stmt.where(col(OfficerDelegation.active_subject).is_not(None))
    async with runtime.sessions() as session:
        rows = (await session.execute(stmt.order_by(col(OfficerDelegation.created_at)))).scalars().all()
    return DelegationPage(items=[DelegationPublic.model_validate(r) for r in rows])


async def revoke(
    runtime: ServiceRuntime, portal_client_id: str, person_id: str, *, revoked_by: str
) -> DelegationPublic:
    """The person's officer tokens stop working at the gateway at their next use (on another
    replica: within client_state_cache_seconds)."""
    subject = person_subject(portal_client_id, person_id)
    async with runtime.uow() as uow:
        row = (
            await uow.session.execute(
                select(OfficerDelegation).where(col(OfficerDelegation.active_subject) == subject).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{person_id} is not registered as an officer of {portal_client_id}")
        row.active_subject = None
        row.revoked_by = revoked_by
        row.revoked_at = utcnow()
        uow.record(delegation_revoked(row))
        await uow.commit()
        forget(runtime, row.id)
        return DelegationPublic.model_validate(row)


async def in_force(runtime: ServiceRuntime, portal_client_id: str, person_id: str) -> OfficerDelegation | None:
    """The person's registration with the portal, if one is in force: what token exchange asks."""
    subject = person_subject(portal_client_id, person_id)
    async with runtime.sessions() as session:
        found = await session.execute(select(OfficerDelegation).where(col(OfficerDelegation.active_subject) == subject))
        return found.scalar_one_or_none()


# delegation id → (until, (portal, subject) or None): asked on every request an officer's
# token makes, like the client's state (gateway/clients.py), and cached as briefly.
_IN_FORCE: dict[tuple[int, str], tuple[float, tuple[str, str] | None]] = {}


def forget(runtime: ServiceRuntime, delegation_id: str) -> None:
    _IN_FORCE.pop((id(runtime), delegation_id), None)


async def holds(runtime: ServiceRuntime, principal: Principal, max_age: float = 0.0) -> bool:
    """Whether an officer token a portal holds for a person is backed by a registration in
    force for that portal and that person."""
    delegation_id = delegation_of(principal)
    if delegation_id is None:
        return False
    key = (id(runtime), delegation_id)
    now = time.monotonic()
    hit = _IN_FORCE.get(key)
    if hit is None or hit[0] <= now:
        async with runtime.sessions() as session:
            row = await session.get(OfficerDelegation, delegation_id)
        held = (row.portal_client_id, row.subject) if row is not None and row.active_subject is not None else None
        if max_age > 0:
            if len(_IN_FORCE) > 10_000:
                _IN_FORCE.clear()
            _IN_FORCE[key] = (now + max_age, held)
        hit = (now, held)
    return hit[1] == (principal.act, principal.sub)


def delegation_of(principal: Principal) -> str | None:
    """The registration an officer token was issued under (its ``delegation_id`` claim)."""
    if principal.role is not Role.officer or principal.act is None:
        return None
    value = principal.claims.get("delegation_id")
    return value if isinstance(value, str) and value else None


# the log ----------------------------------------------------------------------------------------
async def record(
    runtime: ServiceRuntime,
    *,
    person: str,
    portal: str,
    delegation_id: str | None,
    action: str,
    method: str,
    path: str,
    status: int,
    request_id: str | None = None,
) -> None:
    row = DelegatedAction(
        person=person[:200],
        portal=portal[:100],
        delegation_id=delegation_id,
        role=Role.officer.value,
        action=action,
        method=method[:10],
        path=path[:500],
        status=status,
        request_id=request_id or context.request_id.get(),
    )
    async with runtime.sessions() as session:
        session.add(row)
        await session.commit()


async def actions(
    runtime: ServiceRuntime,
    *,
    person: str | None,
    portal: str | None,
    since: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> DelegatedActionPage:
    """A page of the log, newest first."""
    stmt = select(DelegatedAction)
    if person:
        stmt = stmt.where(col(DelegatedAction.person) == person)
    if portal:
        stmt = stmt.where(col(DelegatedAction.portal) == portal)
    if since is not None:
        stmt = stmt.where(col(DelegatedAction.at) >= since)
    after = decode_cursor(cursor, 1, (int,))
    if after:
        stmt = stmt.where(col(DelegatedAction.id) < after[0])
    async with runtime.sessions() as session:
        rows = (await session.execute(stmt.order_by(col(DelegatedAction.id).desc()).limit(limit + 1))).scalars().all()
    items, next_cursor = window(rows, limit, by_id)
    return DelegatedActionPage(items=[DelegatedActionPublic.model_validate(r) for r in items], next_cursor=next_cursor)


def log_fields(principal: Principal) -> dict[str, Any] | None:
    """What a row of the log says about who acted, for a request made with an officer token
    a portal holds for a person; None for every other token."""
    delegation_id = delegation_of(principal)
    if delegation_id is None or principal.act is None:
        return None
    return {"person": principal.sub, "portal": principal.act, "delegation_id": delegation_id}
