"""The department's spreadsheet: Chinese headers, cell parsing and per-row validation.

Pure: a row of cell values in, a clean record or a list of ``(column, message)`` out.
Import and export use the same column list, so an export imports back unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from operator import itemgetter
from typing import Any, NamedTuple

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
    def __init__(self, missing: list[str], unknown: list[str]) -> None:
        self.missing = missing
        self.unknown = unknown
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        super().__init__("; ".join(parts))


def map_headers(header_row: list[Any]) -> dict[int, str]:
    """Column index → field. Refuses a sheet whose headers are not the department's."""
    names = [str(h).strip() if h is not None else "" for h in header_row]
    unknown = [n for n in names if n and n not in FIELD_OF_HEADER]
    missing = [h for h in REQUIRED_HEADERS if h not in names]
    if missing or unknown:
        raise HeaderError(missing, unknown)
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
        return value.strip()
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


Span = tuple[dt.date, dt.date | None, str | None]


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
        spans.append((start, end, (m.group(3) or "").strip() or None))
    return spans


def _period_dicts(spans: list[Span]) -> list[dict[str, Any]]:
    return [{"start": s.isoformat(), "end": e.isoformat() if e else None, "unit_name": u} for s, e, u in spans]


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
    for start, end in sorted((s, min(e or today, today)) for s, e, _ in spans if s <= today):
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


class RowValidator:
    """Every rule for one data row: a ``CadreRecord``, or the ``(column, message)`` list.

    ``columns`` maps sheet column → field (``map_headers``); ``first_column`` is the sheet
    column of each row's first cell. Lists and willingness repeat from row to row, so their
    parsed forms are kept per text (one validator per import, so the caches die with it).
    ``today`` is the day grassroots years are counted to.
    """

    def __init__(self, columns: dict[int, str], today: dt.date, first_column: int = 0) -> None:
        position = {field: idx - first_column for idx, field in columns.items()}
        self.width = max(position.values()) + 1
        if len(position) < len(COLUMNS):
            self.width += 1  # a column the sheet lacks reads the padding cell: None
        # one C call hands out the cells in COLUMNS order, instead of a dict per row
        self._cells = itemgetter(*(position.get(field, self.width - 1) for field, _, _ in COLUMNS))
        self.today = today
        self._lists: dict[str, tuple[str, ...]] = {}
        self._willingness: dict[str, tuple[dict[str, bool], list[str]]] = {}

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

        def err(field: str, message: str) -> None:
            errors.append((HEADER_OF_FIELD[field], message))

        name = _text(name_cell)
        if not name:
            err("name", "required")
        elif len(name) > 50 or "\x00" in name:
            err("name", "at most 50 characters, no NUL")

        gender = GENDER_IN.get(_text(gender_cell))
        if gender is None:
            err("gender", "must be 男 or 女")

        birth: dt.date | None = None
        if birth_cell in (None, ""):
            err("birth_date", "required")
        else:
            try:
                birth = parse_date(birth_cell)
                if not _OLDEST <= birth <= _LATEST:
                    raise ValueError("out of range")
            except ValueError as exc:
                err("birth_date", str(exc))
                birth = None

        raw_id = _text(id_cell)
        idn: str | None = None
        if not raw_id:
            err("id_number", "required")
        else:
            try:
                idn = id_numbers.validate(raw_id)
            except id_numbers.InvalidIdNumber as exc:
                err("id_number", str(exc))
        if idn and birth and id_numbers.birth_date_of(idn) != birth:
            err("birth_date", "does not match the birth date in the ID number")
        if idn and gender and id_numbers.gender_of(idn) != gender:
            err("gender", "does not match the sex digit of the ID number")

        unit = _text(unit_cell)
        if not unit:
            err("unit", "required")
        kind_text = _text(unit_kind_cell)
        if kind_text and kind_text not in UNIT_KIND_IN:
            err("unit_kind", "unknown unit kind: " + kind_text)

        texts = []
        for field, cell in (
            ("post_title", post_cell),
            ("rank", rank_cell),
            ("education", education_cell),
            ("professional_field", field_cell),
        ):
            value = _text(cell)
            if len(value) > MAX_TEXT or "\x00" in value:
                err(field, f"at most {MAX_TEXT} characters")
            texts.append(value or None)

        party = _text(party_cell)
        party_member = party in YES
        if not party_member and party not in NO:
            err("party_member", "must be 是 or 否")

        years_of_service = self._years_of_service(yos_cell, err)

        spans: list[Span] = []
        periods_text = _text(periods_cell)
        if periods_text:
            try:
                spans = _spans(periods_text)
            except ValueError as exc:
                err("grassroots_periods", str(exc))

        strengths = self._list(strengths_cell)
        post_wishes = self._list(wishes_cell)
        willingness, unknown_flags = self._flags(willingness_cell)
        if unknown_flags:
            err("willingness", "unknown: " + "、".join(unknown_flags))

        leadership = LEADERSHIP_IN.get(_text(leadership_cell) or "non_leading")
        if leadership is None:
            err("leadership_status", "must be 在职领导, 退二线 or 非领导")

        health = HEALTH_IN.get(_text(health_cell) or "healthy")
        if health is None:
            err("health", "must be 健康, 一般 or 因病免除")

        retirement = None
        if retirement_cell not in (None, ""):
            try:
                retirement = parse_date(retirement_cell)
            except ValueError as exc:
                err("retirement_date", str(exc))

        if errors:
            return None, errors
        assert gender is not None and birth is not None and idn is not None
        assert leadership is not None and health is not None
        spans.sort(key=_start)  # stable: periods that start the same day keep the sheet's order
        record = CadreRecord(
            row_number,
            name,
            gender,
            birth,
            idn,
            unit,
            UNIT_KIND_IN.get(kind_text),
            texts[0],
            texts[1],
            party_member,
            texts[2],
            years_of_service,
            _period_dicts(spans),
            grassroots_years_text(spans, self.today) if spans else "0.0",
            strengths,
            post_wishes,
            texts[3],
            willingness,
            leadership,
            health,
            retirement,
        )
        return record, errors

    @staticmethod
    def _years_of_service(cell: Any, err: Any) -> int | None:
        if type(cell) is float and cell.is_integer() and 0 <= cell <= 70:
            return int(cell)  # a number cell: what the text route below gives, quicker
        text = _text(cell)
        if not text:
            return None
        try:
            n = int(float(text))
            if not 0 <= n <= 70 or float(text) != n:
                raise ValueError
            return n
        except ValueError:
            err("years_of_service", "must be a whole number from 0 to 70")
            return None

    def _list(self, cell: Any) -> tuple[str, ...]:
        if type(cell) is not str:  # only text is kept: 1 and 1.0 are equal keys but read apart
            return tuple(split_list(cell))
        got = self._lists.get(cell)
        if got is None:
            got = self._lists[cell] = tuple(split_list(cell))
        return got

    def _flags(self, cell: Any) -> tuple[dict[str, bool], list[str]]:
        got = self._willingness.get(cell) if type(cell) is str else None
        if got is None:
            flags = split_list(cell)
            chosen = {WILLINGNESS_IN[f] for f in flags if f in WILLINGNESS_IN}
            unknown = [f for f in flags if f not in WILLINGNESS_IN]
            got = ({flag: flag in chosen for flag in WILLINGNESS_FLAGS}, unknown)
            if type(cell) is str:
                self._willingness[cell] = got
        return got


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
