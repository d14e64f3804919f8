"""The matching service's context: its runtime, passed to every use case as ``ctx``."""

from __future__ import annotations

from dataclasses import dataclass

from cadrekit.runtime import ServiceRuntime
from cadrekit.uow import UnitOfWork


@dataclass
class Context:
    runtime: ServiceRuntime

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()
