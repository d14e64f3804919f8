"""Each service's migration history builds exactly the schema its models describe, on
SQLite and on PostgreSQL (so autogenerate stays clean and no table drifts)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.launcher import MIGRATIONS
from gateway.models import metadata as gateway_md
from services.matching.models import metadata as matching_md
from services.roster.models import metadata as roster_md
from services.scoring.models import metadata as scoring_md
from services.secondment.models import metadata as secondment_md

METADATA = {
    "gateway": gateway_md,
    "roster": roster_md,
    "matching": matching_md,
    "scoring": scoring_md,
    "secondment": secondment_md,
}


@pytest.mark.parametrize("service", sorted(METADATA))
async def test_migrations_match_the_models(service: str, backend: str, database_factories: Any) -> None:
    url = await database_factories(MIGRATIONS[service]).fresh(backend)
    engine = create_async_engine(url)
    metadata: MetaData = METADATA[service]
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": False}), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
