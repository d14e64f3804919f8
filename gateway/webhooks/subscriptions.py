"""Subscriptions and their deliveries: who may see and change what, and the changes.

An admin manages every subscription; any other role that may subscribe manages the
subscriptions its own client owns (the token's client; for an exchanged token the acting
client, so a portal's users share the portal's subscriptions). Someone else's subscription
answers 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import orjson
from sqlalchemy import and_, delete, or_, select, true, update
from sqlmodel import col

from cadrekit.auth import Principal, Role
from cadrekit.db import utcnow
from cadrekit.errors import Conflict, NotFound, NotPermitted, field_error
from cadrekit.pagination import decode_cursor, encode_cursor
from cadrekit.runtime import ServiceRuntime
from gateway.models import ApiClient, WebhookAttempt, WebhookDelivery, WebhookSubscription
from gateway.webhooks import rules, signing
from gateway.webhooks.ssrf import Policy, Resolve, UnsafeUrl, check_url, system_resolve

log = logging.getLogger("gateway.webhooks")

# The auditor reads audit logs and nothing else, so it subscribes to nothing.
MANAGERS = (Role.admin, Role.officer, Role.unit_hr, Role.portal)


def owner_of(principal: Principal) -> str:
    return principal.act or principal.client_id or principal.sub


def subscription_public(s: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "owner": s.owner,
        "url": s.url,
        "event_types": s.event_types,
        "description": s.description,
        "unit_scope": s.unit_scope,
        "status": s.status,
        "disabled_reason": s.disabled_reason,
        "disabled_at": s.disabled_at,
        "consecutive_failures": s.consecutive_failures,
        "previous_secret_valid_until": s.previous_secret_until,
        "created_by": s.created_by,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def attempt_public(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempt": a.attempt,
        "trigger": a.trigger,
        "started_at": a.started_at,
        "duration_ms": a.duration_ms,
        "status_code": a.status_code,
        "success": a.success,
        "error": a.error,
        "next_retry_at": a.next_retry_at,
    }


def delivery_public(d: WebhookDelivery, attempts: list[WebhookAttempt], *, payload: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "message_id": d.message_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempt_count": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "last_attempt_at": d.last_attempt_at,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
        "attempts": [attempt_public(a) for a in attempts],
    }
    if payload:
        out["payload"] = orjson.loads(d.payload)
    return out


def check_patterns(event_types: list[str]) -> list[str]:
    if not event_types:
        raise field_error("event_types", "name at least one event type or pattern", zh="至少填写一个事件类型或模式")
    for i, p in enumerate(event_types):
        problem = rules.pattern_problem(p)
        if problem:
            raise field_error(f"event_types.{i}", problem, zh=rules.PATTERN_PROBLEM_ZH)
    return sorted(set(event_types))


async def checked_url(url: str, policy: Policy, resolve: Resolve) -> str:
    try:
        await check_url(url, policy, resolve)
    except UnsafeUrl as exc:
        raise field_error("url", str(exc)) from exc
    return url


def _visible(principal: Principal) -> Any:
    if principal.role is Role.admin:
        return true()
    return col(WebhookSubscription.owner) == owner_of(principal)


def _after(cursor: str | None) -> tuple[dt.datetime, str] | None:
    values = decode_cursor(cursor, 2, (str, str))
    if values is None:
        return None
    try:
        at = dt.datetime.fromisoformat(values[0])
    except ValueError as exc:
        raise field_error("cursor", "not a cursor from this API") from exc
    if at.tzinfo is None:
        raise field_error("cursor", "not a cursor from this API")
    return at, values[1]


async def _load(session: Any, principal: Principal, subscription_id: str, *, lock: bool = False) -> WebhookSubscription:
    sub = await session.get(WebhookSubscription, subscription_id, with_for_update=lock)
    if sub is None or (principal.role is not Role.admin and sub.owner != owner_of(principal)):
        raise NotFound(f"webhook subscription {subscription_id} does not exist")
    return sub  # type: ignore[no-any-return]


class Subscriptions:
    def __init__(self, runtime: ServiceRuntime, policy: Policy, resolve: Resolve = system_resolve) -> None:
        self.runtime = runtime
        self.policy = policy
        self.resolve = resolve

    async def create(
        self,
        principal: Principal,
        *,
        url: str,
        event_types: list[str],
        description: str | None,
        owner: str | None,
    ) -> dict[str, Any]:
        patterns = check_patterns(event_types)
        await checked_url(url, self.policy, self.resolve)
        scope = list(principal.unit_scope) if principal.unit_scope is not None else None
        async with self.runtime.uow() as uow:
            if owner is not None and owner != owner_of(principal):
                if principal.role is not Role.admin:
                    raise NotPermitted("only an admin registers subscriptions for another client")
                client = await uow.session.get(ApiClient, owner)
                if client is None:
                    raise field_error("owner", "no such client")
                # Registered on a client's behalf: it gets what its own tokens may see.
                scope = client.unit_scope
            secret = signing.new_secret()
            sub = WebhookSubscription(
                owner=owner or owner_of(principal),
                url=url,
                event_types=patterns,
                description=description,
                unit_scope=scope,
                secret=secret,
                created_by=principal.sub,
            )
            uow.session.add(sub)
            await uow.commit()
        out = subscription_public(sub)
        out["secret"] = secret  # shown once
        return out

    async def list(
        self, principal: Principal, *, owner: str | None, status: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        S = WebhookSubscription
        stmt = select(S).where(_visible(principal))
        if owner is not None:
            stmt = stmt.where(col(S.owner) == owner)
        if status is not None:
            stmt = stmt.where(col(S.status) == status)
        after = _after(cursor)
        if after is not None:
            at, last_id = after
            stmt = stmt.where(or_(col(S.created_at) > at, and_(col(S.created_at) == at, col(S.id) > last_id)))
        stmt = stmt.order_by(col(S.created_at), col(S.id)).limit(limit + 1)
        async with self.runtime.uow() as uow:
            rows = list((await uow.session.execute(stmt)).scalars().all())
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
        return {"items": [subscription_public(s) for s in rows], "next_cursor": nxt}

    async def get(self, principal: Principal, subscription_id: str) -> dict[str, Any]:
        async with self.runtime.uow() as uow:
            return subscription_public(await _load(uow.session, principal, subscription_id))

    async def update(self, principal: Principal, subscription_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        if "event_types" in changes:
            changes["event_types"] = check_patterns(changes["event_types"])
        if "url" in changes:
            await checked_url(changes["url"], self.policy, self.resolve)
        async with self.runtime.uow() as uow:
            sub = await _load(uow.session, principal, subscription_id, lock=True)
            for k, v in changes.items():
                setattr(sub, k, v)
            sub.updated_at = utcnow()
            await uow.commit()
            return subscription_public(sub)

    async def delete(self, principal: Principal, subscription_id: str) -> None:
        async with self.runtime.uow() as uow:
            sub = await _load(uow.session, principal, subscription_id, lock=True)
            # Attempts first: a sender that finishes after this finds no delivery and records nothing.
            await uow.session.execute(
                delete(WebhookAttempt).where(col(WebhookAttempt.subscription_id) == subscription_id)
            )
            await uow.session.execute(
                delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
            )
            await uow.session.delete(sub)
            await uow.commit()

    async def set_enabled(
        self, principal: Principal, subscription_id: str, enabled: bool, reason: str | None = None
    ) -> dict[str, Any]:
        async with self.runtime.uow() as uow:
            sub = await _load(uow.session, principal, subscription_id, lock=True)
            now = utcnow()
            if enabled:
                sub.status, sub.disabled_reason, sub.disabled_at = "active", None, None
                sub.consecutive_failures = 0
                # Messages left pending while it was off go out now, not at their old times.
                await uow.session.execute(
                    update(WebhookDelivery)
                    .where(
                        col(WebhookDelivery.subscription_id) == subscription_id,
                        col(WebhookDelivery.status) == "pending",
                    )
                    .values(next_attempt_at=now)
                )
            else:
                sub.status = "disabled"
                sub.disabled_reason = reason or f"disabled by {principal.sub}"
                sub.disabled_at = now
            sub.updated_at = now
            await uow.commit()
            log.info(
                "webhook subscription %s",
                "enabled" if enabled else "disabled",
                extra={"subscription_id": subscription_id, "by": principal.sub},
            )
            return subscription_public(sub)

    async def rotate_secret(self, principal: Principal, subscription_id: str, grace_seconds: int) -> dict[str, Any]:
        async with self.runtime.uow() as uow:
            sub = await _load(uow.session, principal, subscription_id, lock=True)
            now = utcnow()
            secret = signing.new_secret()
            # The old secret keeps signing beside the new one for the grace period, so the
            # subscriber can switch without refusing a message.
            if grace_seconds > 0:
                sub.previous_secret = sub.secret
                sub.previous_secret_until = now + dt.timedelta(seconds=grace_seconds)
            else:
                sub.previous_secret = sub.previous_secret_until = None
            sub.secret = secret
            sub.updated_at = now
            await uow.commit()
            out = subscription_public(sub)
        out["secret"] = secret
        return out

    async def deliveries(
        self, principal: Principal, subscription_id: str, *, status: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        D = WebhookDelivery
        async with self.runtime.uow() as uow:
            await _load(uow.session, principal, subscription_id)
            stmt = select(D).where(col(D.subscription_id) == subscription_id)
            if status is not None:
                stmt = stmt.where(col(D.status) == status)
            after = _after(cursor)
            if after is not None:
                at, last_id = after
                stmt = stmt.where(or_(col(D.created_at) < at, and_(col(D.created_at) == at, col(D.id) < last_id)))
            # Newest first: what a subscriber looks at when something went wrong.
            stmt = stmt.order_by(col(D.created_at).desc(), col(D.id).desc()).limit(limit + 1)
            rows = list((await uow.session.execute(stmt)).scalars().all())
            more = len(rows) > limit
            rows = rows[:limit]
            attempts = await _attempts_of(uow.session, [d.id for d in rows])
        nxt = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
        return {"items": [delivery_public(d, attempts.get(d.id, [])) for d in rows], "next_cursor": nxt}

    async def delivery(self, principal: Principal, subscription_id: str, delivery_id: str) -> dict[str, Any]:
        async with self.runtime.uow() as uow:
            await _load(uow.session, principal, subscription_id)
            d = await uow.session.get(WebhookDelivery, delivery_id)
            if d is None or d.subscription_id != subscription_id:
                raise NotFound(f"delivery {delivery_id} does not exist")
            attempts = await _attempts_of(uow.session, [d.id])
            return delivery_public(d, attempts.get(d.id, []), payload=True)

    async def replay(self, principal: Principal, subscription_id: str, delivery_id: str) -> dict[str, Any]:
        """Send the message again, with the same webhook-id, and a fresh retry schedule."""
        async with self.runtime.uow() as uow:
            sub = await _load(uow.session, principal, subscription_id)
            if sub.status != "active":
                raise Conflict(
                    "the subscription is disabled: enable it first", errors=[{"field": "status", "message": "disabled"}]
                )
            d = await uow.session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if d is None or d.subscription_id != subscription_id:
                raise NotFound(f"delivery {delivery_id} does not exist")
            now = utcnow()
            # A claim holds next_attempt_at in the future while the sender works on it.
            if d.claim_token is not None and d.next_attempt_at is not None and d.next_attempt_at > now:
                raise Conflict("this delivery is being sent right now; look again in a moment")
            d.status, d.failures, d.next_attempt_at, d.claim_token = "pending", 0, now, None
            await uow.commit()
            attempts = await _attempts_of(uow.session, [d.id])
            return delivery_public(d, attempts.get(d.id, []))


async def _attempts_of(session: Any, delivery_ids: list[str]) -> dict[str, list[WebhookAttempt]]:
    if not delivery_ids:
        return {}
    A = WebhookAttempt
    rows = (
        (
            await session.execute(
                select(A).where(col(A.delivery_id).in_(delivery_ids)).order_by(col(A.delivery_id), col(A.attempt))
            )
        )
        .scalars()
        .all()
    )
    out: dict[str, list[WebhookAttempt]] = {}
    for a in rows:
        out.setdefault(a.delivery_id, []).append(a)
    return out
