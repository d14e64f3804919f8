"""What roster does when other services' events arrive: one module per source, each
exposing ``TOPICS`` and ``handlers(ctx)``. Wired into one consumer by the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadrekit.inbox import Handler

if TYPE_CHECKING:
    from services.roster.service.context import Context

SOURCES: list[str] = ["secondment", "matching", "mirror_gaps"]


def topics_and_handlers(ctx: Context) -> tuple[list[str], dict[str, Handler]]:
    import importlib

    topics: list[str] = []
    handlers: dict[str, Handler] = {}
    for name in SOURCES:
        module = importlib.import_module(f"services.roster.reactions.{name}")
        topics += [t for t in module.TOPICS if t not in topics]
        handlers.update(module.handlers(ctx))
    return topics, handlers
