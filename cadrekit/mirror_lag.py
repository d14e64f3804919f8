"""Waiting for the roster mirror: one rule for the scope check and for the use cases.

A unit or cadre created a moment ago reaches a service's mirror through roster's events a
second or so later (issue 17). A reference the mirror lacks is looked up again for up to
``mirror_wait_seconds``; still missing while the roster consumer is behind, it is not known
*yet* (``NotKnownYet``: 409, Retry-After). Without Kafka nothing can arrive (tests fill the
mirror by hand), so there is no wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from cadrekit.errors import NotKnownYet
from contracts import topics

if TYPE_CHECKING:
    from cadrekit.runtime import ServiceRuntime

POLL_SECONDS = 0.1
_ZH = {"unit": "单位", "cadre": "干部"}
T = TypeVar("T")


def wait_seconds(runtime: ServiceRuntime | None) -> float:
    if runtime is None or not runtime.settings.kafka_enabled:
        return 0.0
    return runtime.settings.mirror_wait_seconds


async def still_missing(runtime: ServiceRuntime | None, missing: Callable[[], Awaitable[list[T]]]) -> list[T]:
    """``missing()`` asked again until it is empty or the wait is over; each call must read
    in a fresh session (a waiting transaction would not see the mirror move)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds(runtime)
    gone = await missing()
    while gone and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        gone = await missing()
    return gone


def behind(runtime: ServiceRuntime | None) -> bool:
    return runtime is not None and runtime.behind_on(topics.ROSTER)


def not_known_yet(gone: list[tuple[str, str, str]]) -> NotKnownYet:
    """(kind, field, id) references the mirror lacks while roster's events are on their way."""
    return NotKnownYet(
        "; ".join(
            f"{field}: {kind} {value} is not known here yet (roster's events are on their way); retry"
            for kind, field, value in gone
        ),
        detail_zh="；".join(
            f"{field}：本服务尚未收到{_ZH[kind]} {value}（花名册事件传递中），请稍后重试" for kind, field, value in gone
        ),
        errors=[
            {
                "field": field,
                "message": f"{kind} not known here yet; retry in a moment",
                "message_zh": f"尚未收到该{_ZH[kind]}，请稍后重试",
            }
            for kind, field, _ in gone
        ],
    )
