"""Vetting of a nominee, "like a promotion" (seed 004: 政治品质、道德品质、工作实绩、履职尽责、
勤政廉政, and the discipline inspection office's opinion on file).

Assessments may be recorded in parts; the nominee is vetted only when every part is in,
every verdict is sound and the discipline office's opinion (its reference) is on file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ASPECTS = ("political_quality", "moral_quality", "results", "diligence", "integrity")
VERDICTS = ("sound", "concerns")


@dataclass(frozen=True)
class VettingOutcome:
    complete: bool
    passed: bool
    missing: tuple[str, ...]
    concerns: tuple[str, ...]


def outcome(record: Mapping[str, Any]) -> VettingOutcome:
    """``record`` holds each aspect's verdict and ``discipline_reference``."""
    missing = [a for a in ASPECTS if not record.get(a)]
    if not record.get("discipline_reference"):
        missing.append("discipline_reference")
    concerns = [a for a in ASPECTS if record.get(a) == "concerns"]
    complete = not missing
    return VettingOutcome(complete, complete and not concerns, tuple(missing), tuple(concerns))
