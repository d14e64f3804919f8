from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.scoring import approval, entries, views
from services.scoring.api.deps import (
    CadreInBody,
    CadreInPath,
    CadreInQuery,
    EntriesInScope,
    EntryInPath,
    Office,
    Proposer,
    RankedInScope,
    Reader,
    ScoringDep,
    UnitInQuery,
    Year,
)
from services.scoring.schemas import Decision, EntryIn, RestatementIn, ReversalIn, WaiverIn

router = APIRouter(prefix="/api/v1/scoring", tags=["ledger"], dependencies=[Depends(authenticate)])
Reveal = Annotated[bool, Query(description="show sanction text (cadre office and auditors; the read is audited)")]


@router.post("/entries", status_code=201, summary="Propose an entry (pending until an officer decides)")
async def propose(body: EntryIn, sc: ScoringDep, who: Proposer, scope: CadreInBody) -> dict:
    return views.entry_public(await entries.propose(sc, who, body.model_dump()), revealed=True)


@router.get("/entries", summary="List entries (e.g. the pending queue), newest first")
async def list_entries(
    sc: ScoringDep,
    who: Office,
    scope: EntriesInScope,
    cadre_ref: CadreInQuery,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    year: Year | None = None,
    cadre_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    return await views.list_entries(sc, scope, status, year, cadre_id, limit, offset)


@router.get("/entries/{entry_id}")
async def get_entry(entry_id: str, sc: ScoringDep, who: Reader, scope: EntryInPath, reveal: Reveal = False) -> dict:
    return await views.entry_view(sc, who, entry_id, reveal)


@router.post("/entries/{entry_id}/approve", summary="Approve (not by its proposer); the total moves once")
async def approve(entry_id: str, sc: ScoringDep, who: Office, scope: EntryInPath, body: Decision | None = None) -> dict:
    return views.entry_public(await approval.approve(sc, who, entry_id, body.note if body else None), revealed=True)


@router.post("/entries/{entry_id}/reject")
async def reject(entry_id: str, sc: ScoringDep, who: Office, scope: EntryInPath, body: Decision | None = None) -> dict:
    return views.entry_public(await entries.reject(sc, who, entry_id, body.note if body else None), revealed=True)


@router.post("/entries/{entry_id}/reverse", status_code=201, summary="Undo an approved entry with a reversal entry")
async def reverse(entry_id: str, body: ReversalIn, sc: ScoringDep, who: Office, scope: EntryInPath) -> dict:
    return views.entry_public(await entries.reverse(sc, who, entry_id, body.reason), revealed=True)


@router.post("/entries/{entry_id}/waiver", status_code=201, summary="Fault tolerance: cancel a deduction's effect")
async def waive(entry_id: str, body: WaiverIn, sc: ScoringDep, who: Office, scope: EntryInPath) -> dict:
    w = await entries.waive(sc, who, entry_id, body.reference, body.reason)
    return {
        "id": w.id,
        "entry_id": w.entry_id,
        "cadre_id": w.cadre_id,
        "year": w.year,
        "reference": w.reference,
        "reason": w.reason,
        "granted_by": w.granted_by,
        "granted_at": w.granted_at,
    }


@router.get("/cadres/{cadre_id}/ledger", summary="Entries, reversals and waivers with the running total")
async def ledger(
    cadre_id: str, year: Year, sc: ScoringDep, who: Reader, scope: CadreInPath, reveal: Reveal = False
) -> dict:
    return await views.ledger(sc, who, cadre_id, year, reveal)


@router.get("/cadres/{cadre_id}/eligibility", summary="May the cadre be rated excellent / promoted? With reasons")
async def eligibility(
    cadre_id: str, year: Year, sc: ScoringDep, who: Reader, scope: CadreInPath, on: dt.date | None = None
) -> dict:
    return await views.eligibility(sc, cadre_id, year, on)


@router.get("/cadres/{cadre_id}/standing", summary="The year's total, its parts, counts and rank, in one answer")
async def standing(cadre_id: str, year: Year, sc: ScoringDep, who: Reader, scope: CadreInPath) -> dict:
    return await views.standing(sc, cadre_id, year)


@router.post("/cadres/{cadre_id}/restatements", summary="Recompute a year under a newer catalogue: preview, then apply")
async def restate(cadre_id: str, body: RestatementIn, sc: ScoringDep, who: Office, scope: CadreInPath) -> dict:
    return await entries.restatement(sc, who, cadre_id, body.year, body.version, body.apply, body.expected_difference)


@router.get("/rankings", summary="Cadres ranked by the year's total (ties: see tie_rule)")
async def rankings(
    year: Year,
    sc: ScoringDep,
    who: Reader,
    scope: RankedInScope,
    unit_ref: UnitInQuery,
    unit_id: Annotated[str | None, Query(max_length=36, description="the unit's whole subtree")] = None,
    leadership_status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict:
    return await views.rankings(sc, scope, year, unit_id, leadership_status, limit, offset)
