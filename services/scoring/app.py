"""The scoring service: skeleton (app factory, health, settings, migrations). The annual points ledger, appraisals and excellence quotas (issue: scoring)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.runtime import ServiceRuntime
from services.scoring.models import metadata
from services.scoring.settings import ScoringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: ScoringSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or ScoringSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    return build_service_app(
        runtime,
        title="Scoring service",
        description="The annual points ledger, appraisals and excellence quotas (issue: scoring).",
        routers=[],
        key_source=key_source,
        configure_logs=configure_logs,
    )
