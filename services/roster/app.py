"""The roster service: the five-dimension cadre ledger (the only place that wires it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.jobs import fail_interrupted, spawn
from cadrekit.runtime import ServiceRuntime
from services.roster import reactions, rederiving, renormalising, resealing
from services.roster.api import admin, cadres, imports, stats, units
from services.roster.api.deps import RosterScope
from services.roster.domain.retirement import RetirementLaw
from services.roster.models import ImportJob, metadata
from services.roster.protection import load_sealer
from services.roster.service.context import Context
from services.roster.settings import RosterSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: RosterSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or RosterSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    ctx = Context(
        runtime,
        settings,
        load_sealer(settings),
        RetirementLaw(senior_women_delayed=settings.retirement_senior_women_delayed),
    )

    # An import is one transaction: one cut off by a restart wrote nothing.
    fail_interrupted_imports = fail_interrupted(ImportJob, message="interrupted by a restart; nothing was written")

    async def start_resealing(rt: ServiceRuntime) -> None:
        if settings.reseal_interval_seconds > 0:
            spawn(rt, resealing.run_forever(rt, ctx.sealer, settings.reseal_interval_seconds), name="resealing")
            # ID numbers stored before they had one normal form (migration 0004): checked once.
            spawn(rt, renormalising.run_at_startup(ctx, settings.reseal_interval_seconds), name="renormalising")
        # Retirement dates derived under another rule set (migration 0008, a changed setting).
        spawn(rt, rederiving.run_at_startup(ctx, max(settings.reseal_interval_seconds, 5.0)), name="rederiving")

    app = build_service_app(
        runtime,
        title="Roster service",
        description="The five-dimension cadre ledger: units, cadres, imports, statistics.",
        routers=[units.router, cadres.router, imports.router, stats.router, admin.router],
        key_source=key_source,
        on_startup=[fail_interrupted_imports, start_resealing],
        configure_logs=configure_logs,
        scope=RosterScope(),
    )
    topics, handlers = reactions.topics_and_handlers(ctx)
    if topics:
        runtime.add_consumer("roster.reactions", topics, handlers)
    app.state.context = ctx
    return app
