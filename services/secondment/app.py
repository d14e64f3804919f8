"""The secondment service: skeleton (app factory, health, settings, migrations). Paired two-way city-town secondments (issue: secondment)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cadrekit.app import build_service_app
from cadrekit.auth import KeySource
from cadrekit.runtime import ServiceRuntime
from services.secondment.models import metadata
from services.secondment.settings import SecondmentSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: SecondmentSettings | None = None, *, key_source: KeySource | None = None, configure_logs: bool = True
) -> FastAPI:
    settings = settings or SecondmentSettings()
    runtime = ServiceRuntime(settings, metadata, MIGRATIONS)
    return build_service_app(
        runtime,
        title="Secondment service",
        description="Paired two-way city-town secondments (issue: secondment).",
        routers=[],
        key_source=key_source,
        configure_logs=configure_logs,
    )
