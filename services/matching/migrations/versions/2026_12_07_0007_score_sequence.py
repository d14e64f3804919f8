"""cadre_points.sequence: the cadre-year's sequence of the total held (scoring.score.changed), so
a replayed or dead-lettered older total changes nothing (cadrekit.latest; issue 18)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Rows from before keep a NULL sequence: the next event with one replaces them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadre_points") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cadre_points") as batch:
        batch.drop_column("sequence")
