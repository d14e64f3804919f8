"""cadre assignments: confirmed placements from matching, for the "not already placed" rule

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cadrekit.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cadre_assignments",
        sa.Column("cadre_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("post_kind", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id", "campaign_id", name=op.f("pk_cadre_assignments")),
    )


def downgrade() -> None:
    op.drop_table("cadre_assignments")
