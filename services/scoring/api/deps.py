from __future__ import annotations

from typing import Annotated

import annotated_types
from fastapi import Depends, Request

from cadrekit.auth import Principal, Role, require_roles
from services.scoring.scoring import Scoring


def get_scoring(request: Request) -> Scoring:
    return request.app.state.scoring  # type: ignore[no-any-return]


ScoringDep = Annotated[Scoring, Depends(get_scoring)]
Reader = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr, Role.portal, Role.auditor))]
Proposer = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer, Role.unit_hr))]
Office = Annotated[Principal, Depends(require_roles(Role.admin, Role.officer))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
# A year in a path or query: bounded, so a huge integer is a 422, never a database overflow.
Year = Annotated[int, annotated_types.Interval(ge=1, le=9999)]
