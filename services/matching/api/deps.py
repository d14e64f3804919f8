from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cadrekit.auth import Principal, Role, require_roles
from services.matching.service import Matching


def get_matching(request: Request) -> Matching:
    return request.app.state.matching  # type: ignore[no-any-return]


MatchingDep = Annotated[Matching, Depends(get_matching)]
# Campaigns are the cadre office's work; the portal reads them. Unit HR and auditors have
# no part in this slice (a unit's view of a campaign belongs to the gateway's role matrix).
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.portal))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
