"""The dispatcher: the gateway's own consumer of every service's topic.

Each event becomes one delivery row per subscription that wants it, written in the
handler's transaction together with the consumer's inbox row: an event applied once is
enqueued once, whatever the broker redelivers or a restart replays. Roster events also
keep the gateway's roster mirror, from which a scoped subscriber's scope is judged.

Once that transaction has committed, the dispatcher wakes this process's delivery worker,
so a delivery is sent as soon as it is queued instead of at the worker's next poll. The
wake is in-process on purpose: the replica that consumed the event is the one that queued
it, so no other process needs telling, and a function call works the same on SQLite and
PostgreSQL. PostgreSQL's LISTEN/NOTIFY would only add a wake across replicas, which the poll
already covers (and SQLite has no equivalent). The poll stays the fallback: for retries, for
deliveries made due again by the API, and for rows another replica queued but did not send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

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


def handlers(history_grace_seconds: float, on_enqueued: Callable[[], None]) -> dict[str, Handler]:
    """``on_enqueued`` runs after the commit of an event that queued deliveries (never
    before it: the worker's claim must see the rows)."""

    async def dispatch(session: AsyncSession, event: dict[str, Any]) -> None:
        if await enqueue(session, event, history_grace_seconds=history_grace_seconds):
            after_commit(session, on_enqueued)

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


async def enqueue(session: AsyncSession, event: dict[str, Any], *, history_grace_seconds: float) -> int:
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
        return 0
    owners = (
        (await session.execute(select(ApiClient).where(col(ApiClient.client_id).in_({s.owner for s in wanted}))))
        .scalars()
        .all()
    )
    active_owners = {c.client_id: c for c in owners if not c.disabled}
    paths: list[str] | None = None
    rows = []
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
    if rows:
        table = WebhookDelivery.__table__  # type: ignore[attr-defined]
        stmt = insert_ignoring_duplicates(table, session.get_bind().dialect.name)
        await session.execute(stmt, rows)
        log.debug("event enqueued for webhooks", extra={"event_id": event["id"], "deliveries": len(rows)})
    return len(rows)
