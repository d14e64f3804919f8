"""ID numbers in one normal form: mark every stored number for re-normalisation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00.000000

Until now digits of other scripts (full-width ``１``, Arabic-Indic ``١`` …) passed the
checksum and were stored, sealed and blind-indexed as sent, so one person could be on the
roster twice (issue 15). Input is now normalised (``id_numbers.normalize``: NFKC, ASCII
digits and ``X`` only); numbers already stored need the same, and their blind indexes.

That cannot happen here: the numbers are sealed, and a migration runs without the keys
(the Kubernetes migration Job gets only the database URL; the keys are the service's).
So this migration marks each existing number ``id_number_form = 0`` (unchecked), and the
service, which holds the keys, re-normalises them once: at startup, or on request
(``POST /api/v1/roster/admin/id-numbers/renormalise``), see
``services/roster/renormalising.py``. Rows written from now on default to 1 (normal),
COPY by the import included. ``GET /api/v1/roster/admin/id-number-twins`` lists the
cadres whose numbers turn out to be one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get 0 (unchecked) as the column appears; then new rows default to 1.
    with op.batch_alter_table("cadres") as batch:
        batch.add_column(sa.Column("id_number_form", sa.SmallInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("cadres") as batch:
        batch.alter_column("id_number_form", server_default="1")


def downgrade() -> None:
    with op.batch_alter_table("cadres") as batch:
        batch.drop_column("id_number_form")
