"""The secondment service: paired two-way city↔town secondments (the only place that wires it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.roster_mirror import mirror_handlers, mirror_scope_resolver
from cadrekit.roster_mirror import watch as watch_mirror
from cadrekit.runtime import ServiceRuntime
from contracts import matching, scoring
from services.secondment.api import batches, reserve, secondments
from services.secondment.events import CONSUMES, apply_placement_confirmed, apply_score_changed
from services.secondment.models import metadata, mirror
from services.secondment.service.context import Context
from services.secondment.service.queries import secondment_units
from services.secondment.settings import SecondmentSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: SecondmentSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or SecondmentSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    app = build_service_app(
        runtime,
        title="Secondment service",
        description="Paired two-way city↔town secondments: batches, pairs, vetting, terms, reviews, reserve pool.",
        routers=[batches.router, secondments.router, reserve.router],
        key_source=key_source,
        configure_logs=configure_logs,
        scope=mirror_scope_resolver(mirror, {"secondment": secondment_units}),
    )
    # One consumer: the roster mirror, annual points and confirmed placements share its inbox.
    handlers = {
        **mirror_handlers(mirror),
        scoring.ScoreChanged.TYPE: apply_score_changed,
        matching.PlacementConfirmed.TYPE: apply_placement_confirmed,
    }
    runtime.add_consumer("secondment.inputs", list(CONSUMES), handlers)
    watch_mirror(runtime, mirror)
    app.state.context = Context(runtime)
    return app
