"""Re-normalising ID numbers stored before they had one normal form (issue 15).

Digits of other scripts used to pass the checksum and be stored, sealed and blind-indexed
as sent: ``１１０１…`` and ``1101…`` were two people. Input is normalised now
(``id_numbers.validate``); this brings the stored numbers into the same form. It needs the
sealing keys, so it runs in the service, not in the migration: migration 0004 marks every
existing number unchecked (``id_number_form``), and ``renormalise_all`` checks each once,
at startup or on request (``POST admin/id-numbers/renormalise``).

For each unchecked number: already normal (nearly all) — marked so, nothing else changes;
otherwise it is re-sealed in the normal form, with that form's blind index and mask, and
the cadre gets a history line, a new version and an event, like any change of its number.
If another cadre already holds the normal form, the two are *twins*, one person on the
roster twice: the number is still re-sealed in the normal form, but its blind index is a
placeholder (the index is unique, and lookups find the holder), and ``twins`` lists both
for an admin to resolve. A twin whose holder has since taken another number takes the
blind index back at the next pass; one given another number through the API is normal.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from cadrekit.db import utcnow
from cadrekit.uow import UnitOfWork
from services.roster import events
from services.roster.domain import id_numbers
from services.roster.models import ID_FORM_NORMAL, ID_FORM_TWIN, ID_FORM_UNCHECKED, Cadre, CadreChange, Unit
from services.roster.protection import Sealed
from services.roster.schemas import TwinCadre, TwinGroup
from services.roster.service.context import Context

log = logging.getLogger("roster.renormalising")

ACTOR = "roster:id-number-renormalisation"


def twin_placeholder(cadre_id: str) -> str:
    """The blind index of a twin: unique, never an HMAC (hex), so no lookup finds it."""
    return f"twin:{cadre_id}"


@dataclass
class Pass:
    checked: int = 0  # unchecked numbers looked at
    renormalised: int = 0  # re-sealed in the normal form with its blind index
    twins: int = 0  # re-sealed in the normal form, but another cadre holds it
    failed: int = 0  # could not be opened or normalised: left unchecked, logged
    released: int = 0  # former twins whose holder holds another number now: normal again

    def add(self, other: Pass) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


async def pending(ctx: Context) -> int:
    """Numbers not yet checked."""
    async with ctx.runtime.sessions() as s:
        stmt = select(func.count()).select_from(Cadre).where(col(Cadre.id_number_form) == ID_FORM_UNCHECKED)
        return int((await s.execute(stmt)).scalar_one())


async def renormalise_batch(ctx: Context, after: str, limit: int = 500) -> tuple[str | None, Pass]:
    """Checks up to ``limit`` unchecked numbers with ids after ``after``; returns the last id
    looked at (None when there were none) and what was done. Rows that fail stay unchecked
    and are passed by, so they never block the ones behind them."""
    done = Pass()
    async with ctx.runtime.sessions() as s:
        rows = (
            await s.execute(
                select(col(Cadre.id), col(Cadre.id_number_kid), col(Cadre.id_number_sealed))
                .where(col(Cadre.id_number_form) == ID_FORM_UNCHECKED, col(Cadre.id) > after)
                .order_by(col(Cadre.id))
                .limit(limit)
            )
        ).all()
    if not rows:
        return None, done
    clean: list[str] = []
    dirty: list[str] = []
    for cadre_id, kid, blob in rows:
        done.checked += 1
        normal = _normal_form(ctx, cadre_id, kid, blob)
        if normal is None:
            done.failed += 1
        elif normal[0] == normal[1]:
            clean.append(cadre_id)
        else:
            dirty.append(cadre_id)
    if clean:
        async with ctx.runtime.sessions() as s:
            # A number changed meanwhile through the API is normal already (seal_into).
            await s.execute(
                update(Cadre)
                .where(col(Cadre.id).in_(clean), col(Cadre.id_number_form) == ID_FORM_UNCHECKED)
                .values(id_number_form=ID_FORM_NORMAL)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
    for cadre_id in dirty:
        outcome = await _renormalise_one(ctx, cadre_id, (ID_FORM_UNCHECKED,))
        if outcome == "renormalised":
            done.renormalised += 1
        elif outcome == "twin":
            done.twins += 1
    return rows[-1][0], done


def _normal_form(ctx: Context, cadre_id: str, kid: str, blob: bytes) -> tuple[str, str] | None:
    """(stored, normal) or None, logged, when the number cannot be opened or normalised."""
    if kid not in ctx.sealer.keys:
        log.error("ID number sealed under a key no longer configured", extra={"kid": kid, "cadre_id": cadre_id})
        return None
    try:
        stored = ctx.sealer.open(Sealed(kid, blob))
    except (InvalidTag, UnicodeDecodeError) as exc:
        log.error("a sealed ID number does not open", extra={"cadre_id": cadre_id, "problem": type(exc).__name__})
        return None
    try:
        return stored, id_numbers.renormalize(stored)
    except id_numbers.InvalidIdNumber as exc:
        log.error("a stored ID number has no normal form", extra={"cadre_id": cadre_id, "problem": str(exc)})
        return None


async def _renormalise_one(ctx: Context, cadre_id: str, forms: tuple[int, ...]) -> str | None:
    """Brings one cadre's number into the normal form, as its own transaction: "renormalised"
    (it holds the normal form's blind index now), "twin" (another cadre holds it), or None
    when there was nothing to do (the row moved on meanwhile, or a twin's holder is there)."""
    for _attempt in range(2):  # a concurrent registration may take the index: then a twin
        async with ctx.uow() as uow:
            s = uow.session
            stmt = select(Cadre).where(col(Cadre.id) == cadre_id, col(Cadre.id_number_form).in_(forms))
            cadre = (await s.execute(stmt.with_for_update())).scalar_one_or_none()
            if cadre is None:
                return None
            normal = _normal_form(ctx, cadre.id, cadre.id_number_kid, cadre.id_number_sealed)
            if normal is None:
                return None
            stored, number = normal
            index = ctx.sealer.index(number)
            holder = (
                await s.execute(
                    select(col(Cadre.id)).where(col(Cadre.id_number_index) == index, col(Cadre.id) != cadre.id)
                )
            ).scalar_one_or_none()
            if stored == number:
                if holder is not None:
                    return None  # a twin, still
                # normal already (a twin whose holder has another number now): only the index
                cadre.id_number_index, cadre.id_number_form = index, ID_FORM_NORMAL
            else:
                _reseal(ctx, uow, cadre, number, index if holder is None else None, holder)
            try:
                await uow.commit()
            except IntegrityError:
                continue  # the normal form's index was taken meanwhile: a twin after all
            return "twin" if cadre.id_number_form == ID_FORM_TWIN else "renormalised"
    return None


def _reseal(ctx: Context, uow: UnitOfWork, cadre: Cadre, number: str, index: str | None, holder: str | None) -> None:
    """The number re-sealed in its normal form, as a change of the cadre's number: a history
    line, a new version, an event. ``index`` None: a twin of ``holder``, with a placeholder."""
    sealed = ctx.sealer.seal(number)
    old_masked = cadre.id_number_masked
    cadre.id_number_sealed, cadre.id_number_kid = sealed.blob, sealed.kid
    cadre.id_number_masked = id_numbers.mask(number)
    if index is not None:
        cadre.id_number_index, cadre.id_number_form = index, ID_FORM_NORMAL
        reason = "ID number re-normalised to ASCII digits (issue 15)"
    else:
        cadre.id_number_index, cadre.id_number_form = twin_placeholder(cadre.id), ID_FORM_TWIN
        reason = f"ID number re-normalised to ASCII digits (issue 15); cadre {holder} holds the same number"
    cadre.version += 1
    cadre.updated_at = utcnow()
    uow.session.add(
        CadreChange(
            cadre_id=cadre.id,
            actor=ACTOR,
            kind="updated",
            changes={"id_number": [old_masked, cadre.id_number_masked]},
            reason=reason,
        )
    )
    uow.record(events.cadre_updated(cadre, {"id_number": True}))


async def renormalise_all(ctx: Context, limit: int = 500) -> Pass:
    """Checks every unchecked number, then gives the blind index back to any twin whose
    holder holds another number now."""
    total = Pass()
    after = ""
    while True:
        last, done = await renormalise_batch(ctx, after, limit)
        total.add(done)
        if last is None:
            break
        after = last
    async with ctx.runtime.sessions() as s:
        stmt = select(col(Cadre.id)).where(col(Cadre.id_number_form) == ID_FORM_TWIN)
        twin_ids = (await s.execute(stmt)).scalars().all()
    for cadre_id in twin_ids:
        if await _renormalise_one(ctx, cadre_id, (ID_FORM_TWIN,)) == "renormalised":
            total.released += 1
    return total


async def run_at_startup(ctx: Context, retry_seconds: float) -> None:
    """The background task: one pass, repeated after a failure (a database outage)."""
    while True:
        try:
            done = await renormalise_all(ctx)
        except Exception:
            log.exception("re-normalising ID numbers failed")
            await asyncio.sleep(retry_seconds)
            continue
        if done.checked or done.released:
            log.info("re-normalised stored ID numbers", extra=asdict(done))
        return


async def twins(ctx: Context) -> list[TwinGroup]:
    """Cadres that share one ID number in its normal form: the cadre that holds it (found by
    the blind index) first, then its twins. Masked numbers only."""
    async with ctx.runtime.sessions() as s:
        rows = (
            await s.execute(
                select(Cadre, col(Unit.name))
                .join(Unit, col(Unit.id) == Cadre.unit_id)
                .where(col(Cadre.id_number_form) == ID_FORM_TWIN)
                .order_by(col(Cadre.created_at), col(Cadre.id))
            )
        ).all()
        groups: dict[str, list[tuple[Cadre, str]]] = {}
        for cadre, unit_name in rows:
            normal = _normal_form(ctx, cadre.id, cadre.id_number_kid, cadre.id_number_sealed)
            if normal is not None:
                groups.setdefault(ctx.sealer.index(normal[1]), []).append((cadre, unit_name))
        if not groups:
            return []
        holders = {
            cadre.id_number_index: (cadre, unit_name)
            for cadre, unit_name in (
                await s.execute(
                    select(Cadre, col(Unit.name))
                    .join(Unit, col(Unit.id) == Cadre.unit_id)
                    .where(col(Cadre.id_number_index).in_(list(groups)))
                )
            ).all()
        }
    out = []
    for index, members in groups.items():
        holder = holders.get(index)
        cadres = ([_twin_public(*holder, holds=True)] if holder else []) + [
            _twin_public(c, unit_name, holds=False) for c, unit_name in members
        ]
        out.append(TwinGroup(id_number=members[0][0].id_number_masked, cadres=cadres))
    return out


def _twin_public(cadre: Cadre, unit_name: str, *, holds: bool) -> TwinCadre:
    return TwinCadre(
        id=cadre.id,
        name=cadre.name,
        unit_id=cadre.unit_id,
        unit_name=unit_name,
        status=cadre.status,
        created_at=cadre.created_at,
        # the one lookups by the number find; the others are its twins
        holds_number=holds,
    )
