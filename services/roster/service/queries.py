"""Reads shared by several resources: a unit or cadre by id, the cadre read model, the
filtered cadre query (lists, exports)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit.dates import today
from cadrekit.errors import NotFound, field_error
from cadrekit.scope import Scope
from services.roster.domain.people import Availability, age_on, availability_in
from services.roster.domain.retirement import LABELS_ZH, Category, basis_of
from services.roster.models import Cadre, Unit
from services.roster.schemas import (
    AvailabilityPublic,
    CadrePublic,
    ExitPublic,
    RetirementDecisionPublic,
    RetirementPublic,
)
from services.roster.service.rules import category_of, decision_of


class CadreNotFound(NotFound):
    pass


class UnitNotFound(NotFound):
    pass


# Unit scope is declared on the routes (cadrekit.scope, services/roster/api/deps.py): an
# object outside the caller's units never reaches the use cases, and lists get the Scope
# to put in their query.
async def find_unit(session: AsyncSession, unit_id: str, field: str = "unit_id", *, for_input: bool = True) -> Unit:
    """The unit; when missing, a 422 on ``field`` (``for_input``) or a 404."""
    unit = await session.get(Unit, unit_id)
    if unit is None:
        if for_input:
            raise field_error(field, f"unit {unit_id} does not exist", "unknown unit")
        raise UnitNotFound(f"unit {unit_id} does not exist")
    return unit


async def find_cadre(s: AsyncSession, cadre_id: str) -> tuple[Cadre, Unit]:
    row = (
        await s.execute(select(Cadre, Unit).join(Unit, col(Unit.id) == Cadre.unit_id).where(col(Cadre.id) == cadre_id))
    ).first()
    if row is None:
        raise CadreNotFound(f"cadre {cadre_id} does not exist")
    cadre, unit = row
    return cadre, unit


def mask_birth(cadre: Cadre) -> str:
    return f"{cadre.birth_date.year}-**-**"


def availability_of(cadre: Cadre, year: int) -> Availability:
    return availability_in(
        year,
        retirement_date=cadre.retirement_date,
        health=cadre.health,
        left=cadre.status == "left",
        seconded_until=cadre.seconded_until,
        on_assignment_until=cadre.on_assignment_until,
    )


def retirement_public(cadre: Cadre) -> RetirementPublic:
    """The stored date with its rule; what it rests on, read off the recorded fields."""
    # empty only until the row is derived again after migration 0008 (rederiving.py)
    category = Category(cadre.retirement_category_in_force or category_of(cadre, None))
    decision = decision_of(cadre)
    basis = basis_of(decision, cadre.retirement_date_override).value
    return RetirementPublic(
        date=cadre.retirement_date,
        basis=basis,
        rule=cadre.retirement_rule,
        rule_zh=cadre.retirement_rule_zh,
        category=category.value,
        category_zh=LABELS_ZH[category],
        category_is_set=cadre.retirement_category is not None,
        decision=RetirementDecisionPublic(
            kind=decision.kind.value,
            retires_on=decision.retires_on,
            decided_on=decision.decided_on,
        )
        if decision
        else None,
    )


def cadre_public(cadre: Cadre, unit_name: str | None, year: int | None = None) -> CadrePublic:
    """The cadre as the API shows it: birth date and ID number masked, age and (for
    ``year``) availability derived."""
    availability = None
    if year is not None:
        a = availability_of(cadre, year)
        availability = AvailabilityPublic(year=year, status=a.status, reason=a.reason)
    left = cadre.status == "left"
    return CadrePublic(
        id=cadre.id,
        name=cadre.name,
        gender=cadre.gender,
        birth_date=mask_birth(cadre),
        age=age_on(cadre.birth_date, today()),
        id_number=cadre.id_number_masked,
        unit_id=cadre.unit_id,
        unit_name=unit_name,
        post_title=cadre.post_title,
        rank=cadre.rank,
        party_member=cadre.party_member,
        education=cadre.education,
        years_of_service=cadre.years_of_service,
        grassroots_periods=cadre.grassroots_periods,
        grassroots_years=cadre.grassroots_years,
        strengths=cadre.strengths,
        post_wishes=cadre.post_wishes,
        professional_field=cadre.professional_field,
        willingness=cadre.willingness,
        leadership_status=cadre.leadership_status,
        health=cadre.health,
        retirement_date=cadre.retirement_date,
        retirement_date_is_set=cadre.retirement_date_override is not None,
        retirement=retirement_public(cadre),
        status=cadre.status,
        exit=ExitPublic(kind=cadre.exit_kind, date=cadre.exit_date, reason=cadre.exit_reason) if left else None,
        availability=availability,
        version=cadre.version,
        created_at=cadre.created_at,
        updated_at=cadre.updated_at,
    )


@dataclass(frozen=True)
class CadreFilter:
    unit_id: str | None = None
    name: str | None = None
    gender: str | None = None
    leadership_status: str | None = None
    rank: str | None = None
    party_member: bool | None = None
    professional_field: str | None = None
    strength: str | None = None
    status: str = "active"
    available_in: int | None = None

    def keeps(self, cadre: Cadre) -> bool:
        """The strength filter, which runs on the rows (strengths are a JSON list)."""
        return not self.strength or self.strength in (cadre.strengths or [])


async def filtered_cadres(s: AsyncSession, f: CadreFilter, scope: Scope) -> Select[Cadre, str]:
    """The cadres the filter names, of the units in ``scope`` only: in the query, so pages
    and the excluded list hold no one else."""
    stmt = select(Cadre, col(Unit.name)).join(Unit, col(Unit.id) == Cadre.unit_id)
    stmt = stmt.where(scope.clause(col(Cadre.unit_id)))
    if f.unit_id:
        root = await find_unit(s, f.unit_id)
        stmt = stmt.where(col(Unit.path).like(root.path + "%"))
    if f.status != "all":
        stmt = stmt.where(col(Cadre.status) == f.status)
    for column, value in (
        (col(Cadre.gender), f.gender),
        (col(Cadre.leadership_status), f.leadership_status),
        (col(Cadre.rank), f.rank),
        (col(Cadre.party_member), f.party_member),
        (col(Cadre.professional_field), f.professional_field),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.name:
        stmt = stmt.where(col(Cadre.name).contains(f.name, autoescape=True))
    return stmt
