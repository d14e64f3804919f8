"""The department's spreadsheet: Chinese headers, cell parsing and per-row validation.

Pure: a row of cell values in, a clean record or a list of ``(column, message)`` out.
Import and export use the same column list, so an export imports back unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

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
_PERIOD = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:至|~|to)\s*(\d{4}-\d{2}-\d{2})?\s*(?:@(.+))?$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
MAX_TEXT = 200
__all__ = ["EXIT_KINDS"]


@dataclass
class RowResult:
    row: int
    record: dict[str, Any] | None
    errors: list[tuple[str, str]]


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
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (use YYYY-MM-DD)")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def parse_periods(value: Any) -> list[dict[str, Any]]:
    text = _text(value)
    if not text:
        return []
    periods = []
    for part in re.split(r"[;；\n]+", text):
        if not part.strip():
            continue
        m = _PERIOD.match(part)
        if not m:
            raise ValueError("periods look like 2010-01-01至2015-06-30@某某镇, separated by ；")
        start = dt.date.fromisoformat(m.group(1))
        end = dt.date.fromisoformat(m.group(2)) if m.group(2) else None
        if end is not None and end < start:
            raise ValueError(f"period ends before it starts: {part.strip()}")
        periods.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat() if end else None,
                "unit_name": (m.group(3) or "").strip() or None,
            }
        )
    return periods


def validate_row(row_number: int, cells: dict[str, Any]) -> RowResult:
    errors: list[tuple[str, str]] = []
    rec: dict[str, Any] = {}

    def err(field: str, message: str) -> None:
        errors.append((HEADER_OF_FIELD[field], message))

    name = _text(cells.get("name"))
    if not name:
        err("name", "required")
    elif len(name) > 50 or "\x00" in name:
        err("name", "at most 50 characters, no NUL")
    rec["name"] = name

    gender = GENDER_IN.get(_text(cells.get("gender")))
    if gender is None:
        err("gender", "must be 男 or 女")
    rec["gender"] = gender

    birth: dt.date | None = None
    raw_birth = cells.get("birth_date")
    if raw_birth in (None, ""):
        err("birth_date", "required")
    else:
        try:
            birth = parse_date(raw_birth)
            if not dt.date(1900, 1, 1) <= birth <= dt.date(2100, 1, 1):
                raise ValueError("out of range")
        except ValueError as exc:
            err("birth_date", str(exc))
            birth = None
    rec["birth_date"] = birth

    raw_id = _text(cells.get("id_number"))
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
    rec["id_number"] = idn

    unit = _text(cells.get("unit"))
    if not unit:
        err("unit", "required")
    rec["unit"] = unit
    kind_text = _text(cells.get("unit_kind"))
    if kind_text and kind_text not in UNIT_KIND_IN:
        err("unit_kind", "unknown unit kind: " + kind_text)
    rec["unit_kind"] = UNIT_KIND_IN.get(kind_text)

    for field in ("post_title", "rank", "education", "professional_field"):
        value = _text(cells.get(field))
        if len(value) > MAX_TEXT or "\x00" in value:
            err(field, f"at most {MAX_TEXT} characters")
        rec[field] = value or None

    party = _text(cells.get("party_member"))
    if party in YES:
        rec["party_member"] = True
    elif party in NO:
        rec["party_member"] = False
    else:
        err("party_member", "must be 是 or 否")

    yos = _text(cells.get("years_of_service"))
    if yos:
        try:
            n = int(float(yos))
            if not 0 <= n <= 70 or float(yos) != n:
                raise ValueError
            rec["years_of_service"] = n
        except ValueError:
            err("years_of_service", "must be a whole number from 0 to 70")
    else:
        rec["years_of_service"] = None

    try:
        rec["grassroots_periods"] = parse_periods(cells.get("grassroots_periods"))
    except ValueError as exc:
        err("grassroots_periods", str(exc))

    rec["strengths"] = split_list(cells.get("strengths"))
    rec["post_wishes"] = split_list(cells.get("post_wishes"))
    flags = split_list(cells.get("willingness"))
    unknown_flags = [f for f in flags if f not in WILLINGNESS_IN]
    if unknown_flags:
        err("willingness", "unknown: " + "、".join(unknown_flags))
    chosen = {WILLINGNESS_IN[f] for f in flags if f in WILLINGNESS_IN}
    rec["willingness"] = {flag: flag in chosen for flag in WILLINGNESS_FLAGS}

    ls = _text(cells.get("leadership_status")) or "non_leading"
    if ls not in LEADERSHIP_IN:
        err("leadership_status", "must be 在职领导, 退二线 or 非领导")
    rec["leadership_status"] = LEADERSHIP_IN.get(ls)

    health = _text(cells.get("health")) or "healthy"
    if health not in HEALTH_IN:
        err("health", "must be 健康, 一般 or 因病免除")
    rec["health"] = HEALTH_IN.get(health)

    raw_ret = cells.get("retirement_date")
    rec["retirement_date"] = None
    if raw_ret not in (None, ""):
        try:
            rec["retirement_date"] = parse_date(raw_ret)
        except ValueError as exc:
            err("retirement_date", str(exc))

    return RowResult(row_number, None if errors else rec, errors)


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
