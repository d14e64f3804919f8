"""The context every roster use case gets as ``ctx``: its runtime and collaborators."""

from __future__ import annotations

from dataclasses import dataclass

from cadrekit.runtime import ServiceRuntime
from cadrekit.uow import UnitOfWork
from services.roster.domain.retirement import RetirementLaw
from services.roster.protection import IdSealer
from services.roster.settings import RosterSettings


@dataclass
class Context:
    runtime: ServiceRuntime
    settings: RosterSettings
    sealer: IdSealer
    retirement: RetirementLaw

    def uow(self) -> UnitOfWork:
        return self.runtime.uow()
