"""Is one unit scope inside another? Judged on the gateway's roster mirror.

Token exchange narrows a portal's scope for its person, and the delegation registry keeps
an officer's scope inside its portal's: both ask which units lie outside a held scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cadrekit.roster_mirror import get_units
from cadrekit.runtime import ServiceRuntime
from gateway.models import mirror


async def outside(runtime: ServiceRuntime, held: Sequence[str] | None, units: Sequence[str]) -> list[str]:
    """Those of ``units`` that are neither a held unit nor below one (a unit is below when
    its mirrored path starts with a held unit's path). A held scope of ``None`` is the whole
    tree and holds every unit; a unit the mirror does not know is outside a limited scope."""
    if held is None:
        return []
    rest = [u for u in units if u not in held]
    if not rest:
        return []
    inside = await _below(runtime, held, rest)
    return [u for u in rest if u not in inside]


async def _below(runtime: ServiceRuntime, held: Sequence[str], candidates: list[str]) -> set[str]:
    """Those of the candidates whose mirrored path lies under one of the held units' paths."""

    def plausible(ids: Iterable[str]) -> list[str]:
        # Only what can be a unit id is looked up (no NUL: PostgreSQL text cannot hold it).
        return [u for u in ids if len(u) <= 36 and "\x00" not in u]

    lookup = plausible(candidates)
    if not lookup:
        return set()
    async with runtime.sessions() as session:
        units = await get_units(session, mirror, [*plausible(held), *lookup])
    roots = [units[h].path for h in held if h in units]
    return {u for u in lookup if u in units and any(units[u].path.startswith(r) for r in roots)}
