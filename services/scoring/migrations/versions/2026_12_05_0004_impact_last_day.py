"""impact_periods.ends_on becomes the period's last day (one calendar, issue 17)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

An impact period of N months from D now ends the day before D + N months
(cadrekit.dates.term_end), the last day the sanction has effect. Stored rows gave the
first day without effect, one day later.
"""

from collections.abc import Sequence

from cadrekit.migrating import shift_dates

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shift_dates("impact_periods", "entry_id", ("ends_on",), -1)


def downgrade() -> None:
    shift_dates("impact_periods", "entry_id", ("ends_on",), 1)
