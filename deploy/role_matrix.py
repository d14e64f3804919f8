"""Print the role × endpoint matrix of every service as Markdown (for the README):

    python -m deploy.role_matrix

Read from the routes (cadrekit.role_matrix); tests/access checks every cell and that the
README holds exactly this.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cadrekit.auth import StaticKeySource
from cadrekit.role_matrix import markdown, matrix


def tables() -> dict[str, str]:
    from gateway.app import create_app as gateway
    from gateway.settings import GatewaySettings
    from services.matching.app import create_app as matching
    from services.matching.settings import MatchingSettings
    from services.roster.app import create_app as roster
    from services.roster.settings import RosterSettings
    from services.scoring.app import create_app as scoring
    from services.scoring.settings import ScoringSettings
    from services.secondment.app import create_app as secondment
    from services.secondment.settings import SecondmentSettings

    keys = StaticKeySource({})
    with tempfile.TemporaryDirectory() as tmp:
        apps = {
            "gateway": gateway(GatewaySettings(signing_keys_dir=Path(tmp) / "gw", mode="test"), configure_logs=False),
            "roster": roster(RosterSettings(keys_dir=Path(tmp), mode="test"), key_source=keys, configure_logs=False),
            "scoring": scoring(ScoringSettings(mode="test"), key_source=keys, configure_logs=False),
            "matching": matching(MatchingSettings(mode="test"), key_source=keys, configure_logs=False),
            "secondment": secondment(SecondmentSettings(mode="test"), key_source=keys, configure_logs=False),
        }
        return {name: markdown(matrix(app)) for name, app in apps.items()}


def main() -> None:
    for name, table in tables().items():
        print(f"#### {name}\n\n{table}\n")


if __name__ == "__main__":
    main()
