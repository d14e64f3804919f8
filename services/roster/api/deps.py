from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadrekit.auth import Principal, Role, require_roles
from services.roster.service import Roster


def get_roster(request: Request) -> Roster:
    return request.app.state.roster  # type: ignore[no-any-return]


RosterDep = Annotated[Roster, Depends(get_roster)]
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr, Role.portal))]
Writer = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
# Full ID numbers: the cadre office only, never the portal or a unit's HR.
PersonalDataReader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
