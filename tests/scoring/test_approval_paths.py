"""The approval's fast path (Core statements on the unit of work's connection) leaves the same
rows and events as the plain path: the same rules, read from the domain, on the ORM."""

from __future__ import annotations

from typing import Any

import orjson
from sqlmodel import col, select

from cadrekit.auth import Principal, Role
from cadrekit.db import utcnow
from services.scoring import events
from services.scoring.domain.impact import open_period
from services.scoring.domain.ledger import admit, moved, used_capacity
from services.scoring.models import Entry, ImpactPeriodRow, Total, Waiver, kit
from services.scoring.service.context import Context, in_force, lock_year
from services.scoring.service.queries import as_lines, entry_or_404, year_lines
from tests.scoring.conftest import API, ScoringHarness

OFFICER = Principal("officer-a", Role.officer, None)


async def approve_plain(ctx: Context, principal: Principal, entry_id: str) -> None:
    """The approval as the ledger's rules state it, on the ORM, every line of the year read."""
    async with ctx.runtime.uow() as uow:
        s = uow.session
        entry = await entry_or_404(s, entry_id)
        assert entry.status == "pending" and entry.proposed_by != principal.sub
        held = await lock_year(ctx, s, entry.cadre_id, entry.year)
        found = await in_force(ctx, s, entry.year)
        assert found is not None
        version, catalogue = found
        rule = catalogue.rule(entry.rule_code)
        assert rule is not None
        admitted = admit(rule, used_capacity(as_lines(await year_lines(s, entry.cadre_id, entry.year)), rule.code))
        entry.status, entry.decided_by, entry.decided_at = "approved", principal.sub, utcnow()
        entry.catalogue_version, entry.rule_points, entry.points = version, rule.points, admitted.points
        entry.capped, entry.sanction_kind, entry.seq = admitted.capped, rule.sanction_kind, held.seq + 1
        entry.version += 1
        after = moved(held.sums, admitted.points, rule.direction)
        total = await s.get(Total, (entry.cadre_id, entry.year))
        assert total is not None
        total.total, total.positive, total.negative = after.total, after.positive, after.negative
        total.seq, total.catalogue_version, total.updated_at = held.seq + 1, version, utcnow()
        if rule.sanction_kind is not None:
            months = catalogue.impact_months.get(rule.sanction_kind, 0)
            period = open_period(entry.id, rule.sanction_kind, entry.occurred_on, months)
            if period is not None:
                s.add(
                    ImpactPeriodRow(
                        entry_id=entry.id,
                        cadre_id=entry.cadre_id,
                        kind=period.kind,
                        starts_on=period.starts_on,
                        ends_on=period.ends_on,
                    )
                )
        uow.record(events.entry_approved(entry))
        uow.record(
            events.score_changed(
                entry.cadre_id, entry.year, after.total, held.total, entry.id, version, "approval", held.seq + 1
            )
        )
        await uow.commit()


async def _state(scoring: ScoringHarness, cadre_id: str) -> dict[str, Any]:
    """A cadre's rows and events with its own ids replaced by their places, and times left out."""
    async with scoring.app.state.context.runtime.sessions() as s:
        entries = list(
            (
                await s.execute(select(Entry).where(col(Entry.cadre_id) == cadre_id).order_by(col(Entry.proposed_at)))
            ).scalars()
        )
        total = await s.get(Total, (cadre_id, 2025))
        periods = list(
            (await s.execute(select(ImpactPeriodRow).where(col(ImpactPeriodRow.cadre_id) == cadre_id))).scalars()
        )
        outbox = (
            await s.execute(kit.outbox.select().where(kit.outbox.c.key == cadre_id).order_by(kit.outbox.c.id))
        ).all()
        waivers = list((await s.execute(select(Waiver).where(col(Waiver.cadre_id) == cadre_id))).scalars())
    place = {e.id: f"#{i}" for i, e in enumerate(entries)}
    place |= {w.id: f"waiver of {place[w.entry_id]}" for w in waivers}
    place[cadre_id] = "cadre"

    def plain(values: dict[str, Any]) -> dict[str, Any]:
        return {k: place.get(v, v) if isinstance(v, str) else v for k, v in values.items() if not k.endswith("_at")}

    assert total is not None
    return {
        "entries": [plain(e.model_dump()) for e in entries],
        "total": plain(total.model_dump()),
        "periods": sorted((plain(p.model_dump()) for p in periods), key=lambda p: p["entry_id"]),
        "events": [(r.type, plain(orjson.loads(r.payload)["data"])) for r in outbox],
    }


async def test_a_fast_approval_leaves_the_rows_and_events_of_the_plain_path(scoring: ScoringHarness) -> None:
    await scoring.publish_default(2025)
    unit = await scoring.unit()
    fast, plain = await scoring.cadre(unit, name="甲"), await scoring.cadre(unit, name="乙")
    ctx = scoring.app.state.context
    # P03 caps at 2.00 (0.50 a time), with a reversal freeing capacity; N02 opens an impact
    # period; N04 is waived; P01 has no cap.
    script = ["P03", "P03", "P03", "reverse:1", "P03", "P03", "P03", "N02", "N04", "waive:8", "P01"]
    ids: dict[str, list[str]] = {fast: [], plain: []}
    for step in script:
        for cadre in (fast, plain):
            if ":" in step:
                action, at = step.split(":")
                body = {"reason": "错"} if action == "reverse" else {"reference": "容错-1", "reason": "容错"}
                path = "reverse" if action == "reverse" else "waiver"
                resp = await scoring.client.post(
                    f"{API}/entries/{ids[cadre][int(at)]}/{path}", json=body, headers=scoring.auth()
                )
                assert resp.status_code == 201, resp.text
                ids[cadre].append(resp.json()["id"])
                continue
            entry = await scoring.propose(cadre, step)
            ids[cadre].append(entry["id"])
            if cadre == fast:
                assert (await scoring.approve(entry["id"])).status_code == 200
            else:
                await approve_plain(ctx, OFFICER, entry["id"])
    a, b = await _state(scoring, fast), await _state(scoring, plain)
    assert a["total"]["total"] == b["total"]["total"]  # the headline, before the whole picture
    assert a == b
    assert [e["capped"] for e in a["entries"] if e["rule_code"] == "P03" and e["kind"] == "award"] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
