from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from cadrekit.settings import BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    service_name: ClassVar[str] = "gateway"

    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    # The gateway publishes no events of its own yet.
    kafka_enabled: bool = False
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

    def upstreams(self) -> dict[str, str]:
        return {
            "roster": self.roster_url,
            "matching": self.matching_url,
            "scoring": self.scoring_url,
            "secondment": self.secondment_url,
        }
