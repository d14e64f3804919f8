"""Data steps inside a service's Alembic migrations, the same on SQLite and PostgreSQL.

Date arithmetic in SQL differs between the two backends (``date - 1`` against
``date(x, '-1 day')``), so a step that moves stored dates reads the rows and writes them
back through SQLAlchemy, which binds Python dates the same way on both.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op


def shift_dates(table: str, key: str, columns: tuple[str, ...], days: int) -> int:
    """Move every non-null date in ``columns`` of ``table`` by ``days``; returns the rows
    changed. ``key`` is the table's one-column primary key."""
    bind = op.get_bind()
    t = sa.table(table, sa.column(key), *(sa.column(c, sa.Date()) for c in columns))
    changed = 0
    held = sa.or_(*(t.c[c].is_not(None) for c in columns))
    for row in bind.execute(sa.select(t).where(held)).mappings().all():
        moved = {c: row[c] + dt.timedelta(days=days) for c in columns if row[c] is not None}
        if moved:
            bind.execute(sa.update(t).where(t.c[key] == row[key]).values(**moved))
            changed += 1
    return changed
