"""The department's spreadsheet rows: per-row validation, and a cadre as a row.

Pure: a row of cell values in, a clean record or a list of ``(column, message)`` out. The
columns are in domain/columns.py, the cell parsers in domain/cells.py. Import and export
use the same column list, so an export imports back unchanged.
"""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any, NamedTuple

from cadrekit.spreadsheets import QUOTE, unquote
from services.roster.domain import id_numbers
from services.roster.domain.cells import (
    LATEST,
    OLDEST,
    SEX_OF_DIGIT,
    Bad,
    Memo,
    Span,
    birth_in_id,
    format_periods,
    grassroots_years_text,
    parse_birth_date,
    parse_gender,
    parse_health,
    parse_leadership,
    parse_list,
    parse_party_member,
    parse_retirement_date,
    parse_short_text,
    parse_spans,
    parse_unit,
    parse_unit_kind,
    parse_willingness,
    parse_years_of_service,
    period_dicts,
    text_of,
)
from services.roster.domain.columns import (
    COLUMNS,
    GENDER_OUT,
    HEADER_OF_FIELD,
    HEALTH_OUT,
    LEADERSHIP_OUT,
    WILLINGNESS_FLAGS,
    WILLINGNESS_OUT,
)


class CadreRecord(NamedTuple):
    """A row that passed every rule, in the shapes the cadre table stores."""

    row: int
    name: str
    gender: str
    birth_date: dt.date
    id_number: str
    unit: str
    unit_kind: str | None
    post_title: str | None
    rank: str | None
    party_member: bool
    education: str | None
    years_of_service: int | None
    grassroots_periods: list[dict[str, Any]]  # sorted by start, as stored
    grassroots_years: str
    strengths: tuple[str, ...]
    post_wishes: tuple[str, ...]
    professional_field: str | None
    willingness: dict[str, bool]  # shared by every row that says the same: never mutate it
    leadership_status: str
    health: str
    retirement_date: dt.date | None


_H = HEADER_OF_FIELD


