"""The balance table as XLSX (openpyxl write-only), one row per shortlisted candidate.

Rows go through the kit's rule (cadrekit.spreadsheets): titles and names that could
evaluate are quoted; the fit and its terms are numbers (the API gives them as decimal
strings such as "-2.00", which as text would read as a formula trigger).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from cadrekit.spreadsheets import append_row
from services.matching.domain.fit import TERM_LABELS_ZH, TERMS
from services.matching.domain.vocabulary import POST_KIND_ZH
from services.matching.schemas.campaigns import BalanceTable

HEADERS = [
    "岗位",
    "类别",
    "性质",
    "职数",
    "填报人数",
    "排名",
    "干部",
    "是否填报该岗",
    "志愿顺位",
    "匹配度",
    *(TERM_LABELS_ZH[t] for t in TERMS),
    "提示",
]


def balance_workbook(table: BalanceTable) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("选配平衡表")
    append_row(ws, HEADERS)
    for post in table.posts:
        flags = "；".join(f.message for f in post.flags)
        head = [
            post.title,
            post.category,
            POST_KIND_ZH.get(post.kind, post.kind),
            post.seats,
            post.applicants,
        ]
        if not post.shortlist:
            append_row(ws, [*head, *([None] * 11), flags])
        for n, row in enumerate(post.shortlist):
            b = row.breakdown
            append_row(
                ws,
                [
                    *head,
                    row.rank,
                    row.name,
                    "是" if row.ranked_post else "否",
                    row.cadre_rank,
                    _number(row.fit),
                    *(_number(b[t]["contribution"]) for t in TERMS),
                    flags if n == 0 else None,
                ],
            )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _number(value: Any) -> Any:
    """A score as a number cell: the table carries them as exact decimal strings."""
    if not isinstance(value, str):
        return value
    try:
        return Decimal(value)
    except ArithmeticError:  # not a number after all: written as (neutralised) text
        return value
