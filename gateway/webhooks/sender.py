"""The delivery worker: POSTs each due delivery, records the attempt, schedules the next.

Claiming: due rows are selected ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's single
writer serialises claims anyway) and leased by moving ``next_attempt_at`` past the
request timeout under a fresh ``claim_token``, then committed, so the HTTP request runs
outside any transaction and two gateway replicas never send the same attempt. A replica
that dies mid-request leaves the lease to expire and another sends the message again:
delivery is at least once, and subscribers drop repeats by ``webhook-id``.

Handed over: a first attempt need not be claimed at all. The dispatcher writes the delivery
rows it queues already leased to this worker (``lease``: a claim token and a lease end, taken
in the dispatcher's own transaction) and, once that has committed, hands them over
(``hand_over``), and they are sent at once: no wake, no claim transaction, one commit fewer
between the approval and the subscriber. The lease is the same as a claim's, so the rules
above hold unchanged: no other replica takes the rows while it runs, and if this process
dies before recording, another sends them when it expires (at least once).

When to look otherwise: at once when woken (``wake``: deliveries this process queued without
a lease, or made due again through the API), else every ``webhook_poll_seconds``, which finds
the retries that fell due and what another replica queued but did not send.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import delete, select, update
from sqlmodel import col

from cadrekit.db import utcnow
from cadrekit.runtime import ServiceRuntime
from contracts import gateway as contract
from contracts.envelope import Event
from gateway.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from gateway.settings import GatewaySettings
from gateway.webhooks import signing
from gateway.webhooks.backoff import retry_delay
from gateway.webhooks.ssrf import GuardedResolver, Policy, UnsafeUrl, describe, literal_address, parse_url

log = logging.getLogger("gateway.webhooks")

USER_AGENT = "cadre-gateway-webhooks/1"
# Beyond the requests' timeouts, how long a claim is held before another replica may take it.
LEASE_MARGIN_SECONDS = 30.0
PURGE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Lease:
    """A claim taken before the rows exist: the dispatcher writes them with it."""

    token: str
    until: dt.datetime


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    subscription_id: str
    token: str
    url: str
    secrets: tuple[str, ...]
    message_id: str
    payload: str
    attempt: int
    trigger: str


@dataclass(frozen=True)
class Outcome:
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def secrets_of(
    secret: str, previous: str | None, previous_until: dt.datetime | None, now: dt.datetime
) -> tuple[str, ...]:
    """The secrets a message is signed with: the current one, and the one it replaced while
    its overlap lasts."""
    if previous and previous_until and previous_until > now:
        return (secret, previous)
    return (secret,)


def trigger_of(attempts: int, failures: int) -> str:
    if attempts == 0:
        return "first"
    return "retry" if failures > 0 else "replay"


class DeliveryWorker:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: GatewaySettings,
        policy: Policy,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.policy = policy
        self.rand = rand
        self.state: dict[str, Any] = {"sent": 0, "failed": 0, "last_error": None}
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        # Handed-over deliveries being sent, and how many: at most a batch is held this way,
        # so a lease (sized for two batches) covers them and a claimed batch together.
        self._handed: set[asyncio.Task[None]] = set()
        self._in_hand = 0

    # life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="webhook-sender")
        # The runtime cancels its background tasks first when it stops, before the engine
        # is disposed; an attempt cut short there is sent again once its lease expires.
        self.runtime.background.append(self._task)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        task, self._task = self._task, None
        # Handed-over sends cut short here are sent again once their lease expires.
        handed, self._handed = list(self._handed), set()
        for t in [task, *handed]:
            if t is not None:
                t.cancel()
        for t in [task, *handed]:
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(t, timeout=10)
        await self._close_http()

    def lease(self, n: int) -> Lease | None:
        """A lease for ``n`` first attempts the dispatcher is about to queue, or None: the
        worker is not running, or already holds a batch handed over (the rows are then
        queued due now and found by a wake, as any other)."""
        if self._task is None or self._stopping.is_set() or self._in_hand + n > self.settings.webhook_batch_size:
            return None
        return Lease(str(uuid.uuid4()), utcnow() + dt.timedelta(seconds=self.lease_seconds()))

    def hand_over(self, claimed: list[Claimed]) -> None:
        """Send these now: their rows are committed under a lease from :meth:`lease`. Called
        from the dispatcher's after-commit callback, on the event loop; returns at once."""
        if not claimed:
            return
        if self._stopping.is_set():
            return  # the lease expires and the rows are sent then, by whoever is running
        self._in_hand += len(claimed)
        task = asyncio.create_task(self._deliver(claimed), name="webhook-handed-over")
        self._handed.add(task)
        task.add_done_callback(self._handed.discard)

    async def _deliver(self, claimed: list[Claimed]) -> None:
        try:
            await self.send_all(claimed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the rows stay leased and are sent again when it expires
            self.state["last_error"] = f"{type(exc).__name__}: {exc}"
            log.warning("webhook sender error", extra={"error": self.state["last_error"]})
        finally:
            self._in_hand -= len(claimed)

    def wake(self) -> None:
        """Look for due deliveries now, not at the next poll: called when this process queued
        some (the dispatcher, after its commit) or made some due again (replay, enable). A
        wake during a round is kept for the end of it, so none is lost."""
        self._wake.set()

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.policy), limit=self.settings.webhook_concurrency
            )
            # trust_env stays off: a proxy from the environment would hide the real target.
            self._http = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._http

    async def _close_http(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            with contextlib.suppress(Exception):
                await http.close()

    async def _run(self) -> None:
        last_purge = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                    last_purge = time.monotonic()
                    await self.purge()
                n = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.state["last_error"] = f"{type(exc).__name__}: {exc}"
                log.warning("webhook sender error", extra={"error": self.state["last_error"]})
                n = 0
            if n < self.settings.webhook_batch_size:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.settings.webhook_poll_seconds)
                self._wake.clear()

    async def purge(self) -> int:
        """Drop finished deliveries older than the retention, with their attempts; pending
        ones stay whatever their age (a disabled subscription's queue waits for it)."""
        D, A = WebhookDelivery, WebhookAttempt
        cutoff = utcnow() - dt.timedelta(days=self.settings.webhook_retention_days)
        old = select(col(D.id)).where(col(D.status).in_(["delivered", "failed"]), col(D.created_at) < cutoff)
        async with self.runtime.sessions() as session:
            await session.execute(delete(A).where(col(A.delivery_id).in_(old)))
            result = await session.execute(delete(D).where(col(D.id).in_(old)))
            await session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # one round ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim the due deliveries, send them concurrently, record each; returns how many."""
        claimed = await self.claim()
        if claimed:
            await self.send_all(claimed)
        return len(claimed)

    async def send_all(self, claimed: list[Claimed]) -> None:
        """Send and record each, ``webhook_concurrency`` at a time."""
        gate = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def one(c: Claimed) -> None:
            async with gate:
                outcome = await self.send(c)
                await self.record(c, outcome)

        await asyncio.gather(*(one(c) for c in claimed))

    def lease_seconds(self) -> float:
        """Long enough for a claimed batch and a handed-over one together, each sent
        ``webhook_concurrency`` at a time: a lease that ran out mid-batch would let another
        replica send the same attempt."""
        s = self.settings
        rounds = -(-s.webhook_batch_size // s.webhook_concurrency)
        return 2 * rounds * s.webhook_timeout_seconds + LEASE_MARGIN_SECONDS

    async def claim(self) -> list[Claimed]:
        D, S = WebhookDelivery, WebhookSubscription
        now = utcnow()
        token = str(uuid.uuid4())
        lease_until = now + dt.timedelta(seconds=self.lease_seconds())
        stmt = (
            select(
                col(D.id),
                col(D.subscription_id),
                col(D.message_id),
                col(D.payload),
                col(D.attempts),
                col(D.failures),
                col(S.url),
                col(S.secret),
                col(S.previous_secret),
                col(S.previous_secret_until),
            )
            .join(S, col(S.id) == col(D.subscription_id))
            .where(col(D.status) == "pending", col(D.next_attempt_at) <= now, col(S.status) == "active")
            .order_by(col(D.next_attempt_at))
            .limit(self.settings.webhook_batch_size)
            .with_for_update(skip_locked=True, of=D)
        )
        async with self.runtime.sessions() as session:
            rows = (await session.execute(stmt)).all()
            if not rows:
                await session.rollback()
                return []
            await session.execute(
                update(D)
                .where(col(D.id).in_([r.id for r in rows]))
                .values(claim_token=token, next_attempt_at=lease_until)
            )
            await session.commit()
        out = []
        for r in rows:
            out.append(
                Claimed(
                    delivery_id=r.id,
                    subscription_id=r.subscription_id,
                    token=token,
                    url=r.url,
                    secrets=secrets_of(r.secret, r.previous_secret, r.previous_secret_until, now),
                    message_id=r.message_id,
                    payload=r.payload,
                    attempt=r.attempts + 1,
                    trigger=trigger_of(r.attempts, r.failures),
                )
            )
        return out

    async def send(self, c: Claimed) -> Outcome:
        started = utcnow()
        t0 = time.monotonic()
        status: int | None = None
        error: str | None = None
        body = c.payload.encode()
        try:
            # A literal address never reaches the resolver, so it is judged here; names are
            # judged by the connector's resolver, on the addresses actually connected to.
            target = parse_url(c.url)
            ip = literal_address(target.host)
            reason = self.policy.refusal(ip) if ip is not None else None
            if reason:
                raise UnsafeUrl(f"refused address: {reason}")
            headers = signing.headers(c.secrets, c.message_id, int(time.time()), body)
            headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
            timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds)
            async with self._client().post(
                c.url, data=body, headers=headers, allow_redirects=False, timeout=timeout
            ) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        except UnsafeUrl as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = describe(exc)
        except Exception as exc:  # never let one subscriber's oddity stop the worker
            error = f"{type(exc).__name__}: {exc}"
        return Outcome(started, int((time.monotonic() - t0) * 1000), status, error and error[:500])

    async def record(self, c: Claimed, outcome: Outcome) -> None:
        now = utcnow()
        notice: Event | None = None
        async with self.runtime.sessions() as session:
            d = await session.get(WebhookDelivery, c.delivery_id, with_for_update=True)
            if d is None:
                await session.rollback()
                return  # the subscription was deleted meanwhile
            attempt = WebhookAttempt(
                delivery_id=d.id,
                subscription_id=d.subscription_id,
                attempt=c.attempt,
                trigger=c.trigger,
                started_at=outcome.started_at,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                error=outcome.error,
                success=outcome.success,
            )
            session.add(attempt)
            if d.claim_token != c.token:
                # The lease ran out and someone else owns the delivery now: keep the record
                # of what happened, leave the state to the new owner.
                await session.commit()
                return
            d.attempts = c.attempt
            d.claim_token = None
            d.last_attempt_at = now
            d.last_status_code = outcome.status_code
            d.last_error = outcome.error
            if outcome.success:
                d.status, d.delivered_at, d.next_attempt_at = "delivered", now, None
                await session.execute(
                    update(WebhookSubscription)
                    .where(col(WebhookSubscription.id) == d.subscription_id)
                    .values(consecutive_failures=0)
                )
                self.state["sent"] += 1
            else:
                self.state["failed"] += 1
                d.failures += 1
                delay = retry_delay(
                    self.settings.webhook_retry_schedule,
                    d.failures,
                    jitter=self.settings.webhook_retry_jitter,
                    rand=self.rand,
                )
                if delay is not None:
                    d.next_attempt_at = now + dt.timedelta(seconds=delay)
                    attempt.next_retry_at = d.next_attempt_at
                else:
                    d.status, d.next_attempt_at = "failed", None
                    notice = await self._count_exhausted(session, d.subscription_id, outcome)
            await session.commit()
        if notice is not None:
            self.runtime.relay.wake()

    async def _count_exhausted(self, session: Any, subscription_id: str, outcome: Outcome) -> Event | None:
        """One more message failed every retry; enough in a row disable the subscription."""
        sub = await session.get(WebhookSubscription, subscription_id, with_for_update=True)
        if sub is None:
            return None
        sub.consecutive_failures += 1
        limit = self.settings.webhook_disable_after_failures
        if sub.status != "active" or sub.consecutive_failures < limit:
            return None
        now = utcnow()
        sub.status, sub.disabled_at, sub.updated_at = "disabled", now, now
        sub.disabled_reason = (
            f"disabled automatically: {sub.consecutive_failures} messages in a row failed every retry"
            f" (last: {outcome.error or outcome.status_code})"
        )[:500]
        log.warning(
            "webhook subscription disabled after repeated failure",
            extra={"subscription_id": sub.id, "owner": sub.owner, "url": sub.url, "reason": sub.disabled_reason},
        )
        # The notice: on the gateway's own topic through its outbox, for ops and the owner's
        # other systems (the failing endpoint itself is the one place it cannot go).
        notice = contract.WebhookDisabled(
            subscription_id=sub.id, owner=sub.owner, url=sub.url, reason=sub.disabled_reason, disabled_at=now
        ).event()
        await self.runtime.emit_from_handler(session, [notice])
        return notice
