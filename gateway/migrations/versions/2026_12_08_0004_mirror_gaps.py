"""mirror_gaps: roster versions the mirror never applied (skipped or dead-lettered), reported
in /health and /metrics until a whole state heals them (cadrekit.roster_mirror; issue 18)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from cadrekit.roster_mirror import create_gap_table, drop_gap_table

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_gap_table()


def downgrade() -> None:
    drop_gap_table()
