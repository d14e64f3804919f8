"""secondments.version: the secondment's version of the state held (secondment's placement
events), so a replayed or dead-lettered older event (a start sent back after the end)
changes nothing (cadrekit.latest; issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09

Rows from before keep a NULL version: the next event with one replaces them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("secondments") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("secondments") as batch:
        batch.drop_column("version")
