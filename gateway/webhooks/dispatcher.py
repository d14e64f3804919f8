"""The dispatcher: the gateway's own consumer of every service's topic.

Each event becomes one delivery row per subscription that wants it, written in the
handler's transaction together with the consumer's inbox row: an event applied once is
enqueued once, whatever the broker redelivers or a restart replays. Roster events also
keep the gateway's roster mirror, from which a scoped subscriber's scope is judged.

The rows are written already leased to this process's delivery worker, and once the
transaction has committed they are handed to it and sent at once: no poll, no wake-then-claim
(one commit fewer). The hand-over is in-process on purpose: the replica that consumed the
event is the one that queued it, so no other process needs telling, and a function call works
the same on SQLite and PostgreSQL. PostgreSQL's LISTEN/NOTIFY would only add a wake across
replicas, which the poll already covers (and SQLite has no equivalent); consuming Kafka in the
worker itself would lose the one transaction that makes an event enqueued exactly once.
When the worker cannot take the rows (not running, or a batch already in hand) they are
queued due now and the worker is woken instead. The poll stays the fallback: for retries, for
deliveries made due again by the API, and for rows another replica queued but did not send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.db import utcnow
from cadrekit.inbox import Handler, after_commit, insert_ignoring_duplicates
from cadrekit.roster_mirror import get_cadre, get_units, mirror_handlers
from contracts import topics
from contracts.base import superseded
from contracts.envelope import SUPERSEDED_BY, dumps
from gateway.models import ApiClient, WebhookDelivery, WebhookSubscription, mirror
from gateway.webhooks import rules
from gateway.webhooks.sender import Claimed, Lease, secrets_of

log = logging.getLogger("gateway.webhooks")

CONSUMER = "gateway.webhooks"
TOPICS = [topics.ROSTER, topics.MATCHING, topics.SCORING, topics.SECONDMENT]


class EveryType(dict[str, Handler]):
    """The consumer looks handlers up by event type with ``.get``; subscribers may want any
    type, including ones a service adds after this gateway was built, so every type not
    named falls back to the dispatch handler."""

    def __init__(self, specific: Mapping[str, Handler], fallback: Handler) -> None:
        super().__init__(specific)
        self.fallback = fallback

    def get(self, key: str, default: Any = None) -> Handler:
        return super().get(key) or self.fallback


class Worker(Protocol):
    """What the dispatcher needs of the delivery worker (sender.DeliveryWorker)."""

    def lease(self, n: int) -> Lease | None: ...

    def hand_over(self, claimed: list[Claimed]) -> None: ...

    def wake(self) -> None: ...


def handlers(history_grace_seconds: float, worker: Worker) -> dict[str, Handler]:
    """Deliveries reach ``worker`` only after the commit of the event that queued them
    (never before it: the rows must exist when they are recorded)."""

    async def dispatch(session: AsyncSession, event: dict[str, Any]) -> None:
        queued = await enqueue(session, event, history_grace_seconds=history_grace_seconds, worker=worker)
        if queued.handed:
            handed = queued.handed
            after_commit(session, lambda: worker.hand_over(handed))
        elif queued.count:
            after_commit(session, worker.wake)

    def mirrored_then_dispatched(apply: Handler) -> Handler:
        async def both(session: AsyncSession, event: dict[str, Any]) -> None:
            # Mirror first: a unit or cadre an event introduces is then known to the scope check.
            # The mirror reads the newest version; a companion is for pinned subscriptions only.
            if not superseded(event):
                await apply(session, event)
            await dispatch(session, event)

        return both

    specific = {t: mirrored_then_dispatched(h) for t, h in mirror_handlers(mirror).items()}
    return EveryType(specific, dispatch)


async def event_unit_paths(session: AsyncSession, data: Mapping[str, Any]) -> list[str]:
    """The mirror paths of the units an event concerns: those its data names, and the
    current unit of its cadre."""
    unit_ids = rules.referenced_unit_ids(data)
    cadre_id = data.get("cadre_id")
    if isinstance(cadre_id, str):
        cadre = await get_cadre(session, mirror, cadre_id)
        if cadre is not None:
            unit_ids.append(cadre.unit_id)
    units = await get_units(session, mirror, unit_ids)
    # A unit the mirror does not know yet (its event on another partition, still to come)
    # still matches a scope that names it directly.
    return [units[u].path if u in units else f"/{u}/" for u in dict.fromkeys(unit_ids)]


@dataclass(frozen=True)
class Queued:
    """What :func:`enqueue` wrote: how many rows, and those leased to the worker."""

    count: int = 0
    handed: list[Claimed] = field(default_factory=list)


async def enqueue(
    session: AsyncSession, event: dict[str, Any], *, history_grace_seconds: float, worker: Worker | None = None
) -> Queued:
    subs = (
        (await session.execute(select(WebhookSubscription).where(col(WebhookSubscription.status) == "active")))
        .scalars()
        .all()
    )
    event_time = rules.parse_time(event.get("time"))
    version, companion = str(event.get("dataversion") or "1"), bool(event.get(SUPERSEDED_BY))
    wanted = [
        s
        for s in subs
        if rules.type_matches(s.event_types, event["type"], version, companion)
        and rules.new_enough(event_time, s.created_at, history_grace_seconds)
    ]
    if not wanted:
        return Queued()
    owners = (
        (await session.execute(select(ApiClient).where(col(ApiClient.client_id).in_({s.owner for s in wanted}))))
        .scalars()
        .all()
    )
    active_owners = {c.client_id: c for c in owners if not c.disabled}
    paths: list[str] | None = None
    rows, chosen = [], []
    now = utcnow()
    payload = dumps(event).decode()
    raw = event.get("data")
    data: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    for s in wanted:
        client = active_owners.get(s.owner)
        if client is None:
            continue  # a disabled client's subscriptions rest with it
        if s.unit_scope is not None or client.unit_scope is not None:
            if paths is None:
                paths = await event_unit_paths(session, data)
            # Both the creating token's scope and the client's current one must hold.
            if not (rules.in_scope(paths, s.unit_scope) and rules.in_scope(paths, client.unit_scope)):
                continue
        chosen.append(s)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "subscription_id": s.id,
                "message_id": str(event["id"]),
                "event_type": event["type"],
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "failures": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if not rows:
        return Queued()
    lease = worker.lease(len(rows)) if worker is not None else None
    if lease is not None:
        for row in rows:
            row["claim_token"], row["next_attempt_at"] = lease.token, lease.until
    table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    stmt = insert_ignoring_duplicates(table, session.get_bind().dialect.name).returning(table.c.id)
    # Only the rows written now are handed over: one already there (the same message
    # queued before) is someone else's to send.
    written = set((await session.execute(stmt, rows)).scalars().all())
    log.debug("event enqueued for webhooks", extra={"event_id": event["id"], "deliveries": len(written)})
    if lease is None:
        return Queued(len(written))
    handed = [
        Claimed(
            delivery_id=row["id"],
            subscription_id=s.id,
            token=lease.token,
            url=s.url,
            secrets=secrets_of(s.secret, s.previous_secret, s.previous_secret_until, now),
            message_id=row["message_id"],
            payload=payload,
            attempt=1,
            trigger="first",
        )
        for s, row in zip(chosen, rows, strict=True)
        if row["id"] in written
    ]
    return Queued(len(written), handed)
