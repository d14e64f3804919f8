"""cadres for bulk writes: drop the indexes no query uses, stamp times in the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:10:00.000000

Every row written to ``cadres`` also goes into each of its indexes; a 100k-row import paid
for these two on every row while nothing read them:

- ``ix_cadres_leadership_status``: three values, only ever an extra equality filter beside
  the unit path or the status in the cadre list; the planner would not pick it.
- ``ix_cadres_retirement_date``: the only condition on it is ``retirement_date < …`` OR'ed
  with ``health = 'exempt'`` (availability), which no single-column index can serve.

The primary key, the unique blind index, ``ix_cadres_name_id`` (the list's order and
cursor) and ``ix_cadres_unit_status`` (cadres of a unit) stay.

``cadres.created_at``/``updated_at`` and ``cadre_changes.at`` get the transaction's time as
their default, so the import's COPY can leave them out (every other writer sets them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadres", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cadres_leadership_status"))
        batch_op.drop_index(batch_op.f("ix_cadres_retirement_date"))
        batch_op.alter_column("created_at", server_default=sa.func.now())
        batch_op.alter_column("updated_at", server_default=sa.func.now())
    with op.batch_alter_table("cadre_changes", schema=None) as batch_op:
        batch_op.alter_column("at", server_default=sa.func.now())


def downgrade() -> None:
    with op.batch_alter_table("cadre_changes", schema=None) as batch_op:
        batch_op.alter_column("at", server_default=None)
    with op.batch_alter_table("cadres", schema=None) as batch_op:
        batch_op.alter_column("updated_at", server_default=None)
        batch_op.alter_column("created_at", server_default=None)
        batch_op.create_index(batch_op.f("ix_cadres_retirement_date"), ["retirement_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadres_leadership_status"), ["leadership_status"], unique=False)
