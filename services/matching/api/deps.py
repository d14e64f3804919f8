from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadrekit import scope
from cadrekit.auth import Principal, Role, require_roles
from cadrekit.scope import Scope
from services.matching.service.context import Context


def get_context(request: Request) -> Context:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[Context, Depends(get_context)]
# Campaigns are the cadre office's work; the portal reads them. Unit HR and auditors have
# no part in this slice (a unit's view of a campaign belongs to the gateway's role matrix).
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.portal))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]

# Unit scope (cadrekit.scope). A campaign is the city's: its settings, its posts and a run's
# status belong to no unit. A post names its host unit, and a unit may see the whole offer
# (every post and its seats) as the city publishes it to every candidate. Whatever names
# cadres is filtered to the token's units: pool, rankings, balance table, results,
# overrides, tutors. What shapes the campaign for every unit (creating and changing it,
# drawing the pool, a post's ranking of the whole pool, runs, overrides, confirmation) is
# the city office's and needs a token for the whole tree: a scoped token sees only part of
# the pool and would rewrite what it cannot see. A unit's own part it may enter: its
# cadres' choices, its trainees' tutors, plans and inspections, posts it hosts.
CampaignSettings = Annotated[Scope, Depends(scope.no_unit("a campaign's settings belong to no unit"))]
RunStatus = Annotated[
    Scope, Depends(scope.no_unit("a run's status and summary are counts; its cadre rows are under /results"))
]
WholeCampaign = Annotated[
    Scope, Depends(scope.whole_tree("a campaign's settings, pool and post rankings span every unit"))
]
WholeRun = Annotated[Scope, Depends(scope.whole_tree("a run places the cadres of every unit"))]
Filtered = Annotated[Scope, Depends(scope.filtered("cadres by their unit; posts, seats and counts stay whole"))]
# A run's result or override is a (proposed) placement; a tutor pair joins two cadres.
PlacementsFiltered = Annotated[Scope, Depends(scope.filtered("a placement by its cadre's or its post's unit"))]
PairsFiltered = Annotated[Scope, Depends(scope.filtered("a pair by its trainee's or its tutor's unit"))]
CadreInPath = Annotated[Scope, Depends(scope.in_path("cadre", "cadre_id"))]
TraineeInPath = Annotated[Scope, Depends(scope.in_path("cadre", "trainee_id"))]
TutorInBody = Annotated[Scope, Depends(scope.in_body("cadre", "tutor_id"))]
HostUnitInBody = Annotated[Scope, Depends(scope.in_body("unit", "host_unit_id"))]
