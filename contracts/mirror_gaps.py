"""What a service's roster mirror publishes when it finds a version it never applied: a gap,
on the service's own topic, keyed by the cadre or unit. Roster consumes these and publishes
the subject's whole state again (a snapshot of it), which heals the gap in every mirror;
an outside subscriber may watch them as a signal that a mirror was behind.

One model per publishing service, each on its own topic (a service writes only its own).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from contracts import topics
from contracts.base import EventData, Id, Order


class MirrorGapFound(EventData):
    """A roster mirror found a version of a cadre or unit it never applied (skipped, or
    dead-lettered) and asks roster for the subject's snapshot."""

    KEY: ClassVar[str] = "subject_id"
    KEY_NAME: ClassVar[str | None] = "cadre or unit id"
    SUBJECT: ClassVar[tuple[str, str]] = ("mirror_gap", "subject_id")
    ORDER: ClassVar[Order | None] = None  # a gap is found once; its healing is another state

    subject_kind: Literal["cadre", "unit"]
    subject_id: Id
    held_version: int | None = Field(default=None, description="the version the mirror holds (none: never seen)")
    missing_version: int = Field(ge=1, description="the first version it never applied")
    how: Literal["skipped", "dead_lettered"]
    found_at: dt.datetime


class MatchingMirrorGapFound(MirrorGapFound):
    __doc__ = MirrorGapFound.__doc__
    TYPE: ClassVar[str] = "matching.mirror_gap.found"
    TOPIC: ClassVar[str] = topics.MATCHING


class ScoringMirrorGapFound(MirrorGapFound):
    __doc__ = MirrorGapFound.__doc__
    TYPE: ClassVar[str] = "scoring.mirror_gap.found"
    TOPIC: ClassVar[str] = topics.SCORING


class SecondmentMirrorGapFound(MirrorGapFound):
    __doc__ = MirrorGapFound.__doc__
    TYPE: ClassVar[str] = "secondment.mirror_gap.found"
    TOPIC: ClassVar[str] = topics.SECONDMENT


class GatewayMirrorGapFound(MirrorGapFound):
    __doc__ = MirrorGapFound.__doc__
    TYPE: ClassVar[str] = "gateway.mirror_gap.found"
    TOPIC: ClassVar[str] = topics.GATEWAY


# The model each mirroring service publishes its gaps with, by service name.
OF_SERVICE: dict[str, type[MirrorGapFound]] = {
    "matching": MatchingMirrorGapFound,
    "scoring": ScoringMirrorGapFound,
    "secondment": SecondmentMirrorGapFound,
    "gateway": GatewayMirrorGapFound,
}
