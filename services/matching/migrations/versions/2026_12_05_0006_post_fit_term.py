"""the person–post fit term is ``post_fit`` (it was ``fit``, the score's own name; issue 17)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Campaign weights and stored run results carry the term by name; both are renamed so a
campaign drafted before keeps its weight and an earlier run's breakdown reads like a new one.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rename(table: str, keys: tuple[str, ...], column: str, old: str, new: str) -> None:
    bind = op.get_bind()
    t = sa.table(table, *(sa.column(k) for k in keys), sa.column(column, sa.JSON()))
    for row in bind.execute(sa.select(t).where(t.c[column].is_not(None))).mappings().all():
        value: dict[str, Any] = row[column]
        if isinstance(value, dict) and old in value:
            renamed = {(new if k == old else k): v for k, v in value.items()}
            bind.execute(sa.update(t).where(*(t.c[k] == row[k] for k in keys)).values({column: renamed}))


def upgrade() -> None:
    _rename("campaigns", ("id",), "weights", "fit", "post_fit")
    _rename("run_results", ("run_id", "cadre_id"), "breakdown", "fit", "post_fit")


def downgrade() -> None:
    _rename("run_results", ("run_id", "cadre_id"), "breakdown", "post_fit", "fit")
    _rename("campaigns", ("id",), "weights", "post_fit", "fit")
