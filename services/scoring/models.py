"""Scoring tables (its own metadata). Only the kit tables exist until its issue lands."""

from __future__ import annotations

from sqlmodel import SQLModel

from cadrekit.db import service_registry
from cadrekit.runtime import kit_tables_of

registry = service_registry()


class ScoringModel(SQLModel, registry=registry):
    pass


metadata = registry.metadata
kit = kit_tables_of(metadata)
