"""The department's spreadsheet: Chinese headers, cell parsing and per-row validation.

Pure: a row of cell values in, a clean record or a list of ``(column, message)`` out.
Import and export use the same column list, so an export imports back unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from cadrekit.spreadsheets import QUOTE, unquote
from services.roster.domain import id_numbers
from services.roster.domain.people import EXIT_KINDS

# (field, Chinese header, required)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("name", "姓名", True),
    ("gender", "性别", True),
    ("birth_date", "出生日期", True),
    ("id_number", "身份证号", True),
    ("unit", "单位", True),
    ("post_title", "职务", False),
    ("rank", "职级", False),
    ("party_member", "中共党员", False),
    ("education", "学历", False),
    ("years_of_service", "工作年限", False),
    ("grassroots_periods", "基层工作经历", False),
    ("strengths", "特长", False),
    ("post_wishes", "岗位意愿", False),
    ("professional_field", "专业领域", False),
    ("willingness", "工作意愿", False),
    ("leadership_status", "领导状态", False),
    ("health", "健康状况", False),
    ("retirement_date", "退休日期", False),
    ("unit_kind", "单位类型", False),
)
HEADERS = tuple(h for _, h, _ in COLUMNS)
FIELD_OF_HEADER = {h: f for f, h, _ in COLUMNS}
HEADER_OF_FIELD = {f: h for f, h, _ in COLUMNS}
REQUIRED_HEADERS = tuple(h for _, h, req in COLUMNS if req)

GENDER_IN = {"男": "male", "女": "female", "male": "male", "female": "female"}
GENDER_OUT = {"male": "男", "female": "女"}
YES = {"是", "Y", "y", "yes", "true", "TRUE", "1", "中共党员", "党员"}
NO = {"否", "N", "n", "no", "false", "FALSE", "0", "群众", "非党员", ""}
LEADERSHIP_IN = {
    "在职领导": "in_post",
    "退二线": "second_line",
    "非领导": "non_leading",
    "in_post": "in_post",
    "second_line": "second_line",
    "non_leading": "non_leading",
}
LEADERSHIP_OUT = {"in_post": "在职领导", "second_line": "退二线", "non_leading": "非领导"}
HEALTH_IN = {
    "健康": "healthy",
    "一般": "limited",
    "免除": "exempt",
    "因病免除": "exempt",
    "healthy": "healthy",
    "limited": "limited",
    "exempt": "exempt",
}
HEALTH_OUT = {"healthy": "健康", "limited": "一般", "exempt": "因病免除"}
WILLINGNESS_IN = {
    "愿意到镇街": "town",
    "愿意承担重任": "heavy_task",
    "愿意带教": "mentor",
    "town": "town",
    "heavy_task": "heavy_task",
    "mentor": "mentor",
}
WILLINGNESS_OUT = {"town": "愿意到镇街", "heavy_task": "愿意承担重任", "mentor": "愿意带教"}
WILLINGNESS_FLAGS = ("town", "heavy_task", "mentor")
UNIT_KIND_IN = {
    "市级": "city",
    "区县": "district",
    "市直机关": "city_organ",
    "区直机关": "district_organ",
    "镇街": "town",
    "镇": "town",
    "街道": "town",
    "村社区": "village",
    "村": "village",
    "社区": "village",
    "国企": "enterprise",
    "事业单位": "institution",
}
_LIST_SPLIT = re.compile(r"[;；、,，\n]+")
_PERIOD_SPLIT = re.compile(r"[;；\n]+")
_PERIOD = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:至|~|to)\s*(\d{4}-\d{2}-\d{2})?\s*(?:@(.+))?$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
# The same formats with two-digit months and days and ASCII digits. strptime reads such
# text as its digits say (its %m and %d take two digits whenever two make a valid value),
# so date(y, m, d) answers the same without strptime's regex and locale machinery.
_PADDED_DATES = (
    re.compile(r"([0-9]{4})([-/.]?)([0-9]{2})\2([0-9]{2})"),
    re.compile(r"([0-9]{4})()年([0-9]{2})月([0-9]{2})日"),
)
_OLDEST, _LATEST = dt.date(1900, 1, 1), dt.date(2100, 1, 1)
MAX_TEXT = 200
__all__ = ["EXIT_KINDS"]


class HeaderError(ValueError):
    def __init__(self, missing: list[str], unknown: list[str], repeated: list[str] | None = None) -> None:
        self.missing = missing
        self.unknown = unknown
        self.repeated = repeated or []
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        if self.repeated:
            parts.append("repeated columns: " + ", ".join(self.repeated))
        super().__init__("; ".join(parts))


def map_headers(header_row: list[Any]) -> dict[int, str]:
    """Column index → field. Refuses a sheet whose headers are not the department's."""
    names = [str(h).strip() if h is not None else "" for h in header_row]
    unknown = [n for n in names if n and n not in FIELD_OF_HEADER]
    missing = [h for h in REQUIRED_HEADERS if h not in names]
    # a header twice would leave one of its columns unread: which one is meant cannot be told
    repeated = [n for n, k in Counter(n for n in names if n in FIELD_OF_HEADER).items() if k > 1]
    if missing or unknown or repeated:
        raise HeaderError(missing, unknown, repeated)
    return {i: FIELD_OF_HEADER[n] for i, n in enumerate(names) if n}


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for padded in _PADDED_DATES:
        m = padded.fullmatch(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[3]), int(m[4]))
            except ValueError:
                break  # not a real day: the formats below say so in their own words
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (use YYYY-MM-DD)")


