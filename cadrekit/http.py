"""ASGI middleware every process runs: request ids, body limits, metrics, idempotent POSTs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
import uuid
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadrekit import context
from cadrekit.db import utcnow
from cadrekit.problems import MEDIA_TYPE, PROBLEM_BASE, Problem

log = logging.getLogger("cadrekit.http")


def _problem_bytes(scope: Scope, status: int, slug: str, title: str, detail: str) -> bytes:
    return orjson.dumps(
        {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope.get("path"),
            "request_id": context.request_id.get(),
        }
    )


async def send_problem(scope: Scope, send: Send, status: int, slug: str, title: str, detail: str) -> None:
    body = _problem_bytes(scope, status, slug, title, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.service = service


class RequestContextMiddleware:
    """Request and correlation ids (taken from the caller or made here), an access log line
    and per-route metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = _safe_id(headers.get(b"x-request-id")) or f"req-{uuid.uuid4().hex[:16]}"
        cid = _safe_id(headers.get(b"x-correlation-id")) or rid
        t_rid, t_cid = context.request_id.set(rid), context.correlation_id.set(cid)
        # Also in the scope: the outermost error handler runs after the context is reset.
        scope.setdefault("state", {})["request_id"] = rid
        status_holder = {"status": 500}
        start = time.perf_counter()

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", rid.encode()),
                    (b"x-correlation-id", cid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status_holder["status"])).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            if template not in ("/health", "/metrics", "/ready"):
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope.get("path"),
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            context.request_id.reset(t_rid)
            context.correlation_id.reset(t_cid)


def _safe_id(raw: bytes | None) -> str | None:
    if not raw:
        return None
    value = raw.decode("latin-1")[:100]
    return value if value.replace("-", "").replace("_", "").replace(".", "").isalnum() else None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await send_problem(
                    scope,
                    send,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"request bodies are limited to {self.max_bytes} bytes",
                )
                return
        seen = 0
        response_started = False

        async def _receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def _send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        except _TooLarge:
            if not response_started:
                await send_problem(
                    scope,
                    send,
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"request bodies are limited to {self.max_bytes} bytes",
                )


class _TooLarge(Exception):
    pass


class IdempotencyMiddleware:
    """A POST retried with the same ``Idempotency-Key`` returns the first response and
    changes nothing again. Keys are per principal; a key reused for another request is
    refused; a request still running under the key answers 409."""

    PENDING_EXPIRY = dt.timedelta(seconds=120)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(b"idempotency-key")
        if not raw_key:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > 200:
            await send_problem(
                scope, send, 422, "validation", "Invalid request", "Idempotency-Key must be 1 to 200 characters"
            )
            return
        runtime = scope["app"].state.runtime
        principal_key = await self._principal_key(scope)
        if principal_key is None:  # no valid token: let authentication answer
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        table = runtime.kit.idempotency
        async with runtime.engine.begin() as conn:
            row = (
                await conn.execute(select(table).where(table.c.principal == principal_key, table.c.key == key))
            ).first()
            if row is not None and row.state == "pending" and utcnow() - row.created_at > self.PENDING_EXPIRY:
                await conn.execute(delete(table).where(table.c.principal == principal_key, table.c.key == key))
                row = None
            if row is None:
                try:
                    await conn.execute(
                        table.insert().values(
                            principal=principal_key,
                            key=key,
                            method="POST",
                            path=scope["path"],
                            request_hash=digest,
                            state="pending",
                            created_at=utcnow(),
                        )
                    )
                except IntegrityError:
                    row = "raced"
        if row == "raced" or (row is not None and row.state == "pending"):
            await send_problem(
                scope,
                send,
                409,
                "idempotency-in-progress",
                "Conflict",
                "a request with this Idempotency-Key is still being processed",
            )
            return
        if row is not None:
            if row.request_hash != digest:
                await send_problem(
                    scope,
                    send,
                    422,
                    "idempotency-key-reused",
                    "Invalid request",
                    "this Idempotency-Key was used for a different request",
                )
                return
            stored_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in orjson.loads(row.response_headers)]
            stored_headers.append((b"idempotent-replayed", b"true"))
            await send({"type": "http.response.start", "status": row.response_status, "headers": stored_headers})
            await send({"type": "http.response.body", "body": row.response_body})
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}
        replayed_body = False

        async def _receive() -> Message:
            nonlocal replayed_body
            if not replayed_body:
                replayed_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        held: list[Message] = []

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"x-request-id", b"x-correlation-id", b"content-length")
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    # The last part waits until the key is settled: a client that retries the
                    # moment it has the answer must find "done", not "still being processed".
                    held.append(message)
                    return
            await send(message)

        try:
            await self.app(scope, _receive, _send)
        finally:
            try:
                await self._settle(runtime, table, principal_key, key, captured)
            finally:
                for message in held:
                    await send(message)

    async def _settle(self, runtime: Any, table: Any, principal_key: str, key: str, captured: dict[str, Any]) -> None:
        # The connection that served the request may have been dropped with it: settle the
        # key on a fresh one, or a retry would meet "still being processed" for minutes.
        for attempt in range(3):
            try:
                await self._settle_once(runtime, table, principal_key, key, captured)
                return
            except DBAPIError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def _settle_once(
        self, runtime: Any, table: Any, principal_key: str, key: str, captured: dict[str, Any]
    ) -> None:
        async with runtime.engine.begin() as conn:
            where = (table.c.principal == principal_key, table.c.key == key)
            if captured["status"] < 500:
                await conn.execute(
                    update(table)
                    .where(*where)
                    .values(
                        state="done",
                        response_status=captured["status"],
                        response_headers=orjson.dumps(captured["headers"]).decode(),
                        response_body=bytes(captured["body"]),
                    )
                )
            else:  # a failure on our side: let the retry run again
                await conn.execute(delete(table).where(*where))

    async def _principal_key(self, scope: Scope) -> str | None:
        request = Request(scope)
        try:
            from cadrekit.auth import authenticate

            principal = await authenticate(request)
        except Problem:
            return None
        return f"{principal.act or principal.client_id or ''}|{principal.sub}"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        elif message["type"] == "http.disconnect":
            break
    return b"".join(chunks)
