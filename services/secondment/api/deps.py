"""Who may call (roles, ``require_roles``) and where a route's objects sit in the unit tree
(``cadrekit.scope``). Unit scope applies to every role alike: an admin or officer with a
token limited to some units is held to them as a unit's HR is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadrekit import scope
from cadrekit.auth import Principal, Role, require_roles
from cadrekit.scope import Scope
from services.secondment.service.context import Context


def get_context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(get_context)]

# roles -------------------------------------------------------------------------------------
# The cadre office runs the programme; the portal may read it.
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.portal))]
# Secondments: also a unit's HR, for those from or to its own units (the scope rules say which).
UnitReader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.portal, Role.unit_hr))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
# The vetting record and the discipline inspection office's opinion: the cadre office only,
# every read of the opinion audited.
PersonalDataReader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]

# unit scope --------------------------------------------------------------------------------
# A batch pairs organs and towns across the city, and its statistics and export are the
# figures the city reports: the batches router declares it for all its routes.
WHOLE_CITY = scope.whole_tree("batches span the whole city")
# One secondment belongs to its home unit and its host unit: in scope if either is, for
# reads and for every transition (out of scope: 404, as an unknown secondment).
SecondmentInPath = Annotated[Scope, Depends(scope.in_path("secondment", "secondment_id"))]
# A list of secondments: the rows from or to the token's units.
SecondmentsFiltered = Annotated[Scope, Depends(scope.filtered("secondments from or to the token's units"))]
# The reserve pool is a list of cadres marked for promotion: a token limited to some units
# sees the entries of the cadres who work there (filtered rows), as a district's organization
# department prepares its own promotions, rather than being refused the pool outright.
ReserveFiltered = Annotated[Scope, Depends(scope.filtered("cadres who work in the token's units"))]
