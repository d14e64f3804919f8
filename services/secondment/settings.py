from __future__ import annotations

from typing import ClassVar

from cadrekit.settings import BaseServiceSettings


class SecondmentSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "secondment"

    database_url: str = "sqlite+aiosqlite:///var/secondment.db"
