from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cadrekit.auth import authenticate
from cadrekit.pagination import DEFAULT_PAGE, MAX_PAGE
from services.scoring.api.deps import (
    CadreInBody,
    CadreInPath,
    CadreInQuery,
    ContextDep,
    EntriesInScope,
    EntryInPath,
    Office,
    Proposer,
    RankedInScope,
    Reader,
    UnitInQuery,
    Year,
)
from services.scoring.models import Entry, Waiver
from services.scoring.schemas.ledger import (
    Decision,
    EligibilityPublic,
    EntryIn,
    EntryPage,
    EntryPublic,
    LedgerPublic,
    RankingsPublic,
    RestatementIn,
    RestatementPublic,
    ReversalIn,
    StandingPublic,
    WaiverIn,
    WaiverPublic,
)
from services.scoring.service import approval, queries
from services.scoring.service import ledger as entries

router = APIRouter(prefix="/api/v1/scoring", tags=["ledger"], dependencies=[Depends(authenticate)])
Reveal = Annotated[bool, Query(description="show sanction text (cadre office and auditors; the read is audited)")]


@router.post(
    "/entries",
    status_code=201,
    summary="Propose an entry (pending until an officer decides)",
    response_model=EntryPublic,
)
async def propose(body: EntryIn, ctx: ContextDep, principal: Proposer, scope: CadreInBody) -> Entry:
    return await entries.propose(ctx, principal, body)


@router.get("/entries", summary="List entries (e.g. the pending queue), newest first", response_model=EntryPage)
async def list_entries(
    ctx: ContextDep,
    principal: Office,
    scope: EntriesInScope,
    cadre_ref: CadreInQuery,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    year: Year | None = None,
    cadre_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> EntryPage:
    return await queries.list_entries(ctx, scope, status, year, cadre_id, limit, offset)


@router.get("/entries/{entry_id}", response_model=EntryPublic)
async def get_entry(
    entry_id: str, ctx: ContextDep, principal: Reader, scope: EntryInPath, reveal: Reveal = False
) -> EntryPublic:
    return await queries.entry_view(ctx, principal, entry_id, reveal)


@router.post(
    "/entries/{entry_id}/approve",
    summary="Approve (not by its proposer); the total moves once",
    response_model=EntryPublic,
)
async def approve(
    entry_id: str, ctx: ContextDep, principal: Office, scope: EntryInPath, body: Decision | None = None
) -> Entry:
    return await approval.approve(ctx, principal, entry_id, body.note if body else None)


@router.post("/entries/{entry_id}/reject", response_model=EntryPublic)
async def reject(
    entry_id: str, ctx: ContextDep, principal: Office, scope: EntryInPath, body: Decision | None = None
) -> Entry:
    return await entries.reject(ctx, principal, entry_id, body.note if body else None)


@router.post(
    "/entries/{entry_id}/reverse",
    status_code=201,
    summary="Undo an approved entry with a reversal entry",
    response_model=EntryPublic,
)
async def reverse(entry_id: str, body: ReversalIn, ctx: ContextDep, principal: Office, scope: EntryInPath) -> Entry:
    return await entries.reverse(ctx, principal, entry_id, body.reason)


@router.post(
    "/entries/{entry_id}/waiver",
    status_code=201,
    summary="Fault tolerance: cancel a deduction's effect",
    response_model=WaiverPublic,
)
async def waive(entry_id: str, body: WaiverIn, ctx: ContextDep, principal: Office, scope: EntryInPath) -> Waiver:
    return await entries.waive(ctx, principal, entry_id, body)


@router.get(
    "/cadres/{cadre_id}/ledger",
    summary="Entries, reversals and waivers with the running total",
    response_model=LedgerPublic,
)
async def ledger(
    cadre_id: str, year: Year, ctx: ContextDep, principal: Reader, scope: CadreInPath, reveal: Reveal = False
) -> LedgerPublic:
    return await queries.ledger(ctx, principal, cadre_id, year, reveal)


@router.get(
    "/cadres/{cadre_id}/eligibility",
    summary="May the cadre be rated excellent / promoted? With reasons",
    response_model=EligibilityPublic,
)
async def eligibility(
    cadre_id: str, year: Year, ctx: ContextDep, principal: Reader, scope: CadreInPath, on: dt.date | None = None
) -> EligibilityPublic:
    return await queries.eligibility(ctx, cadre_id, year, on)


@router.get(
    "/cadres/{cadre_id}/standing",
    summary="The year's total, its parts, counts and rank, in one answer",
    response_model=StandingPublic,
)
async def standing(cadre_id: str, year: Year, ctx: ContextDep, principal: Reader, scope: CadreInPath) -> StandingPublic:
    return await queries.standing(ctx, cadre_id, year)


@router.post(
    "/cadres/{cadre_id}/restatements",
    summary="Recompute a year under a newer catalogue: preview, then apply",
    response_model=RestatementPublic,
)
async def restate(
    cadre_id: str, body: RestatementIn, ctx: ContextDep, principal: Office, scope: CadreInPath
) -> RestatementPublic:
    return await entries.restatement(ctx, principal, cadre_id, body)


@router.get(
    "/rankings", summary="Cadres ranked by the year's total (ties: see tie_rule)", response_model=RankingsPublic
)
async def rankings(
    year: Year,
    ctx: ContextDep,
    principal: Reader,
    scope: RankedInScope,
    unit_ref: UnitInQuery,
    unit_id: Annotated[str | None, Query(max_length=36, description="the unit's whole subtree")] = None,
    leadership_status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> RankingsPublic:
    return await queries.rankings(ctx, scope, year, unit_id, leadership_status, limit, offset)
