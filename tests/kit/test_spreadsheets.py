"""The kit's cell rule (cadrekit/spreadsheets.py): text that could evaluate is quoted, values keep their types."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from enum import StrEnum
from typing import Any

import openpyxl
import pytest

from cadrekit.spreadsheets import FORMULA_TRIGGERS, append_row, cell_value, neutralise, unquote

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "=1",
    "-",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_could_evaluate_gets_a_quote_in_front_and_nothing_else_changes(text: str) -> None:
    assert neutralise(text) == "'" + text  # the tab or CR stays: stripping it would leave the "=" in front
    assert cell_value(text) == "'" + text
    assert unquote(neutralise(text)) == text


@pytest.mark.parametrize("text", ["张三", "市委组织部", "", "'=already quoted", "a=b", " =1", "1-2", "#1", "100%"])
def test_harmless_text_is_written_as_it_stands(text: str) -> None:
    assert neutralise(text) == text
    assert cell_value(text) == text


def test_unquote_only_takes_off_the_quote_an_export_puts_in() -> None:
    assert unquote("'=1+1") == "=1+1"
    assert unquote("'-2") == "-2"
    assert unquote("'张三") == "'张三"  # a quote before ordinary text is the text
    assert unquote("''=1") == "''=1"
    assert unquote("'") == "'"
    assert unquote("") == ""


def test_numbers_and_dates_stay_typed() -> None:
    for value in (-2, 0, 3.5, -2.5, Decimal("-2.00"), dt.date(1975, 3, 8), dt.datetime(2020, 1, 2, 3, 4), True, None):
        assert cell_value(value) == value
        assert type(cell_value(value)) is type(value)


def test_values_a_workbook_cannot_hold_become_text_instead_of_a_broken_file() -> None:
    assert cell_value(float("nan")) == "nan"
    assert cell_value(float("-inf")) == "'-inf"
    assert cell_value(Decimal("NaN")) == "NaN"
    assert cell_value("a\x01b") == "a\ufffdb"  # openpyxl refuses control characters outright
    assert cell_value(dt.datetime(2020, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))) == dt.datetime(
        2020, 1, 1, 0
    )


def test_a_str_enum_is_its_value_and_other_objects_their_text() -> None:
    class Kind(StrEnum):
        bad = "=1+1"

    assert cell_value(Kind.bad) == "'=1+1"
    assert cell_value(object.__new__(_Formulaic)) == "'=HYPERLINK(1)"


class _Formulaic:
    def __str__(self) -> str:
        return "=HYPERLINK(1)"


def _written(write_only: bool, rows: list[list[Any]]) -> list[list[openpyxl.cell.cell.Cell]]:
    wb = openpyxl.Workbook(write_only=write_only)
    ws = wb.create_sheet("s") if write_only else wb.active
    for row in rows:
        append_row(ws, row)
    buf = io.BytesIO()
    wb.save(buf)
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).worksheets[0]
    return [list(r) for r in sheet.iter_rows()]


@pytest.mark.parametrize("write_only", [True, False])
def test_a_written_sheet_has_no_formula_and_typed_numbers(write_only: bool) -> None:
    rows = [
        [*HOSTILE, "#N/A", "#REF!"],
        [Decimal("-2.00"), Decimal("0.40"), -3, 1.5, dt.date(1975, 3, 8), None, "张三", Decimal("7")],
    ]
    hostile, typed = _written(write_only, rows)
    for cell, text in zip(hostile, [*HOSTILE, "#N/A", "#REF!"], strict=True):
        assert cell.data_type == "s", (text, cell.data_type)
        expected = neutralise(text) if text[:1] in FORMULA_TRIGGERS else text
        assert cell.value == expected.replace("\r", "\n")  # XML reads a CR as a line feed
    assert [c.data_type for c in typed[:4]] == ["n"] * 4
    assert [c.value for c in typed[:4]] == [-2, 0.4, -3, 1.5]
    assert [c.number_format for c in typed[:2]] == ["0.00", "0.00"]  # a Decimal keeps its places on screen
    assert typed[4].is_date and typed[4].value == dt.datetime(1975, 3, 8)
    assert typed[6].value == "张三" and typed[7].value == 7
