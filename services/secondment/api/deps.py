from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadrekit.auth import Principal, Role, require_roles
from services.secondment.service import Secondments


def get_secondments(request: Request) -> Secondments:
    return request.app.state.secondments  # type: ignore[no-any-return]


SecondmentsDep = Annotated[Secondments, Depends(get_secondments)]
# The cadre office runs the programme; the portal may read it. A unit's HR has no role here yet.
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.portal))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
# The discipline inspection office's opinion: the cadre office only, every read audited.
PersonalDataReader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
Auditor = Annotated[Principal, Depends(require_roles(Role.admin, Role.auditor))]
