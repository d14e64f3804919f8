"""The gateway: the portal's one API. Issues tokens, routes to the services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import Principal, Role, StaticKeySource, TokenVerifier
from cadrekit.problems import Unauthorized
from cadrekit.roster_mirror import mirror_scope_resolver
from cadrekit.runtime import ServiceRuntime
from gateway import clients, delegations, keys, webhooks
from gateway.api import auth, contract, routes, views
from gateway.api import delegations as delegation_routes
from gateway.models import metadata, mirror
from gateway.proxy import new_client, new_session
from gateway.ratelimit import new_limiter
from gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: GatewaySettings | None = None, *, configure_logs: bool = True) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    ring = keys.load_or_create(settings.signing_keys_dir, create=settings.mode != "production")
    hooks = webhooks.install(runtime, settings)  # the dispatcher consumer; worker started below

    async def bootstrap(rt: ServiceRuntime) -> None:
        await clients.ensure_bootstrap_client(rt, settings)
        app.state.http = new_client()
        app.state.proxy_session = new_session()
        app.state.limiter = (
            new_limiter(settings.redis_url, settings.rate_limit_per_second, settings.rate_limit_burst)
            if settings.rate_limit_enabled
            else None
        )

    async def close_http(rt: ServiceRuntime) -> None:
        await app.state.http.aclose()
        await app.state.proxy_session.close()
        if app.state.limiter is not None:
            await app.state.limiter.close()

    app = build_service_app(
        runtime,
        title="Cadre Placement Platform API",
        description="The portal's one API: tokens, and roster, matching, scoring and secondment under /api/v1/.",
        routers=[auth.router, delegation_routes.router, contract.router, views.router, webhooks.router, routes.router],
        key_source=StaticKeySource(ring.public_keys),
        on_startup=[bootstrap, hooks.start],
        on_shutdown=[close_http, hooks.stop],
        configure_logs=configure_logs,
        scope=mirror_scope_resolver(mirror),
        revocations=False,  # ActiveClientVerifier below asks the client table itself
    )
    app.state.keyring = ring
    app.state.webhooks = hooks
    app.state.verifier = ActiveClientVerifier(runtime, app.state.verifier)
    app.add_middleware(delegation_routes.DelegatedActionLog, runtime=runtime)
    return app


class ActiveClientVerifier(TokenVerifier):
    """The gateway also asks its own client table: a disabled client's tokens stop working
    at their next use, not at their expiry (on another replica: within
    client_state_cache_seconds). And an officer token a portal holds for a person works only
    while that person's registration with that portal is in force (gateway/delegations.py):
    revoked, its tokens stop at their next use; never registered, there is no such token."""

    def __init__(self, runtime: ServiceRuntime, inner: TokenVerifier) -> None:
        super().__init__(inner.keys, issuer=inner.issuer, audience=inner.audience, leeway=inner.leeway)
        self.runtime = runtime

    async def verify(self, token: str) -> Principal:
        principal = await super().verify(token)
        max_age = self.runtime.settings.client_state_cache_seconds  # type: ignore[attr-defined]
        if not await clients.is_active(self.runtime, principal.act or principal.client_id, max_age):
            raise Unauthorized("this client is disabled")
        delegated = principal.role is Role.officer and principal.act is not None
        if delegated and not await delegations.holds(self.runtime, principal, max_age):
            raise Unauthorized("this person is not registered as an officer of the portal")
        return principal
