"""The import template's 填写说明 lists every column and every word the import accepts in
each enumerated column, and every word it lists imports as the value it names (issue 17,
item 9); no server, the column parsers of domain/cells.py."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest

from services.roster.domain import columns
from services.roster.domain.cells import (
    Bad,
    parse_gender,
    parse_health,
    parse_leadership,
    parse_party_member,
    parse_unit_kind,
    parse_willingness,
)
from services.roster.domain.instructions import BLANK, CHOICES, NOTES
from services.roster.spreadsheets import template

# The import's parser of each enumerated column, and what it makes of the value's word.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "gender": parse_gender,
    "party_member": parse_party_member,
    "willingness": parse_willingness,
    "leadership_status": parse_leadership,
    "health": parse_health,
    "unit_kind": parse_unit_kind,
}
# The maps those parsers read: every word in them is accepted.
WORDS: dict[str, set[str]] = {
    "gender": set(columns.GENDER_IN),
    "party_member": columns.YES | columns.NO,
    "willingness": set(columns.WILLINGNESS_IN),
    "leadership_status": set(columns.LEADERSHIP_IN) | {""},
    "health": set(columns.HEALTH_IN) | {""},
    "unit_kind": set(columns.UNIT_KIND_IN),
}
HEADER = {field: header for field, header, _ in columns.COLUMNS}


def _expected(field: str, value: str) -> Any:
    if field == "party_member":
        return value == "true"
    if field == "willingness":
        return {flag: flag == value for flag in columns.WILLINGNESS_FLAGS}
    return value


def _sheet() -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(template()))
    return list(wb["填写说明"].iter_rows(values_only=True))


def test_every_map_of_words_the_import_reads_is_an_enumerated_column_of_the_template() -> None:
    maps = {name for name in vars(columns) if name.endswith("_IN")}
    assert maps == {"GENDER_IN", "WILLINGNESS_IN", "LEADERSHIP_IN", "HEALTH_IN", "UNIT_KIND_IN"}, (
        "a new *_IN map of columns.py: add its column to instructions.CHOICES and to PARSERS here"
    )
    assert set(CHOICES) == set(PARSERS) == set(WORDS)


def test_the_sheet_describes_every_column_with_whether_it_is_required() -> None:
    assert set(NOTES) == {field for field, _, _ in columns.COLUMNS}
    sheet = _sheet()
    first_part = sheet[: next(i for i, r in enumerate(sheet) if not any(r))]
    rows = {r[0]: r for r in first_part}
    assert len(first_part) == 1 + len(columns.COLUMNS)
    for _, header, required in columns.COLUMNS:
        assert rows[header][1] == ("必填" if required else "选填"), header
        assert rows[header][2], header


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_the_sheet_lists_every_word_the_import_accepts_and_no_other(field: str) -> None:
    listed = {
        word.replace(BLANK, "")
        for row in _sheet()
        if row[0] == HEADER[field] and len(row) > 3 and row[3]
        for word in str(row[3]).split("、")
    }
    assert listed == WORDS[field]


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_every_word_the_sheet_lists_imports_as_the_value_it_names(field: str) -> None:
    parse = PARSERS[field]
    for choice in CHOICES[field]:
        for word in (choice.label, *choice.words):
            assert parse(word) == _expected(field, choice.value), f"{HEADER[field]}: {word!r}"
    if not any("" in c.words for c in CHOICES[field]):
        # a blank cell means none of the values: refused, or no value (no unit kind, no wish)
        blank = parse("")
        assert isinstance(blank, Bad) or blank in (None, _expected(field, "none")), f"{HEADER[field]}: blank"


def test_the_drop_downs_offer_the_labels_of_each_single_choice_column() -> None:
    ws = openpyxl.load_workbook(io.BytesIO(template())).worksheets[0]
    letters = {header: openpyxl.utils.get_column_letter(i) for i, header in enumerate(columns.HEADERS, start=1)}
    offered = {str(v.sqref).split(":")[0].rstrip("0123456789"): v.formula1 for v in ws.data_validations.dataValidation}
    for field in ("gender", "party_member", "leadership_status", "health", "unit_kind"):
        labels = ",".join(c.label for c in CHOICES[field])
        assert offered[letters[HEADER[field]]] == f'"{labels}"', field
    assert letters["工作意愿"] not in offered  # a cell may name several of its words


def test_the_labels_the_export_writes_import_back() -> None:
    for field, out in {
        "gender": columns.GENDER_OUT,
        "leadership_status": columns.LEADERSHIP_OUT,
        "health": columns.HEALTH_OUT,
        "unit_kind": columns.UNIT_KIND_OUT,
    }.items():
        assert {v: PARSERS[field](label) for v, label in out.items()} == {v: v for v in out}, field
