"""secondment_versions: the newest version of each secondment whose events roster applied, so
a replayed or dead-lettered older placement event (a start sent back after the end) changes
nothing (cadrekit.latest; issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09

Secondments from before have no row: their next event with a version makes it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secondment_versions",
        sa.Column("secondment_id", sa.String(length=36), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("secondment_versions")
