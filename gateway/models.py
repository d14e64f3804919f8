"""Gateway tables: API clients (secrets stored as scrypt hashes)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from cadrekit.db import UTCDateTime, service_registry, utcnow
from cadrekit.runtime import kit_tables_of

registry = service_registry()


class GatewayModel(SQLModel, registry=registry):
    pass


class ApiClient(GatewayModel, table=True):
    __tablename__ = "api_clients"

    client_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    secret_hash: str = Field(max_length=300)
    disabled: bool = False
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = registry.metadata
kit = kit_tables_of(metadata)
