"""The department's spreadsheet columns: Chinese headers and the words its cells use.

Pure. Import and export use the same column list, so an export imports back unchanged.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

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
UNIT_KIND_OUT = {
    "city": "市级",
    "district": "区县",
    "city_organ": "市直机关",
    "district_organ": "区直机关",
    "town": "镇街",
    "village": "村社区",
    "enterprise": "国企",
    "institution": "事业单位",
}


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
