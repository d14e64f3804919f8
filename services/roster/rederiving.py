"""Deriving retirement dates again when the rule set in force is not the one they were
derived under (issue 17).

Every cadre row keeps the key of the rule set that gave its date (``retirement_law``,
``RetirementLaw.key``: the law's version and the department's setting for female cadres at
处级 and above). Rows registered before the 2025 law was modelled have an empty key
(migration 0008); a change of ``ROSTER_RETIREMENT_SENIOR_WOMEN_DELAYED`` changes the key.
At startup, and on request (``POST admin/retirement/rederive``), every row under another
key is derived again: where the date or its rule changes, the cadre gets a history line, a
new version and a ``roster.cadre.updated`` event, as for any change, so the mirrors (pools,
eligibility, statistics) follow; where nothing changes, only the key is brought up to date.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlmodel import col

from cadrekit.db import utcnow
from services.roster import events
from services.roster.models import Cadre, CadreChange, Unit
from services.roster.service.context import Context
from services.roster.service.rules import iso, retirement_columns, retirement_of

log = logging.getLogger("roster.rederiving")

ACTOR = "roster:retirement-law"
_SHOWN = ("retirement_date", "retirement_rule", "retirement_rule_zh")


@dataclass
class Pass:
    looked_at: int = 0  # rows under another key
    changed: int = 0  # whose date or rule changed: history line, version, event


async def pending(ctx: Context) -> int:
    """Rows derived under another rule set than the one in force."""
    async with ctx.runtime.sessions() as s:
        stmt = select(func.count()).select_from(Cadre).where(col(Cadre.retirement_law) != ctx.retirement.key)
        return int((await s.execute(stmt)).scalar_one())


async def rederive_batch(ctx: Context, limit: int = 500) -> Pass:
    """Derives up to ``limit`` rows under another key again, in one transaction. A row a
    writer changes meanwhile is derived by that writer under the key in force."""
    done = Pass()
    key = ctx.retirement.key
    async with ctx.uow() as uow:
        s = uow.session
        stmt = (
            select(Cadre, col(Unit.kind))
            .join(Unit, col(Unit.id) == Cadre.unit_id)
            .where(col(Cadre.retirement_law) != key)
            .order_by(col(Cadre.id))
            .limit(limit)
            .with_for_update(of=Cadre)
        )
        rows = (await s.execute(stmt)).all()
        for cadre, unit_kind in rows:
            done.looked_at += 1
            derived = retirement_columns(ctx, retirement_of(ctx, cadre, unit_kind))
            changed = {k: derived[k] for k in _SHOWN if getattr(cadre, k) != derived[k]}
            if not changed:
                for k, v in derived.items():
                    setattr(cadre, k, v)
                continue
            if cadre.status == "left":  # a cadre who left keeps the date they left under
                cadre.retirement_law = key
                cadre.retirement_category_in_force = derived["retirement_category_in_force"]
                continue
            history = {k: [iso(getattr(cadre, k)), iso(v)] for k, v in changed.items() if k == "retirement_date"}
            for k, v in derived.items():
                setattr(cadre, k, v)
            cadre.version += 1
            cadre.updated_at = utcnow()
            s.add(
                CadreChange(
                    cadre_id=cadre.id,
                    actor=ACTOR,
                    kind="updated",
                    changes=history or {"retirement_rule": [None, derived["retirement_rule"]]},
                    reason=f"retirement derived again under the rule set in force ({key})",
                )
            )
            uow.record(events.cadre_updated(cadre, changed))
            done.changed += 1
        await uow.commit()
    return done


async def rederive_all(ctx: Context) -> Pass:
    total = Pass()
    while True:
        done = await rederive_batch(ctx)
        total.looked_at += done.looked_at
        total.changed += done.changed
        if done.looked_at == 0:
            break
    if total.looked_at:
        log.info("retirement derived again", extra={"law": ctx.retirement.key, **asdict(total)})
    return total


async def run_at_startup(ctx: Context, retry_seconds: float) -> None:
    """The background task: one pass, repeated after a failure (a database outage)."""
    while True:
        try:
            await rederive_all(ctx)
        except Exception:
            log.exception("deriving retirement dates again failed")
            await asyncio.sleep(retry_seconds)
            continue
        return
