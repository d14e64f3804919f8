"""The matching service: selection campaigns, explained fit, balance tables and assignment
(the only place that wires it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.db import utcnow
from cadrekit.roster_mirror import mirror_scope_resolver
from cadrekit.runtime import ServiceRuntime
from services.matching import events
from services.matching.api import cadres, campaigns, runs, training
from services.matching.models import Run, metadata, mirror
from services.matching.service import Matching
from services.matching.settings import MatchingSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: MatchingSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    matching = Matching(runtime)

    async def fail_interrupted_runs(rt: ServiceRuntime) -> None:
        # A run stores its result in one transaction: one cut off by a restart stored nothing.
        async with rt.engine.begin() as conn:
            await conn.execute(
                update(Run)
                .where(col(Run.status).in_(("queued", "running")))
                .values(
                    status="failed", finished_at=utcnow(), error={"title": "interrupted by a restart; start it again"}
                )
            )

    app = build_service_app(
        runtime,
        title="Matching service",
        description="Selection campaigns, explained fit, balance tables and assignment.",
        routers=[campaigns.router, runs.router, training.router, cadres.router],
        key_source=key_source,
        on_startup=[fail_interrupted_runs],
        configure_logs=configure_logs,
        event_schemas=events.SCHEMAS,
        # Units and cadres from the roster mirror; no other object of matching is resolved to
        # units by a path rule (services/matching/api/deps.py says why).
        scope=mirror_scope_resolver(mirror),
    )
    runtime.add_consumer("matching.inbound", events.INBOUND_TOPICS, events.inbound_handlers())
    app.state.matching = matching
    return app