def _text(value: Any) -> str:
    if type(value) is str:  # nearly every cell: skip the checks below
        text = value.strip()
        # an export quotes text that a spreadsheet would evaluate (=, +, -, @): undone here
        return unquote(text).strip() if text[:1] == QUOTE else text
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_blank(row: list[Any]) -> bool:
    """Whether no cell of the row has content (sheets often carry empty rows)."""
    return row.count("") + row.count(None) == len(row)


def split_list(value: Any) -> list[str]:
    return [p.strip() for p in _LIST_SPLIT.split(_text(value)) if p.strip()]


def format_periods(periods: list[dict[str, Any]]) -> str:
    out = []
    for p in periods:
        s = f"{p['start']}至{p.get('end') or ''}"
        if p.get("unit_name"):
            s += f"@{p['unit_name']}"
        out.append(s)
    return "；".join(out)


Span = tuple[dt.date, dt.date | None, str | None, str, str | None]  # start, end, unit, start and end text


def _spans(text: str) -> list[Span]:
    spans = []
    for part in _PERIOD_SPLIT.split(text):
        if not part.strip():
            continue
        m = _PERIOD.match(part)
        if not m:
            raise ValueError("periods look like 2010-01-01至2015-06-30@某某镇, separated by ；")
        start = dt.date.fromisoformat(m.group(1))
        end = dt.date.fromisoformat(m.group(2)) if m.group(2) else None
        if end is not None and end < start:
            raise ValueError(f"period ends before it starts: {part.strip()}")
        # the matched text is what isoformat() would give: fromisoformat took it, so it is ASCII
        spans.append((start, end, (m.group(3) or "").strip() or None, m.group(1), m.group(2)))
    return spans


def _period_dicts(spans: list[Span]) -> list[dict[str, Any]]:
    return [{"start": s, "end": e, "unit_name": u} for _, _, u, s, e in spans]


def parse_periods(value: Any) -> list[dict[str, Any]]:
    text = _text(value)
    return _period_dicts(_spans(text)) if text else []


def grassroots_years_text(spans: list[Span], today: dt.date) -> str:
    """``str(people.grassroots_years(...))`` for the import, in integers.

    Days in grassroots units / 365.25, one decimal, half up; overlapping periods count once.
    tenths = floor(days * 40 / 1461 + 1/2) = (days * 80 + 1461) // 2922, exactly: days * 80
    is even and 1461 * odd is odd, so no value sits on a tie that rounding could tip. The
    Decimal version cost a tenth of the whole import.
    """
    days = 0
    cur_start: dt.date | None = None
    cur_end = today
    for start, end in sorted((s, min(e or today, today)) for s, e, *_ in spans if s <= today):
        if end < start:
            continue
        if cur_start is None or start > cur_end:
            if cur_start is not None:
                days += (cur_end - cur_start).days
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_start is not None:
        days += (cur_end - cur_start).days
    tenths = (days * 80 + 1461) // 2922
    return f"{tenths // 10}.{tenths % 10}"


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


class _Bad(str):
    """What a column parser returns instead of a value: the error message."""


