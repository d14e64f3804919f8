"""cadres.seconded_until is the secondment's last day (secondment events dataversion 2, issue 17)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Secondment's events gave the return day as ``ends_on`` until issue 17 and give the term's
last day since; ``seconded_until`` written from the older events moves back one day.
"""

from collections.abc import Sequence

from cadrekit.migrating import shift_dates

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shift_dates("cadres", "id", ("seconded_until",), -1)


def downgrade() -> None:
    shift_dates("cadres", "id", ("seconded_until",), 1)
