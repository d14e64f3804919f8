"""The app factory every service uses: the same middleware, errors, health and metrics."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from cadrekit import revocation
from cadrekit.audit import list_reads
from cadrekit.auth import JWKSKeySource, KeySource, Principal, Role, TokenVerifier, authenticate, require_roles
from cadrekit.errors import field_error
from cadrekit.http import BodyLimitMiddleware, IdempotencyMiddleware, Metrics, RequestContextMiddleware
from cadrekit.logs import configure_logging
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from cadrekit.problems import install_problem_handlers, reject_nul_in_url
from cadrekit.runtime import ServiceRuntime
from cadrekit.scope import ScopeBinding, ScopeResolver, check_declared, whole_tree
from contracts import catalogue

Hook = Callable[[ServiceRuntime], Awaitable[None]]
Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]


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
    scope: ScopeResolver,  # unit scope (cadrekit.scope): required, so no app runs undeclared
    revocations: bool = True,  # refuse clients the gateway disabled (the gateway asks its own table)
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
        revocations=revocation.install(runtime) if revocations else None,
    )
    install_problem_handlers(app)
    metrics = Metrics(settings.service_name)
    app.state.metrics = metrics
    # Added innermost first: context → body limit → idempotency → routes.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(health_router(runtime, metrics))
    app.include_router(kit_router(runtime))
    for router in routers:
        app.include_router(router)
    bind_scope(app, scope, runtime.sessions)
    return app


def bind_scope(app: FastAPI, resolver: ScopeResolver, sessions: Any) -> None:
    """Give the scope rules their resolver, and refuse to start when a route declares no
    rule (cadrekit.scope): the next endpoint cannot forget unit scope."""
    from cadrekit.role_matrix import api_routes

    app.state.scope = ScopeBinding(resolver=resolver, sessions=sessions)
    check_declared(app, api_routes(app.routes), subjects=resolver.subjects())


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
    mirror_gaps = Gauge(
        "mirror_version_gaps", "Roster versions the mirror never applied", ["state"], registry=metrics.registry
    )

    @router.get("/health", summary="Liveness, with broker and relay state")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "service": runtime.settings.service_name,
            "relay": await runtime.relay.health(),
            "consumers": {c.name: dict(c.state) for c in runtime.consumers},
            **{name: await report() for name, report in runtime.reports.items()},
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
        if "mirror" in runtime.reports:
            with contextlib.suppress(Exception):
                gaps = await runtime.reports["mirror"]()
                mirror_gaps.labels("open").set(gaps["gaps_open"])
                mirror_gaps.labels("healed").set(gaps["gaps_found"] - gaps["gaps_open"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def kit_router(runtime: ServiceRuntime) -> APIRouter:
    """What every service serves alike: its audit log of personal-data reads, and the
    catalogue of its events (the gateway merges both across services)."""
    service = runtime.settings.service_name
    router = APIRouter()

    @router.get(
        f"/api/v1/{service}/audit/personal-data-reads",
        tags=["operations"],
        summary="Who read which personal data, when and why",
        # The log names cadres of every unit: only a token for the whole tree reads it.
        dependencies=[Depends(authenticate), Depends(whole_tree("the audit log covers the whole city"))],
    )
    async def audit_log(
        who: Auditor,
        subject_id: Annotated[str | None, Query(max_length=64)] = None,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        since: dt.datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> dict[str, Any]:
        if since is not None and since.tzinfo is not None:
            try:
                since = since.astimezone(dt.UTC)  # 0001-01-01T00:00+01:00 has no UTC: a 422
            except OverflowError as exc:
                raise field_error("since", "out of the representable range") from exc
        async with runtime.sessions() as session:
            return await list_reads(
                session, runtime.kit, subject_id=subject_id, actor=actor, since=since, limit=limit, cursor=cursor
            )

    @router.get("/events/catalog", tags=["operations"], summary="The events this service publishes, with schemas")
    async def event_catalog() -> dict[str, Any]:
        return catalogue.catalog(service)

    return router
