"""campaigns.starts_on (when placements take effect); mirrored secondments end on their last day

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Placements take effect on the post's ``starts_on``, else the campaign's, which confirmation
requires (issue 17: never the server's date). Secondment's events are dataversion 2 since
issue 17 (``ends_on``/``ended_on`` the term's last day): the mirrored rows written from
version 1 move back one day to mean the same.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cadrekit.migrating import shift_dates

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
    shift_dates("secondments", "id", ("ends_on", "ended_on"), -1)


def downgrade() -> None:
    shift_dates("secondments", "id", ("ends_on", "ended_on"), 1)
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("starts_on")
