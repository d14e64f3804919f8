from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cadrekit import scope
from cadrekit.auth import Principal, Role, require_roles
from cadrekit.scope import Scope, TableScopeResolver
from services.roster.models import Cadre, ImportJob, Unit
from services.roster.service.context import Context


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr, Role.portal))]
Writer = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
# Full ID numbers: the cadre office only, never the portal or a unit's HR.
PersonalDataReader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


# Unit scope (cadrekit.scope, issue 15), for every role: each route says where the units of
# its object are, and the rule runs before the route. An object outside the caller's units
# answers as an unknown one; a list gets the Scope and reads only the rows inside it.
class RosterScope(TableScopeResolver):
    """The subjects over roster's own tables: a unit by its path, a cadre by its unit, an
    import job by the units of the token that started it. Those are as many as the token
    named, so they are kept as a list on the job and read here, not as a row's columns."""

    def __init__(self) -> None:
        super().__init__(
            unit_id=col(Unit.id),
            unit_path=col(Unit.path),
            subjects={"cadre": lambda cadre_id: select(col(Cadre.unit_id)).where(col(Cadre.id) == cadre_id)},
        )

    def subjects(self) -> frozenset[str]:
        return super().subjects() | {"import"}

    async def units_of(self, session: AsyncSession, subject: str, object_id: str) -> frozenset[str] | None:
        if subject != "import":
            return await super().units_of(session, subject, object_id)
        job = (await session.execute(select(col(ImportJob.unit_scope)).where(col(ImportJob.id) == object_id))).first()
        if job is None:
            return None
        return frozenset(job[0] or ())  # started for the whole tree: in no scope but the whole tree's


CadreInPath = Annotated[Scope, Depends(scope.in_path("cadre", "cadre_id"))]
UnitInPath = Annotated[Scope, Depends(scope.in_path("unit", "unit_id"))]
ImportInPath = Annotated[Scope, Depends(scope.in_path("import", "job_id"))]
UnitInBody = Annotated[Scope, Depends(scope.in_body("unit", "unit_id"))]
# A missing parent is the top of the tree: service.units.create_unit/move_unit apply that rule.
ParentInBody = Annotated[Scope, Depends(scope.in_body("unit", "parent_id"))]
UnitInQuery = Annotated[Scope, Depends(scope.in_query("unit", "unit_id"))]
ParentInQuery = Annotated[Scope, Depends(scope.in_query("unit", "parent_id"))]
WithinInQuery = Annotated[Scope, Depends(scope.in_query("unit", "within"))]
CadresInScope = Annotated[Scope, Depends(scope.filtered("the cadres of the caller's units"))]
UnitsInScope = Annotated[Scope, Depends(scope.filtered("the caller's units"))]
ImportInScope = Annotated[Scope, Depends(scope.filtered("rows may name only the caller's units and cadres"))]
Template = Annotated[Scope, Depends(scope.no_unit("the empty import template"))]
WholeRoster = Annotated[Scope, Depends(scope.whole_tree("it covers every unit and cadre of the roster"))]
