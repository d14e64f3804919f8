"""`python -m deploy.migrate <service>`: alembic upgrade head for one service (compose's
migration step; the service starts only after it finishes)."""

from __future__ import annotations

import sys

from cadrekit.migrate import upgrade
from deploy.launcher import MIGRATIONS


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in MIGRATIONS:
        sys.exit(f"usage: python -m deploy.migrate {{{','.join(MIGRATIONS)}}}")
    name = sys.argv[1]
    from importlib import import_module

    settings_cls = {
        "gateway": ("gateway.settings", "GatewaySettings"),
        "roster": ("services.roster.settings", "RosterSettings"),
        "matching": ("services.matching.settings", "MatchingSettings"),
        "scoring": ("services.scoring.settings", "ScoringSettings"),
        "secondment": ("services.secondment.settings", "SecondmentSettings"),
    }[name]
    settings = getattr(import_module(settings_cls[0]), settings_cls[1])()
    upgrade(MIGRATIONS[name], settings.database_url)
    print(f"{name}: migrated to head")


if __name__ == "__main__":
    main()
