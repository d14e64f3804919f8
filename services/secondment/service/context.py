"""The secondment service's context: its runtime (database, outbox, consumers), passed to
every use case as ``ctx``. app.py builds it and stores it at ``app.state.context``."""

from __future__ import annotations

from dataclasses import dataclass

from cadrekit.runtime import ServiceRuntime
from cadrekit.uow import UnitOfWork


@dataclass
class Context:
    runtime: ServiceRuntime

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()