class RowValidator:
    """Every rule for one data row: a ``CadreRecord``, or the ``(column, message)`` list.

    ``columns`` maps sheet column → field (``map_headers``); ``first_column`` is the sheet
    column of each row's first cell; ``today`` is the day grassroots years count to. The
    column parsers' results are kept per cell text (``Memo``), one validator per import.
    Imports run this for every row, hence the plain, unrolled code.
    """

    def __init__(self, columns: dict[int, str], today: dt.date, first_column: int = 0) -> None:
        position = {field: idx - first_column for idx, field in columns.items()}
        self.width = max(position.values()) + 1
        if len(position) < len(COLUMNS):
            self.width += 1  # a column the sheet lacks reads the padding cell: None
        # one C call hands out the cells in COLUMNS order, instead of a dict per row
        self._cells = itemgetter(*(position.get(field, self.width - 1) for field, _, _ in COLUMNS))
        self.today = today
        self._gender = Memo(parse_gender)
        self._birth = Memo(parse_birth_date)
        self._unit = Memo(parse_unit)
        self._unit_kind = Memo(parse_unit_kind)
        self._post_title = Memo(parse_short_text)
        self._rank = Memo(parse_short_text)
        self._education = Memo(parse_short_text)
        self._field = Memo(parse_short_text)
        self._party = Memo(parse_party_member)
        self._years = Memo(parse_years_of_service)
        self._strengths = Memo(parse_list)
        self._wishes = Memo(parse_list)
        self._willingness = Memo(parse_willingness)
        self._leadership = Memo(parse_leadership)
        self._health = Memo(parse_health)
        self._retirement = Memo(parse_retirement_date)
        self._id_births = Memo(birth_in_id)

    def validate(self, row_number: int, row: list[Any]) -> tuple[CadreRecord | None, list[tuple[str, str]]]:
        if len(row) < self.width:
            row = [*row, *([None] * (self.width - len(row)))]
        (
            name_cell,
            gender_cell,
            birth_cell,
            id_cell,
            unit_cell,
            post_cell,
            rank_cell,
            party_cell,
            education_cell,
            yos_cell,
            periods_cell,
            strengths_cell,
            wishes_cell,
            field_cell,
            willingness_cell,
            leadership_cell,
            health_cell,
            retirement_cell,
            unit_kind_cell,
        ) = self._cells(row)
        errors: list[tuple[str, str]] = []
        bad = errors.append

        name = name_cell.strip() if type(name_cell) is str else text_of(name_cell)
        if name[:1] == QUOTE:  # as in text_of: the quote an export put before "=" comes off
            name = unquote(name).strip()
        if not name:
            bad((_H["name"], "required"))
        elif len(name) > 50 or "\x00" in name:
            bad((_H["name"], "at most 50 characters, no NUL"))

        gender = self._gender[gender_cell] if type(gender_cell) is str else self._gender.parse(gender_cell)
        if type(gender) is Bad:
            bad((_H["gender"], gender))
            gender = None

        birth: Any
        if type(birth_cell) is dt.date:  # a date cell: nothing to parse
            birth = birth_cell if OLDEST <= birth_cell <= LATEST else Bad("out of range")
        else:
            birth = self._birth[birth_cell] if type(birth_cell) is str else self._birth.parse(birth_cell)
        if type(birth) is Bad:
            bad((_H["birth_date"], birth))
            birth = None

        raw_id = id_cell.strip() if type(id_cell) is str else text_of(id_cell)
        idn: str | None = None
        if not raw_id:
            bad((_H["id_number"], "required"))
        else:
            try:
                idn = id_numbers.validate(raw_id)
            except id_numbers.InvalidIdNumber as exc:
                bad((_H["id_number"], str(exc)))
        if idn and birth and self._id_births[idn[6:14]] != birth:
            bad((_H["birth_date"], "does not match the birth date in the ID number"))
        if idn and gender and (SEX_OF_DIGIT.get(idn[16]) or id_numbers.gender_of(idn)) != gender:
            bad((_H["gender"], "does not match the sex digit of the ID number"))

        unit = self._unit[unit_cell] if type(unit_cell) is str else self._unit.parse(unit_cell)
        if type(unit) is Bad:
            bad((_H["unit"], unit))
        unit_kind = (
            self._unit_kind[unit_kind_cell] if type(unit_kind_cell) is str else self._unit_kind.parse(unit_kind_cell)
        )
        if type(unit_kind) is Bad:
            bad((_H["unit_kind"], unit_kind))

        post_title = self._post_title[post_cell] if type(post_cell) is str else self._post_title.parse(post_cell)
        if type(post_title) is Bad:
            bad((_H["post_title"], post_title))
        rank = self._rank[rank_cell] if type(rank_cell) is str else self._rank.parse(rank_cell)
        if type(rank) is Bad:
            bad((_H["rank"], rank))
        education = (
            self._education[education_cell] if type(education_cell) is str else self._education.parse(education_cell)
        )
        if type(education) is Bad:
            bad((_H["education"], education))
        professional_field = self._field[field_cell] if type(field_cell) is str else self._field.parse(field_cell)
        if type(professional_field) is Bad:
            bad((_H["professional_field"], professional_field))

        party_member = self._party[party_cell] if type(party_cell) is str else self._party.parse(party_cell)
        if type(party_member) is Bad:
            bad((_H["party_member"], party_member))

        if type(yos_cell) is float and yos_cell.is_integer() and 0 <= yos_cell <= 70:
            years_of_service = int(yos_cell)  # a number cell: what the text route gives, quicker
        else:
            years_of_service = self._years[yos_cell] if type(yos_cell) is str else self._years.parse(yos_cell)
            if type(years_of_service) is Bad:
                bad((_H["years_of_service"], years_of_service))

        spans: list[Span] = []
        periods_text = periods_cell.strip() if type(periods_cell) is str else text_of(periods_cell)
        if periods_text:
            try:
                spans = parse_spans(periods_text)
            except ValueError as exc:
                bad((_H["grassroots_periods"], str(exc)))

        strengths = (
            self._strengths[strengths_cell] if type(strengths_cell) is str else self._strengths.parse(strengths_cell)
        )
        post_wishes = self._wishes[wishes_cell] if type(wishes_cell) is str else self._wishes.parse(wishes_cell)
        willingness = (
            self._willingness[willingness_cell]
            if type(willingness_cell) is str
            else self._willingness.parse(willingness_cell)
        )
        if type(willingness) is Bad:
            bad((_H["willingness"], willingness))

        leadership = (
            self._leadership[leadership_cell]
            if type(leadership_cell) is str
            else self._leadership.parse(leadership_cell)
        )
        if type(leadership) is Bad:
            bad((_H["leadership_status"], leadership))
        health = self._health[health_cell] if type(health_cell) is str else self._health.parse(health_cell)
        if type(health) is Bad:
            bad((_H["health"], health))

        retirement = (
            self._retirement[retirement_cell]
            if type(retirement_cell) is str
            else self._retirement.parse(retirement_cell)
        )
        if type(retirement) is Bad:
            bad((_H["retirement_date"], retirement))

        if errors:
            return None, errors
        assert gender is not None and birth is not None and idn is not None
        if len(spans) > 1:
            spans.sort(key=_start)  # stable: periods that start the same day keep the sheet's order
        record = CadreRecord(
            row_number,
            name,
            gender,
            birth,
            idn,
            unit,
            unit_kind,
            post_title,
            rank,
            party_member,
            education,
            years_of_service,
            period_dicts(spans),
            grassroots_years_text(spans, self.today) if spans else "0.0",
            strengths,
            post_wishes,
            professional_field,
            willingness,
            leadership,
            health,
            retirement,
        )
        return record, errors


def _start(span: Span) -> dt.date:
    return span[0]


def export_row(cadre: dict[str, Any], unit_path_names: str, id_number: str) -> list[Any]:
    """One cadre as a sheet row, in COLUMNS order (the inverse of validate_row)."""
    w = cadre.get("willingness") or {}
    return [
        cadre["name"],
        GENDER_OUT[cadre["gender"]],
        cadre["birth_date"],
        id_number,
        unit_path_names,
        cadre.get("post_title") or "",
        cadre.get("rank") or "",
        "是" if cadre.get("party_member") else "否",
        cadre.get("education") or "",
        cadre.get("years_of_service") if cadre.get("years_of_service") is not None else "",
        format_periods(cadre.get("grassroots_periods") or []),
        "、".join(cadre.get("strengths") or []),
        "；".join(cadre.get("post_wishes") or []),
        cadre.get("professional_field") or "",
        "；".join(WILLINGNESS_OUT[f] for f in WILLINGNESS_FLAGS if w.get(f)),
        LEADERSHIP_OUT[cadre["leadership_status"]],
        HEALTH_OUT[cadre["health"]],
        cadre.get("retirement_date_override") or "",
        "",
    ]