class _Memo(dict[str, Any]):
    """One column's parsed values by cell text: most columns repeat a few values, so each
    distinct text is parsed once. Holds at most MEMO_LIMIT texts (a column of all-unique
    values is parsed row by row instead). Only text cells are looked up here: 1, 1.0 and
    True are equal keys that read differently, so other cells go to ``parse``."""

    def __init__(self, parse: Callable[[Any], Any]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> Any:
        value = self.parse(text)
        if len(self) < MEMO_LIMIT:
            self[text] = value
        return value


MEMO_LIMIT = 20_000


def _gender(cell: Any) -> Any:
    return GENDER_IN.get(_text(cell)) or _Bad("must be 男 or 女")


def _date(cell: Any) -> Any:
    try:
        return parse_date(cell)
    except ValueError as exc:
        return _Bad(str(exc))


def _birth_date(cell: Any) -> Any:
    if cell in (None, ""):
        return _Bad("required")
    birth = _date(cell)
    if type(birth) is not _Bad and not _OLDEST <= birth <= _LATEST:
        return _Bad("out of range")
    return birth


def _retirement_date(cell: Any) -> Any:
    return None if cell in (None, "") else _date(cell)


def _unit(cell: Any) -> Any:
    return _text(cell) or _Bad("required")


def _unit_kind(cell: Any) -> Any:
    text = _text(cell)
    if text and text not in UNIT_KIND_IN:
        return _Bad("unknown unit kind: " + text)
    return UNIT_KIND_IN.get(text)


def _short_text(cell: Any) -> Any:
    value = _text(cell)
    if len(value) > MAX_TEXT or "\x00" in value:
        return _Bad(f"at most {MAX_TEXT} characters")
    return value or None


def _party_member(cell: Any) -> Any:
    party = _text(cell)
    if party in YES:
        return True
    return False if party in NO else _Bad("must be 是 or 否")


def _years_of_service(cell: Any) -> Any:
    text = _text(cell)
    if not text:
        return None
    try:
        n = int(float(text))
        if not 0 <= n <= 70 or float(text) != n:
            raise ValueError
        return n
    except ValueError:
        return _Bad("must be a whole number from 0 to 70")


def _list(cell: Any) -> tuple[str, ...]:
    return tuple(split_list(cell))


def _willingness(cell: Any) -> Any:
    flags = split_list(cell)
    unknown = [f for f in flags if f not in WILLINGNESS_IN]
    if unknown:
        return _Bad("unknown: " + "、".join(unknown))
    chosen = {WILLINGNESS_IN[f] for f in flags}
    return _FLAG_SETS["town" in chosen, "heavy_task" in chosen, "mentor" in chosen]


# every willingness a row can state, built once and shared by the rows that state it
_FLAG_SETS = {
    key: dict(zip(WILLINGNESS_FLAGS, key, strict=True))
    for key in ((a, b, c) for a in (False, True) for b in (False, True) for c in (False, True))
}


def _leadership(cell: Any) -> Any:
    return LEADERSHIP_IN.get(_text(cell) or "non_leading") or _Bad("must be 在职领导, 退二线 or 非领导")


def _health(cell: Any) -> Any:
    return HEALTH_IN.get(_text(cell) or "healthy") or _Bad("must be 健康, 一般 or 因病免除")


def _birth_in_id(digits: str) -> dt.date:
    """``id_numbers.birth_date_of`` from the number's YYYYMMDD digits."""
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


_SEX_OF_DIGIT = {d: "male" if int(d) % 2 else "female" for d in "0123456789"}
_H = HEADER_OF_FIELD


class RowValidator:
    """Every rule for one data row: a ``CadreRecord``, or the ``(column, message)`` list.

    ``columns`` maps sheet column → field (``map_headers``); ``first_column`` is the sheet
    column of each row's first cell; ``today`` is the day grassroots years count to. The
    column parsers' results are kept per cell text (``_Memo``), one validator per import.
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
        self._gender = _Memo(_gender)
        self._birth = _Memo(_birth_date)
        self._unit = _Memo(_unit)
        self._unit_kind = _Memo(_unit_kind)
        self._post_title = _Memo(_short_text)
        self._rank = _Memo(_short_text)
        self._education = _Memo(_short_text)
        self._field = _Memo(_short_text)
        self._party = _Memo(_party_member)
        self._years = _Memo(_years_of_service)
        self._strengths = _Memo(_list)
        self._wishes = _Memo(_list)
        self._willingness = _Memo(_willingness)
        self._leadership = _Memo(_leadership)
        self._health = _Memo(_health)
        self._retirement = _Memo(_retirement_date)
        self._id_births = _Memo(_birth_in_id)

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

        name = name_cell.strip() if type(name_cell) is str else _text(name_cell)
        if name[:1] == QUOTE:  # as in _text: the quote an export put before "=" comes off
            name = unquote(name).strip()
        if not name:
            bad((_H["name"], "required"))
        elif len(name) > 50 or "\x00" in name:
            bad((_H["name"], "at most 50 characters, no NUL"))

        gender = self._gender[gender_cell] if type(gender_cell) is str else self._gender.parse(gender_cell)
        if type(gender) is _Bad:
            bad((_H["gender"], gender))
            gender = None

        birth: Any
        if type(birth_cell) is dt.date:  # a date cell: nothing to parse
            birth = birth_cell if _OLDEST <= birth_cell <= _LATEST else _Bad("out of range")
        else:
            birth = self._birth[birth_cell] if type(birth_cell) is str else self._birth.parse(birth_cell)
        if type(birth) is _Bad:
            bad((_H["birth_date"], birth))
            birth = None

        raw_id = id_cell.strip() if type(id_cell) is str else _text(id_cell)
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
        if idn and gender and (_SEX_OF_DIGIT.get(idn[16]) or id_numbers.gender_of(idn)) != gender:
            bad((_H["gender"], "does not match the sex digit of the ID number"))

        unit = self._unit[unit_cell] if type(unit_cell) is str else self._unit.parse(unit_cell)
        if type(unit) is _Bad:
            bad((_H["unit"], unit))
        unit_kind = (
            self._unit_kind[unit_kind_cell] if type(unit_kind_cell) is str else self._unit_kind.parse(unit_kind_cell)
        )
        if type(unit_kind) is _Bad:
            bad((_H["unit_kind"], unit_kind))

        post_title = self._post_title[post_cell] if type(post_cell) is str else self._post_title.parse(post_cell)
        if type(post_title) is _Bad:
            bad((_H["post_title"], post_title))
        rank = self._rank[rank_cell] if type(rank_cell) is str else self._rank.parse(rank_cell)
        if type(rank) is _Bad:
            bad((_H["rank"], rank))
        education = (
            self._education[education_cell] if type(education_cell) is str else self._education.parse(education_cell)
        )
        if type(education) is _Bad:
            bad((_H["education"], education))
        professional_field = self._field[field_cell] if type(field_cell) is str else self._field.parse(field_cell)
        if type(professional_field) is _Bad:
            bad((_H["professional_field"], professional_field))

        party_member = self._party[party_cell] if type(party_cell) is str else self._party.parse(party_cell)
        if type(party_member) is _Bad:
            bad((_H["party_member"], party_member))

        if type(yos_cell) is float and yos_cell.is_integer() and 0 <= yos_cell <= 70:
            years_of_service = int(yos_cell)  # a number cell: what the text route gives, quicker
        else:
            years_of_service = self._years[yos_cell] if type(yos_cell) is str else self._years.parse(yos_cell)
            if type(years_of_service) is _Bad:
                bad((_H["years_of_service"], years_of_service))

        spans: list[Span] = []
        periods_text = periods_cell.strip() if type(periods_cell) is str else _text(periods_cell)
        if periods_text:
            try:
                spans = _spans(periods_text)
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
        if type(willingness) is _Bad:
            bad((_H["willingness"], willingness))

        leadership = (
            self._leadership[leadership_cell]
            if type(leadership_cell) is str
            else self._leadership.parse(leadership_cell)
        )
        if type(leadership) is _Bad:
            bad((_H["leadership_status"], leadership))
        health = self._health[health_cell] if type(health_cell) is str else self._health.parse(health_cell)
        if type(health) is _Bad:
            bad((_H["health"], health))

        retirement = (
            self._retirement[retirement_cell]
            if type(retirement_cell) is str
            else self._retirement.parse(retirement_cell)
        )
        if type(retirement) is _Bad:
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
            _period_dicts(spans),
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
