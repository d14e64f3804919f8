"""The scoring service: the annual points ledger, appraisals and excellence quotas."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.roster_mirror import mirror_handlers
from cadrekit.roster_mirror import watch as watch_mirror
from cadrekit.runtime import ServiceRuntime
from contracts import topics
from services.scoring.api import catalogues, excellence, ledger
from services.scoring.models import metadata, mirror
from services.scoring.service.context import Context, scope_resolver
from services.scoring.settings import ScoringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: ScoringSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or ScoringSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    runtime.add_consumer("scoring.roster-mirror", [topics.ROSTER], mirror_handlers(mirror))
    watch_mirror(runtime, mirror)
    app = build_service_app(
        runtime,
        title="Scoring service",
        description="The annual points ledger, appraisals, excellence quotas and score-change events.",
        routers=[catalogues.router, ledger.router, excellence.router],
        key_source=key_source,
        configure_logs=configure_logs,
        scope=scope_resolver(),
    )
    app.state.context = Context(runtime, settings)
    return app
