"""The matching service: skeleton (app factory, health, settings, migrations). Selection campaigns, explained fit, balance tables and assignment (issue: matching)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.runtime import ServiceRuntime
from services.matching.models import metadata
from services.matching.settings import MatchingSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: MatchingSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or MatchingSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    return build_service_app(
        runtime,
        title="Matching service",
        description="Selection campaigns, explained fit, balance tables and assignment (issue: matching).",
        routers=[],
        key_source=key_source,
        configure_logs=configure_logs,
    )
