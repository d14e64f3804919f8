from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from cadrekit.settings import BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "gateway"

    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    # On: the webhook dispatcher consumes every service's topic. The gateway's own outbox
    # only carries webhook notices, so its relay mostly idles.
    kafka_enabled: bool = True
    public_url: str = "http://127.0.0.1:8000"
    # Ed25519 signing keys, one PEM per file; the newest signs, all are published in the JWKS,
    # so a new key can be added before the old one is retired (rotation without downtime).
    signing_keys_dir: Path = Path("var/keys/gateway")
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    bootstrap_file: Path = Path("var/bootstrap-client.json")
    create_bootstrap_client: bool = True
    roster_url: str = "http://127.0.0.1:8101"
    matching_url: str = "http://127.0.0.1:8102"
    scoring_url: str = "http://127.0.0.1:8103"
    secondment_url: str = "http://127.0.0.1:8104"
    upstream_timeout_seconds: float = Field(default=15.0, gt=0)
    upload_timeout_seconds: float = Field(default=120.0, gt=0)
    # Spreadsheet uploads pass through: as large as the roster accepts.
    max_body_bytes: int = Field(default=60 * 1024 * 1024, ge=1024)
    # Per-client token bucket; shared in Redis when redis_url is set (more than one replica).
    rate_limit_enabled: bool = True
    rate_limit_per_second: float = Field(default=100.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    redis_url: str | None = None
    # How long one replica trusts its last look at a client's enabled flag (0: ask every time).
    client_state_cache_seconds: float = Field(default=1.0, ge=0, le=60)

    def upstreams(self) -> dict[str, str]:
        return {
            "roster": self.roster_url,
            "matching": self.matching_url,
            "scoring": self.scoring_url,
            "secondment": self.secondment_url,
        }

    # Webhooks for outside subscribers (gateway/webhooks/) ------------------------------------
    # Seconds before each retry after a failed attempt (jittered); 8 attempts over ~31.6 h.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default=[5, 300, 1800, 7200, 18_000, 36_000, 50_400], min_length=1, max_length=50
    )
    webhook_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Messages in a row that exhausted their retries before the subscription is disabled.
    webhook_disable_after_failures: int = Field(default=5, ge=1)
    # The worker's fallback look for due deliveries (retries, other replicas' rows): a new
    # delivery does not wait for it, the dispatcher wakes the worker after its commit.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    webhook_concurrency: int = Field(default=8, ge=1, le=100)
    # After a rotation the old secret also signs for this long, so subscribers can switch.
    webhook_secret_grace_seconds: int = Field(default=86_400, ge=0)
    # A new subscription is not sent events older than itself (minus this, for clock skew).
    webhook_history_grace_seconds: int = Field(default=300, ge=0)
    # Finished deliveries (delivered or failed) and their attempts are kept this long.
    webhook_retention_days: int = Field(default=30, ge=1)
    # SSRF: refuse private, loopback, link-local... addresses. None: only in production mode.
    webhook_block_private: bool | None = None
    # Intranet subscribers ops trust: host names (exact, or "*.suffix") and CIDRs,
    # comma separated in GATEWAY_WEBHOOK_ALLOW_HOSTS.
    webhook_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The brokers an outside subscriber connects to, as the AsyncAPI document names them
    # ("host:port", comma separated in GATEWAY_ASYNCAPI_SERVERS): inside a cluster the
    # gateway's own kafka_bootstrap is often a name subscribers cannot reach. Unset: that.
    asyncapi_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("webhook_retry_schedule", "webhook_allow_hosts", "asyncapi_servers", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def webhook_blocks_private(self) -> bool:
        return self.mode == "production" if self.webhook_block_private is None else self.webhook_block_private
