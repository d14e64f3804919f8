"""import_jobs.unit_scope: the units of the token that started an import

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 10:00:00.000000

Unit scope is declared on every route (cadrekit.scope, issue 15). An import job belongs to
the units of its importer: a token limited to some units may import only into them, and
its job's report is for tokens that cover one of them. NULL is the whole tree, which is
also what jobs started before this revision get: their importers' scopes were not kept, so
only a token for the whole tree reads them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.add_column(sa.Column("unit_scope", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as batch:
        batch.drop_column("unit_scope")
