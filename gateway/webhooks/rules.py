"""Which subscription gets which event: type patterns, unit scope, age. Pure, no I/O."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# "scoring.score.changed" exactly, "scoring.*" (every type under a prefix), or "*"; each may
# be pinned to a data version ("secondment.started@1"), see type_matches.
PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)(@[1-9][0-9]{0,2})?$")
MAX_PATTERNS = 50

# The fields of an event's data that name a unit; the cadre (cadre_id) is looked up too.
UNIT_FIELDS = ("unit_id", "host_unit_id", "to_unit_id", "from_unit_id")


PATTERN_PROBLEM_ZH = (
    "应为事件类型（scoring.score.changed）、前缀模式（scoring.*）或 *，可加 @数据版本（secondment.started@1）"
)


def pattern_problem(pattern: str) -> str | None:
    if len(pattern) > 200 or not PATTERN.match(pattern):
        return (
            "an event type (scoring.score.changed), a prefix pattern (scoring.*) or *, "
            "optionally pinned to a data version (secondment.started@1)"
        )
    return None


def _names(pattern: str, event_type: str) -> bool:
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def type_matches(patterns: Iterable[str], event_type: str, dataversion: str = "1", companion: bool = False) -> bool:
    """Whether a subscription's patterns want a message. A pattern without a version wants
    what a consumer of the newest version reads: every message but the companions of an
    older version published beside it (``supersededby``). One pinned to a version
    (``secondment.started@1``) wants the messages of that data version only: during a
    deprecation period, the companions."""
    for p in patterns:
        name, _, pin = p.partition("@")
        if not _names(name, event_type):
            continue
        if (pin == dataversion) if pin else not companion:
            return True
    return False


def referenced_unit_ids(data: Mapping[str, Any]) -> list[str]:
    return [str(data[f]) for f in UNIT_FIELDS if isinstance(data.get(f), str) and data[f]]


def path_in_scope(path: str, scope: Sequence[str]) -> bool:
    """Mirror paths are "/root/.../unit/": a unit is in a scope when one of the scope's
    units is on its path (the unit itself or an ancestor)."""
    return any(f"/{u}/" in path for u in scope)


def in_scope(paths: Iterable[str], scope: Sequence[str] | None) -> bool:
    """An event is in a scope when any unit it concerns lies in it. No scope: everything.
    An event naming no known unit is outside every scope (closed by default)."""
    if scope is None:
        return True
    return any(path_in_scope(p, scope) for p in paths)


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def new_enough(event_time: dt.datetime | None, subscribed_at: dt.datetime, grace_seconds: float) -> bool:
    """A subscription gets events from its creation on (less a grace for clock skew between
    hosts), not the history a broker refill or a lagging dispatcher replays. An event
    without a readable time is delivered."""
    if event_time is None:
        return True
    return event_time >= subscribed_at - dt.timedelta(seconds=grace_seconds)
