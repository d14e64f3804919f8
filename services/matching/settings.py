from __future__ import annotations

from typing import ClassVar

from cadrekit.settings import BaseServiceSettings


class MatchingSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "matching"

    database_url: str = "sqlite+aiosqlite:///var/matching.db"
