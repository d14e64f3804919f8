"""Background jobs: work a request starts and the client polls (an import, an assignment run).

A job is a row (``status`` queued → running → done | failed) written before the task starts,
and one task on the runtime, cancelled when the service stops. Its result is stored in one
transaction, so a job cut off by a restart wrote nothing: :func:`fail_interrupted` marks such
rows failed at the next start, and the client that polls learns to start it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy import update
from sqlmodel import SQLModel, col

from cadrekit.db import utcnow
from cadrekit.runtime import ServiceRuntime

UNFINISHED = ("queued", "running")


def spawn(runtime: ServiceRuntime, job: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """Run ``job`` beside the requests; the runtime holds the task until it ends (so it is not
    garbage-collected mid-way) and cancels it on stop."""
    task = asyncio.create_task(job, name=name)
    runtime.background.append(task)
    task.add_done_callback(lambda t: runtime.background.remove(t) if t in runtime.background else None)
    return task


def fail_interrupted(model: type[SQLModel], **values: Any) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """A startup hook: rows of ``model`` still queued or running belong to a process that is
    gone; they become ``failed`` with ``finished_at`` now and ``values`` (the message)."""

    async def hook(runtime: ServiceRuntime) -> None:
        async with runtime.engine.begin() as conn:
            await conn.execute(
                update(model)
                .where(col(model.status).in_(UNFINISHED))  # type: ignore[attr-defined]
                .values(status="failed", finished_at=utcnow(), **values)
            )

    return hook
