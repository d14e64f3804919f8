"""Settings every process reads the same way.

Each service reads its own prefix first (``ROSTER_DATABASE_URL``) and falls back to the
platform-wide ``CADRE_`` prefix (``CADRE_KAFKA_BOOTSTRAP``), so ops set shared values once.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from contracts import topics

Mode = Literal["embedded", "production", "test"]


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="CADRE_")

    service_name: ClassVar[str] = "service"

    mode: Mode = "embedded"
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Tansu has no idempotent producer; Apache Kafka does.
    kafka_idempotence: bool = False
    # The embedded broker forgets everything on restart: the relay refills it.
    broker_volatile: bool = True
    kafka_enabled: bool = True
    # Apache Kafka in production authenticates every client (SASL/SCRAM, one principal per
    # service, ACLs from deploy/kafka_access.py); the embedded broker takes PLAINTEXT.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_username: str | None = None  # the service's principal; its service name when unset
    kafka_password: SecretStr | None = None
    # The embedded broker has no topics job: each service creates what it uses. Where ops made
    # the topics (compose's kafka-setup job), a service has no right to, and only checks them.
    kafka_create_topics: bool = True
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    topic_replication: int = Field(default=1, ge=1, le=10)
    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_retention_days: int = Field(default=30, ge=1)
    broker_check_seconds: float = Field(default=1.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_fetch_wait_ms: int = Field(default=50, ge=1, le=5_000)
    # How long a write waits for its roster mirror to hear of a unit or cadre it names
    # (cadrekit.roster_mirror.await_references) before it answers 409 or 422.
    mirror_wait_seconds: float = Field(default=2.0, ge=0, le=30)

    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    token_issuer: str = "cadre-gateway"
    token_audience: str = "cadre-platform"
    token_leeway_seconds: int = Field(default=10, ge=0, le=30)
    # How long a process trusts its last read of the clients the gateway disabled (0: every request).
    revocation_refresh_seconds: float = Field(default=1.0, ge=0, le=30)

    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        own = EnvSettingsSource(settings_cls, env_prefix=f"{cls.service_name.upper()}_")
        shared = EnvSettingsSource(settings_cls, env_prefix="CADRE_")
        return (init_settings, own, shared, file_secret_settings)

    @property
    def topic(self) -> str:
        return topics.OF_SERVICE[self.service_name]

    @property
    def kafka_principal(self) -> str:
        return self.kafka_username or self.service_name

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _production_needs_real_parts(self) -> BaseServiceSettings:
        if self.mode == "production" and self.is_sqlite:
            raise ValueError("production mode needs a PostgreSQL database_url (postgresql+asyncpg://...)")
        if self.kafka_security_protocol != "PLAINTEXT" and self.kafka_password is None:
            raise ValueError(f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_password")
        return self
