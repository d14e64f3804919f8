from __future__ import annotations

from typing import Annotated

import annotated_types
from fastapi import Depends, Request

from cadrekit import scope
from cadrekit.auth import Principal, Role, require_roles
from cadrekit.scope import Scope
from services.scoring.service.context import Context


def get_context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(get_context)]
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr, Role.portal, Role.auditor))]
Proposer = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
# A year in a path or query: bounded, so a huge integer is a 422, never a database overflow.
Year = Annotated[int, annotated_types.Interval(ge=1, le=9999)]

# Unit scope (cadrekit.scope): where each route's object sits in the unit tree. Out of the
# token's units, an object in the path is a 404 and a reference in the body a 422, exactly
# as an unknown one; lists are filtered in their queries.
CadreInPath = Annotated[Scope, Depends(scope.in_path("cadre", "cadre_id"))]
EntryInPath = Annotated[Scope, Depends(scope.in_path("entry", "entry_id"))]
KeyPostInPath = Annotated[Scope, Depends(scope.in_path("key_post", "post_id"))]
UnitInPath = Annotated[Scope, Depends(scope.in_path("unit", "unit_id"))]
CadreInBody = Annotated[Scope, Depends(scope.in_body("cadre", "cadre_id"))]
UnitInBody = Annotated[Scope, Depends(scope.in_body("unit", "unit_id"))]
CadreInQuery = Annotated[Scope, Depends(scope.in_query("cadre", "cadre_id"))]
UnitInQuery = Annotated[Scope, Depends(scope.in_query("unit", "unit_id"))]
EntriesInScope = Annotated[Scope, Depends(scope.filtered("entries of the cadres in scope"))]
RankedInScope = Annotated[Scope, Depends(scope.filtered("cadres in scope, ranked among themselves"))]
KeyPostsInScope = Annotated[Scope, Depends(scope.filtered("key posts of units in scope"))]
RatingsInScope = Annotated[Scope, Depends(scope.filtered("ratings of the cadres in scope"))]
CandidatesInScope = Annotated[
    Scope, Depends(scope.filtered("candidates and quotas of units in scope; the city's reserve counts whole"))
]
# The city's rules and settings: a catalogue and a year's policy belong to no unit, so any
# token reads them; changing them changes every unit's scores and quotas, so only a token
# for the whole tree may (a district's officer does not rewrite the city's catalogue).
CityRules = Annotated[Scope, Depends(scope.no_unit("the city's catalogues and year policies belong to no unit"))]
CityRulesChange = Annotated[
    Scope, Depends(scope.whole_tree("catalogues and year policies score every cadre of the city"))
]
# Incentive-pool grants share out one city-wide pool among all units: a token limited to
# some units would be granting itself what the others then lack.
PoolGrant = Annotated[Scope, Depends(scope.whole_tree("the incentive pool is shared by every unit of the city"))]
