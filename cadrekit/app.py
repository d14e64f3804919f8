"""The app factory every service uses: the same middleware, errors, health and metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from cadrekit.auth import JWKSKeySource, KeySource, TokenVerifier
from cadrekit.http import BodyLimitMiddleware, IdempotencyMiddleware, Metrics, RequestContextMiddleware
from cadrekit.logs import configure_logging
from cadrekit.problems import install_problem_handlers, reject_nul_in_url
from cadrekit.runtime import ServiceRuntime

Hook = Callable[[ServiceRuntime], Awaitable[None]]


def build_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    key_source: KeySource | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    configure_logs: bool = True,
) -> FastAPI:
    settings = runtime.settings
    if configure_logs:
        configure_logging(settings.service_name, settings.log_level, settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in on_startup:
            await hook(runtime)
        try:
            async with runtime.lifespan():
                yield
        finally:
            for hook in on_shutdown:
                await hook(runtime)

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_in_url)],
    )
    app.state.runtime = runtime
    app.state.verifier = TokenVerifier(
        key_source or JWKSKeySource(settings.jwks_url),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        leeway=settings.token_leeway_seconds,
    )
    install_problem_handlers(app)
    metrics = Metrics(settings.service_name)
    app.state.metrics = metrics
    # Added innermost first: context → body limit → idempotency → routes.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(health_router(runtime, metrics))
    for router in routers:
        app.include_router(router)
    return app


def health_router(runtime: ServiceRuntime, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])
    backlog = Gauge("outbox_backlog", "Events not yet published", registry=metrics.registry)
    published = Gauge("outbox_published_total", "Events published since start", registry=metrics.registry)
    consumer_age = Gauge(
        "consumer_last_fetch_age_seconds",
        "Seconds since the consumer last fetched",
        ["consumer"],
        registry=metrics.registry,
    )
    consumer_lag = Gauge("consumer_lag_messages", "Messages not yet applied", ["consumer"], registry=metrics.registry)
    consumer_dlq = Gauge(
        "consumer_dead_lettered_total", "Events sent to a DLQ", ["consumer"], registry=metrics.registry
    )

    @router.get("/health", summary="Liveness, with broker and relay state")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": runtime.settings.service_name,
            "relay": await runtime.relay.health(),
            "consumers": {c.name: dict(c.state) for c in runtime.consumers},
        }

    @router.get("/ready", summary="Database reachable and migrations current")
    async def ready() -> JSONResponse:
        ok, detail = await runtime.readiness()
        return JSONResponse({"ready": ok, **detail}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics_endpoint() -> Response:
        with contextlib.suppress(Exception):
            backlog.set(await runtime.relay.backlog())
        published.set(runtime.relay.state["published_total"])
        for c in runtime.consumers:
            if c.state["last_fetch_age_s"] is not None:
                consumer_age.labels(c.name).set(c.state["last_fetch_age_s"])
            consumer_dlq.labels(c.name).set(c.state["dead_lettered"])
            if c.state.get("lag") is not None:
                consumer_lag.labels(c.name).set(c.state["lag"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
