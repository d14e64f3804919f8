"""officer delegations (the persons a portal may act for as officers) and the log of their actions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:12:31.518204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officer_delegations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("portal_client_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("active_subject", sa.String(length=200), nullable=True),
        sa.Column("unit_scope", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_delegations")),
        sa.UniqueConstraint("active_subject", name=op.f("uq_officer_delegations_active_subject")),
    )
    with op.batch_alter_table("officer_delegations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_officer_delegations_portal_client_id"), ["portal_client_id"], unique=False)

    op.create_table(
        "delegated_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("portal", sa.String(length=100), nullable=False),
        sa.Column("delegation_id", sa.String(length=36), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegated_actions")),
    )
    with op.batch_alter_table("delegated_actions", schema=None) as batch_op:
        batch_op.create_index("ix_delegated_actions_person", ["person", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delegated_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_delegated_actions_person")

    op.drop_table("delegated_actions")
    with op.batch_alter_table("officer_delegations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officer_delegations_portal_client_id"))

    op.drop_table("officer_delegations")
