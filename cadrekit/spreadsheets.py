"""The one rule for every spreadsheet a service hands out: a value becomes a cell that cannot evaluate.

A cadre's name, a post's title or a unit's name is whatever someone typed. Written as it
stands, ``=HYPERLINK("http://evil","x")`` would be a live formula in the office's copy of
the sheet (openpyxl itself turns a str that starts with ``=`` into a formula cell). So,
as OWASP's CSV/formula injection rule has it, text that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is written with a single quote in front, and every text
cell is a string cell whatever its text looks like. Numbers (int, float, Decimal) and
dates stay typed number and date cells: a −2.00 is a number, not text to neutralise.

Every writer appends its rows through ``append_row`` (or turns values with ``cell_value``);
``unquote`` is the inverse an import applies, so an export imports back unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ERROR_CODES, Cell

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
MAX_CELL_TEXT = 32_767  # what a cell holds; openpyxl would cut the text silently
# Control characters XLSX cannot hold (openpyxl refuses them: an export would fail with a 500).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ERROR_CODES = frozenset(ERROR_CODES)  # "#N/A" and the like: text, not an error cell


def neutralise(text: str) -> str:
    """Text as a cell shows it and never evaluates: a quote before a formula trigger."""
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("\ufffd", text)
    if text.startswith(FORMULA_TRIGGERS):
        text = QUOTE + text
    return text[:MAX_CELL_TEXT]


def unquote(text: str) -> str:
    """The inverse of ``neutralise`` for an import: the quote before a trigger comes off."""
    if text[:1] == QUOTE and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def cell_value(value: Any) -> Any:
    """A Python value as a safe cell value: numbers and dates typed, text neutralised."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return neutralise(str.__str__(value))  # a str enum as its value, not its repr
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            return neutralise(str(value))  # XLSX has no NaN or infinity: a file with one is corrupt
        if isinstance(value, Decimal) and not value.is_finite():
            return neutralise(str(value))
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # XLSX has no time zones: UTC, as the services store time
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        return value
    return neutralise(str(value))


def cells(ws: Any, values: Iterable[Any]) -> list[Any]:
    """One row for ``ws.append``: safe values, and cells where the type must be set by hand.

    Works for normal and write-only worksheets. A text that openpyxl would take for an error
    code is made a string cell; a Decimal keeps its places as the number format (0.40 shows
    as 0.40, and stays a number).
    """
    out: list[Any] = []
    for column, raw in enumerate(values, start=1):
        value = cell_value(raw)
        if type(value) is str and value in _ERROR_CODES:
            # row and column given: a write-only sheet prints the cell (repr) before placing it
            cell = Cell(ws, row=1, column=column, value=value)
            cell.data_type = "s"
            out.append(cell)
        elif isinstance(value, Decimal) and int(value.as_tuple().exponent) < 0:
            cell = Cell(ws, row=1, column=column, value=value)
            cell.number_format = "0." + "0" * -int(value.as_tuple().exponent)
            out.append(cell)
        else:
            out.append(value)
    return out


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """Append one row of values to ``ws`` by the rule above."""
    ws.append(cells(ws, values))
