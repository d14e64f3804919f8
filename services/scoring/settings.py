from __future__ import annotations

from typing import ClassVar

from cadrekit.settings import BaseServiceSettings


class ScoringSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "scoring"

    database_url: str = "sqlite+aiosqlite:///var/scoring.db"
