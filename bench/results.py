"""Machine-readable figures for `bench/report.py`: each bench script's ``--json PATH``.

A figure is one measured value, optionally with the reference it is compared against and the
ratio of the two (both measured in the same run unless the reference is marked as quoted).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    figure: str
    value: float
    unit: str
    reference: str | None = None
    reference_value: float | None = None
    ratio: float | None = None
    note: str = ""


@dataclass
class Figures:
    bench: str
    items: list[Figure] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        figure: str,
        value: float,
        unit: str,
        *,
        reference: str | None = None,
        reference_value: float | None = None,
        ratio: float | None = None,
        note: str = "",
    ) -> None:
        if ratio is None and reference_value:
            ratio = value / reference_value
        self.items.append(Figure(figure, float(value), unit, reference, reference_value, ratio, note))

    def write(self, path: Path | None) -> None:
        if path is None:
            return
        doc = {"bench": self.bench, "figures": [asdict(f) for f in self.items], **self.extra}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2))
