"""The department's spreadsheet cells: text, dates, lists, periods, and one parser per column.

Pure. A column parser returns the value or ``Bad`` (the error message); ``Memo`` keeps a
column's parsed values by cell text (domain/sheet.py's ``RowValidator`` runs them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from cadrekit.dates import impossible_day
from cadrekit.spreadsheets import QUOTE, unquote
from services.roster.domain.columns import (
    GENDER_IN,
    HEALTH_IN,
    LEADERSHIP_IN,
    NO,
    UNIT_KIND_IN,
    WILLINGNESS_FLAGS,
    WILLINGNESS_IN,
    YES,
)

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
_LOOSE_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")
OLDEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 1, 1)
MAX_TEXT = 200


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for padded in _PADDED_DATES:
        m = padded.fullmatch(text)
        if m:
            wrong = impossible_day(int(m[1]), int(m[3]), int(m[4]))
            if wrong:
                # the form is right and names no day: say what is wrong (1962-02-30)
                raise ValueError(f"{wrong[0]} ({wrong[1]})")
            return dt.date(int(m[1]), int(m[3]), int(m[4]))
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    loose = _LOOSE_DATE.fullmatch(text)
    wrong = loose and impossible_day(int(loose[1]), int(loose[2]), int(loose[3]))
    if wrong:
        raise ValueError(f"{wrong[0]} ({wrong[1]})")
    raise ValueError("not a date (use YYYY-MM-DD)")


def text_of(value: Any) -> str:
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
    return [p.strip() for p in _LIST_SPLIT.split(text_of(value)) if p.strip()]


def format_periods(periods: list[dict[str, Any]]) -> str:
    out = []
    for p in periods:
        s = f"{p['start']}至{p.get('end') or ''}"
        if p.get("unit_name"):
            s += f"@{p['unit_name']}"
        out.append(s)
    return "；".join(out)


Span = tuple[dt.date, dt.date | None, str | None, str, str | None]  # start, end, unit, start and end text


def parse_spans(text: str) -> list[Span]:
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


def period_dicts(spans: list[Span]) -> list[dict[str, Any]]:
    return [{"start": s, "end": e, "unit_name": u} for _, _, u, s, e in spans]


def parse_periods(value: Any) -> list[dict[str, Any]]:
    text = text_of(value)
    return period_dicts(parse_spans(text)) if text else []


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
                days += (cur_end - cur_start).days + 1  # both ends are days served
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_start is not None:
        days += (cur_end - cur_start).days + 1  # both ends are days served
    tenths = (days * 80 + 1461) // 2922
    return f"{tenths // 10}.{tenths % 10}"


class Bad(str):
    """What a column parser returns instead of a value: the error message."""


class Memo(dict[str, Any]):
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


def parse_gender(cell: Any) -> Any:
    return GENDER_IN.get(text_of(cell)) or Bad("must be 男 or 女")


def parse_date_cell(cell: Any) -> Any:
    try:
        return parse_date(cell)
    except ValueError as exc:
        return Bad(str(exc))


def parse_birth_date(cell: Any) -> Any:
    if cell in (None, ""):
        return Bad("required")
    birth = parse_date_cell(cell)
    if type(birth) is not Bad and not OLDEST <= birth <= LATEST:
        return Bad("out of range")
    return birth


def parse_retirement_date(cell: Any) -> Any:
    return None if cell in (None, "") else parse_date_cell(cell)


def parse_unit(cell: Any) -> Any:
    return text_of(cell) or Bad("required")


def parse_unit_kind(cell: Any) -> Any:
    text = text_of(cell)
    if text and text not in UNIT_KIND_IN:
        return Bad("unknown unit kind: " + text)
    return UNIT_KIND_IN.get(text)


def parse_short_text(cell: Any) -> Any:
    value = text_of(cell)
    if len(value) > MAX_TEXT or "\x00" in value:
        return Bad(f"at most {MAX_TEXT} characters")
    return value or None


def parse_party_member(cell: Any) -> Any:
    party = text_of(cell)
    if party in YES:
        return True
    return False if party in NO else Bad("must be 是 or 否")


def parse_years_of_service(cell: Any) -> Any:
    text = text_of(cell)
    if not text:
        return None
    try:
        n = int(float(text))
        if not 0 <= n <= 70 or float(text) != n:
            raise ValueError
        return n
    except ValueError:
        return Bad("must be a whole number from 0 to 70")


def parse_list(cell: Any) -> tuple[str, ...]:
    return tuple(split_list(cell))


def parse_willingness(cell: Any) -> Any:
    flags = split_list(cell)
    unknown = [f for f in flags if f not in WILLINGNESS_IN]
    if unknown:
        return Bad("unknown: " + "、".join(unknown))
    chosen = {WILLINGNESS_IN[f] for f in flags}
    return _FLAG_SETS["town" in chosen, "heavy_task" in chosen, "mentor" in chosen]


# every willingness a row can state, built once and shared by the rows that state it
_FLAG_SETS = {
    key: dict(zip(WILLINGNESS_FLAGS, key, strict=True))
    for key in ((a, b, c) for a in (False, True) for b in (False, True) for c in (False, True))
}


def parse_leadership(cell: Any) -> Any:
    return LEADERSHIP_IN.get(text_of(cell) or "non_leading") or Bad("must be 在职领导, 退二线 or 非领导")


def parse_health(cell: Any) -> Any:
    return HEALTH_IN.get(text_of(cell) or "healthy") or Bad("must be 健康, 一般 or 因病免除")


def birth_in_id(digits: str) -> dt.date:
    """``id_numbers.birth_date_of`` from the number's YYYYMMDD digits."""
    return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


SEX_OF_DIGIT = {d: "male" if int(d) % 2 else "female" for d in "0123456789"}
