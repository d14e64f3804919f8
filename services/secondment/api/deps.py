from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from cadrekit.auth import CurrentPrincipal, Principal, Role
from cadrekit.problems import Forbidden
from services.secondment.service import Secondments


def get_secondments(request: Request) -> Secondments:
    return request.app.state.secondments  # type: ignore[no-any-return]


def allow(*roles: Role, scoped: bool) -> Callable[..., Any]:
    """Roles allowed, and whether a token limited to some units (unit_scope) may call. A batch
    spans the whole city, so batch-wide reads and every write need an unscoped token; reading
    one secondment honours the scope (the units it runs between)."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")
        if not scoped and principal.unit_scope is not None:
            raise Forbidden("a token limited to some units may not do this: batches span the whole city")
        return principal

    _check.allowed_roles = allowed  # type: ignore[attr-defined]  # read by cadrekit.role_matrix
    return _check


SecondmentsDep = Annotated[Secondments, Depends(get_secondments)]
# The cadre office runs the programme; the portal may read it.
Reader = Annotated[Principal, Depends(allow(Role.admin, Role.officer, Role.portal, scoped=False))]
# One secondment: also a unit's HR, for secondments from or to its own units.
UnitReader = Annotated[Principal, Depends(allow(Role.admin, Role.officer, Role.portal, Role.unit_hr, scoped=True))]
Office = Annotated[Principal, Depends(allow(Role.admin, Role.officer, scoped=False))]
# The discipline inspection office's opinion: the cadre office only, every read audited.
PersonalDataReader = Annotated[Principal, Depends(allow(Role.admin, Role.officer, scoped=False))]
