from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from cadrekit.settings import BaseServiceSettings


class RosterSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "roster"

    database_url: str = "sqlite+aiosqlite:///var/roster.db"
    # Keys that seal ID numbers: "kid:base64key,kid2:base64key" (the first seals new values),
    # plus the key of the blind index. In embedded mode a key file is made under keys_dir.
    id_seal_keys: str | None = None
    id_index_key: str | None = None
    keys_dir: Path = Path("var/keys")
    cipher_profile: Literal["aes", "sm4"] = "aes"
    # After a key rotation, values sealed under older keys are re-sealed in the background
    # every this many seconds (0: only on request, POST admin/sealing/reseal). Unless 0,
    # numbers stored before they had one normal form are also re-normalised at startup
    # (else on request, POST admin/id-numbers/renormalise).
    reseal_interval_seconds: float = Field(default=300.0, ge=0)
    # How the 2025 retirement reform applies to female cadres at 处级 and above, who retire
    # at 60 (组通字〔2015〕14号): the department confirms it; default, not at all (60 stays).
    retirement_senior_women_delayed: bool = False
    import_max_rows: int = Field(default=200_000, ge=1)
    import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_body_bytes: int = Field(default=60 * 1024 * 1024, ge=1024)
