"""cadre absences: until when a cadre is seconded or on a phased assignment

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:40:00.000000

Availability (domain.md) is derived for a year; these two dates feed it. Roster sets
them when it consumes secondment and matching events (services/roster/reactions/).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadres") as batch:
        batch.add_column(sa.Column("seconded_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("on_assignment_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cadres") as batch:
        batch.drop_column("on_assignment_until")
        batch.drop_column("seconded_until")
