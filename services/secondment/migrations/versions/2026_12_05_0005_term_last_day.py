"""secondments: ends_on and ended_on become the term's last day (one calendar, issue 17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

A term of N months from D now ends the day before D + N months (cadrekit.dates.term_end),
and days served count both ends. Stored rows gave the return day, one day later, and
counted days without it: moving both dates back one day keeps ``days_served`` right as
it is. The ``extensions`` history keeps the dates it recorded when each extension was
made (an audit line is not rewritten).
"""

from collections.abc import Sequence

from cadrekit.migrating import shift_dates

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shift_dates("secondments", "id", ("ends_on", "ended_on"), -1)


def downgrade() -> None:
    shift_dates("secondments", "id", ("ends_on", "ended_on"), 1)
