"""A cadre's retirement category and decision, and the rule with its date (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The law keys on a person's original statutory age: ``retirement_category`` is recorded per
person when the default (from gender and rank) is wrong; an earlier or later retirement is a
recorded decision (``retirement_decision``, the date it sets, the day it was decided). The
date is stored with the rule that produced it and the key of the rule set. Existing rows
get an empty key, so the service derives every one of them again at its next start
(``services/roster/rederiving.py``): the dates registered under fixed ages follow the 2025
law from then on, each change with a history line and an event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadres") as batch_op:
        batch_op.add_column(sa.Column("retirement_category", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("retirement_decision", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("retirement_decision_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retirement_decided_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retirement_rule", sa.String(length=300), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("retirement_rule_zh", sa.String(length=300), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("retirement_law", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("retirement_category_in_force", sa.String(length=20), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("cadres") as batch_op:
        for name in (
            "retirement_category_in_force",
            "retirement_law",
            "retirement_rule_zh",
            "retirement_rule",
            "retirement_decided_on",
            "retirement_decision_on",
            "retirement_decision",
            "retirement_category",
        ):
            batch_op.drop_column(name)
