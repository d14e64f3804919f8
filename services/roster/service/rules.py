"""The rules every writer of the roster applies: the API's use cases, the import, the
reactions to other services' events and the re-normalising pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.auth import Principal
from cadrekit.dates import today
from cadrekit.errors import Conflict, Invalid, StaleVersion, field_error
from services.roster.domain import id_numbers, retirement
from services.roster.domain.people import Period, grassroots_years
from services.roster.domain.retirement import Basis, Category, Decision, DecisionRefused, Retirement, default_category
from services.roster.models import ID_FORM_NORMAL, Cadre, UnitChange
from services.roster.service.context import Context

DUPLICATE_ID = "a cadre with this ID number is already on the roster"
# The fields of a cadre that are typed in (and kept in its history when they change).
TRACKED = (
    "name",
    "gender",
    "birth_date",
    "post_title",
    "rank",
    "party_member",
    "education",
    "years_of_service",
    "grassroots_periods",
    "strengths",
    "post_wishes",
    "professional_field",
    "willingness",
    "leadership_status",
    "health",
)

# What is derived from them (and published when it changes).
DERIVED = ("retirement_date", "retirement_rule", "retirement_rule_zh", "grassroots_years")


def unit_change(principal: Principal, unit_id: str, kind: str, changes: dict[str, Any]) -> UnitChange:
    """A line of a unit's history, naming the person (and the system acting for them)."""
    return UnitChange(unit_id=unit_id, actor=principal.sub, acting_client=principal.act, kind=kind, changes=changes)


def duplicate_id() -> Conflict:
    return Conflict(DUPLICATE_ID, errors=[{"field": "id_number", "message": DUPLICATE_ID}])


class RetirementInputs(Protocol):
    """What a cadre's retirement date is derived from (a ``Cadre`` row, a ``Registration``)."""

    @property
    def birth_date(self) -> dt.date: ...
    @property
    def gender(self) -> str: ...
    @property
    def rank(self) -> str | None: ...
    @property
    def retirement_category(self) -> str | None: ...
    @property
    def retirement_decision(self) -> str | None: ...
    @property
    def retirement_decision_on(self) -> dt.date | None: ...
    @property
    def retirement_decided_on(self) -> dt.date | None: ...
    @property
    def retirement_date_override(self) -> dt.date | None: ...


@dataclass(frozen=True)
class RetirementFacts:
    """The retirement inputs of a cadre not stored yet (a request, an import row)."""

    birth_date: dt.date
    gender: str
    rank: str | None
    retirement_category: str | None = None
    retirement_decision: str | None = None
    retirement_decision_on: dt.date | None = None
    retirement_decided_on: dt.date | None = None
    retirement_date_override: dt.date | None = None
    unit_kind: str | None = None  # of the cadre's unit

    def registered(self, ctx: Context) -> dict[str, Any]:
        """The retirement fields of a ``Registration``: these inputs and what they give."""
        return {
            "retirement_category": self.retirement_category,
            "retirement_decision": self.retirement_decision,
            "retirement_decision_on": self.retirement_decision_on,
            "retirement_decided_on": self.retirement_decided_on,
            "retirement_date_override": self.retirement_date_override,
            **retirement_columns(ctx, retirement_of(ctx, self, self.unit_kind)),
        }


def category_of(c: RetirementInputs, unit_kind: str | None) -> Category:
    """The recorded category, else the one gender, rank and unit kind give."""
    if c.retirement_category:
        return Category(c.retirement_category)
    return default_category(c.gender, c.rank, unit_kind)


def decision_of(c: RetirementInputs) -> Decision | None:
    if c.retirement_decision is None or c.retirement_decision_on is None:
        return None
    return Decision(Basis(c.retirement_decision), c.retirement_decision_on, c.retirement_decided_on)


def retirement_of(ctx: Context, c: RetirementInputs, unit_kind: str | None) -> Retirement:
    return ctx.retirement.retirement_of(
        c.birth_date, category_of(c, unit_kind), decision=decision_of(c), date_set=c.retirement_date_override
    )


def retirement_columns(ctx: Context, r: Retirement) -> dict[str, Any]:
    """The derived retirement columns of a cadre, from its retirement."""
    return {
        "retirement_category_in_force": r.category.value,
        "retirement_date": r.date,
        "retirement_rule": r.rule,
        "retirement_rule_zh": r.rule_zh,
        "retirement_law": ctx.retirement.key,
    }


