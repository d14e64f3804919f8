"""The matching service: selection campaigns, explained fit, balance tables and assignment
(the only place that wires it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.jobs import fail_interrupted
from cadrekit.roster_mirror import mirror_scope_resolver
from cadrekit.roster_mirror import watch as watch_mirror
from cadrekit.runtime import ServiceRuntime
from services.matching import events
from services.matching.api import cadres, campaigns, runs, training
from services.matching.models import Run, metadata, mirror
from services.matching.service.context import Context
from services.matching.settings import MatchingSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: MatchingSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    context = Context(runtime)

    # A run stores its result in one transaction: one cut off by a restart stored nothing.
    fail_interrupted_runs = fail_interrupted(Run, error={"title": "interrupted by a restart; start it again"})

    app = build_service_app(
        runtime,
        title="Matching service",
        description="Selection campaigns, explained fit, balance tables and assignment.",
        routers=[campaigns.router, runs.router, training.router, cadres.router],
        key_source=key_source,
        on_startup=[fail_interrupted_runs],
        configure_logs=configure_logs,
        # Units and cadres from the roster mirror; no other object of matching is resolved to
        # units by a path rule (services/matching/api/deps.py says why).
        scope=mirror_scope_resolver(mirror),
    )
    runtime.add_consumer("matching.inbound", events.INBOUND_TOPICS, events.inbound_handlers())
    watch_mirror(runtime, mirror)
    app.state.context = context
    return app
