"""The retry schedule: pure, the random source injected so tests can pin it."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

# Seconds to wait after the 1st, 2nd, ... failed attempt (GatewaySettings.webhook_retry_schedule).
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18_000, 36_000, 50_400)


def retry_delay(
    schedule: Sequence[float],
    failures: int,
    *,
    jitter: float = 0.1,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds until the next attempt after ``failures`` failed attempts of one message, or
    None when the schedule is exhausted. Jitter spreads the delay by ±``jitter`` so that
    many messages failing at the same moment (a subscriber outage) do not all come back at
    the same moment."""
    if failures < 1:
        raise ValueError("retry_delay is asked after at least one failure")
    if failures > len(schedule):
        return None
    base = float(schedule[failures - 1])
    return max(0.0, base * (1 + jitter * (2 * rand() - 1)))


def total_span(schedule: Sequence[float]) -> float:
    """How long a message is retried at most, before jitter."""
    return float(sum(schedule))