def check_decision(ctx: Context, c: RetirementInputs, unit_kind: str | None) -> None:
    """A recorded decision must fall in its window for the cadre's category (422 naming it)."""
    decision = decision_of(c)
    if decision is None:
        return
    try:
        retirement.check_decision(ctx.retirement, c.birth_date, category_of(c, unit_kind), decision)
    except DecisionRefused as exc:
        raise field_error("retirement_decision.retires_on", str(exc), zh=exc.message_zh) from exc


RETIREMENT_SHOWN = ("retirement_date", "retirement_rule", "retirement_rule_zh")


def follow_unit(ctx: Context, cadre: Cadre, unit_kind: str | None) -> dict[str, Any]:
    """The retirement derived again for the cadre's (new) unit, whose kind the category may
    depend on (a woman at 处级 moving between an organ and an enterprise); what changed."""
    before = {key: getattr(cadre, key) for key in RETIREMENT_SHOWN}
    for key, value in retirement_columns(ctx, retirement_of(ctx, cadre, unit_kind)).items():
        setattr(cadre, key, value)
    return {key: getattr(cadre, key) for key in RETIREMENT_SHOWN if getattr(cadre, key) != before[key]}


def derive(ctx: Context, cadre: Cadre, unit_kind: str | None) -> None:
    """Recompute what is derived, never typed in: retirement date (with its rule; the
    category may depend on the kind of the cadre's unit) and grassroots years."""
    for key, value in retirement_columns(ctx, retirement_of(ctx, cadre, unit_kind)).items():
        setattr(cadre, key, value)
    cadre.grassroots_years = grassroots_years_of(cadre.grassroots_periods)


def grassroots_years_of(stored: list[dict[str, Any]]) -> str:
    """Grassroots years of stored periods, counted to the business day, as the column holds them."""
    periods = [
        Period(dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"]) if p.get("end") else None)
        for p in stored
    ]
    return str(grassroots_years(periods, today()))


def plain_periods(periods: Iterable[dict[str, Any] | BaseModel]) -> list[dict[str, Any]]:
    """Grassroots periods as the JSON column holds them (ISO dates), sorted by start."""
    out = []
    for p in periods:
        d = p if isinstance(p, dict) else p.model_dump()
        out.append({"start": iso(d["start"]), "end": iso(d.get("end")), "unit_name": d.get("unit_name")})
    return sorted(out, key=lambda x: str(x["start"]))


def iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


def check_id_consistency(id_number: str, birth: dt.date, gender: str) -> None:
    errors = []
    if id_numbers.birth_date_of(id_number) != birth:
        errors.append({"field": "birth_date", "message": "does not match the birth date in id_number"})
    if id_numbers.gender_of(id_number) != gender:
        errors.append({"field": "gender", "message": "does not match the sex digit of id_number"})
    if errors:
        raise Invalid(f"{len(errors)} fields are inconsistent with id_number", errors=errors)


def seal_into(ctx: Context, cadre: Cadre, id_number: str) -> None:
    # Only the normal form is sealed and indexed, or the same person could be there twice
    # under two spellings of one number (issue 15): callers pass id_numbers.validate's result.
    if not id_numbers.is_normal(id_number):
        raise ValueError("an ID number must be normalised (id_numbers.validate) before it is sealed")
    sealed = ctx.sealer.seal(id_number)
    cadre.id_number_sealed = sealed.blob
    cadre.id_number_kid = sealed.kid
    cadre.id_number_index = ctx.sealer.index(id_number)
    cadre.id_number_masked = id_numbers.mask(id_number)
    cadre.id_number_form = ID_FORM_NORMAL


async def is_duplicate_id(s: AsyncSession, index: str, except_id: str | None = None) -> bool:
    stmt = select(col(Cadre.id)).where(col(Cadre.id_number_index) == index)
    if except_id:
        stmt = stmt.where(col(Cadre.id) != except_id)
    return (await s.execute(stmt)).first() is not None


async def claim_version(s: AsyncSession, cadre: Cadre, old_version: int) -> None:
    """Compare-and-set on the version column: of concurrent writers holding the same
    version, exactly one matches the row; the others get 412 and lose nothing."""
    result = cast(
        CursorResult[Any],
        await s.execute(
            update(Cadre)
            .where(col(Cadre.id) == cadre.id, col(Cadre.version) == old_version)
            .values(version=old_version + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise StaleVersion("the cadre was changed concurrently; fetch it again")
    cadre.version = old_version + 1
    cadre.updated_at = dt.datetime.now(dt.UTC)
