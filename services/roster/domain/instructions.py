"""What the import template's 填写说明 sheet says: every column, and the words each
enumerated column accepts (issue 17, item 9).

The words come from the maps the import parses with (domain/columns.py: ``*_IN``, ``YES``,
``NO``), grouped by the value they mean and labelled with the words the export writes
(``*_OUT``), so the sheet cannot promise a word the import refuses nor leave out one it
takes. tests/roster/unit/test_template_instructions.py imports every word listed through the
column parsers of domain/cells.py, and fails when a column has no note or a ``*_IN`` map is
left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.roster.domain.columns import (
    COLUMNS,
    GENDER_IN,
    GENDER_OUT,
    HEALTH_IN,
    HEALTH_OUT,
    LEADERSHIP_IN,
    LEADERSHIP_OUT,
    NO,
    UNIT_KIND_IN,
    UNIT_KIND_OUT,
    WILLINGNESS_IN,
    WILLINGNESS_OUT,
    YES,
)

BLANK = "（留空）"

# What each column holds, as the department fills it in.
NOTES: dict[str, str] = {
    "name": "干部姓名，不超过50字",
    "gender": "男或女",
    "birth_date": "如 1975-03-08，也可写 1975/03/08、1975.03.08、19750308、1975年03月08日",
    "id_number": "18位公民身份号码，校验位须正确",
    "unit": "所在单位；可写全路径，如 某某区/某某镇/某某村。单位不存在时，勾选“create_units”并填写单位类型即可新建",
    "post_title": "现任职务",
    "rank": "现任职级，如 正科、副处",
    "party_member": "是否中共党员；留空为否",
    "education": "最高学历，如 本科、研究生",
    "years_of_service": "0至70的整数",
    "grassroots_periods": "如 2010-01-01至2015-06-30@某某镇，多段用“；”分隔，未结束的留空结束日期",
    "strengths": "多项用“、”或“；”分隔",
    "post_wishes": "意向岗位，按优先顺序排列，用“、”或“；”分隔",
    "professional_field": "如 经济、法律",
    "willingness": "可多选，用“、”或“；”分隔；留空为均不愿意",
    "leadership_status": "留空为非领导",
    "health": "留空为健康",
    "retirement_date": "留空则按法定退休年龄推算",
    "unit_kind": "新建单位时填写",
}


@dataclass(frozen=True)
class Choice:
    """One value of an enumerated column: the API's value, its label, every word for it."""

    value: str  # "healthy"; "true"/"false" for 中共党员
    label: str
    words: tuple[str, ...]  # "" is a blank cell


def _choice(value: str, label: str, words: Iterable[str]) -> Choice:
    """The label first, then the other Chinese words, the English ones, and a blank last."""
    ordered = sorted(set(words), key=lambda w: (w != label, w == "", w.isascii(), w))
    return Choice(value, label, tuple(ordered))


def _choices(words_in: Mapping[str, str], labels: Mapping[str, str], blank: str | None = None) -> tuple[Choice, ...]:
    grouped: dict[str, list[str]] = {value: [""] if value == blank else [] for value in labels}
    for word, value in words_in.items():
        grouped[value].append(word)
    return tuple(_choice(value, labels[value], words) for value, words in grouped.items())


# field → its values, in the order the export's labels list them
CHOICES: dict[str, tuple[Choice, ...]] = {
    "gender": _choices(GENDER_IN, GENDER_OUT),
    "party_member": (_choice("true", "是", YES), _choice("false", "否", NO)),
    "willingness": _choices(WILLINGNESS_IN, WILLINGNESS_OUT),
    # a blank cell is the import's default (domain/cells.py parse_leadership, parse_health)
    "leadership_status": _choices(LEADERSHIP_IN, LEADERSHIP_OUT, blank="non_leading"),
    "health": _choices(HEALTH_IN, HEALTH_OUT, blank="healthy"),
    "unit_kind": _choices(UNIT_KIND_IN, UNIT_KIND_OUT),
}

# Columns whose cell may name several of its words ("愿意到镇街；愿意带教").
MULTIPLE_CHOICE = frozenset({"willingness"})


def column_rows() -> list[list[str]]:
    """列名 | 是否必填 | 填写内容, one row per column of the sheet."""
    return [[header, "必填" if required else "选填", NOTES[field]] for field, header, required in COLUMNS]


def word_rows() -> list[list[str]]:
    """列名 | 取值 | 含义 | 可填写的词, one row per value of each enumerated column."""
    header_of = {field: header for field, header, _ in COLUMNS}
    return [
        [header_of[field], c.value, c.label, "、".join(w or BLANK for w in c.words)]
        for field, choices in CHOICES.items()
        for c in choices
    ]
