"""The balance table as XLSX (openpyxl write-only), one row per shortlisted candidate."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from services.matching.domain.fit import TERMS

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
    "工作连续性",
    "个人意愿",
    "人岗相适",
    "年龄照顾",
    "年度积分",
    "成长指数",
    "提示",
]
KIND_ZH = {"standing": "常态化中心工作", "phased": "阶段性重点工作", "training": "练兵岗"}


def balance_workbook(table: dict[str, Any]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("选配平衡表")
    ws.append(HEADERS)
    for post in table["posts"]:
        flags = "；".join(f["message"] for f in post["flags"])
        head = [
            post["title"],
            post["category"],
            KIND_ZH.get(post["kind"], post["kind"]),
            post["seats"],
            post["applicants"],
        ]
        if not post["shortlist"]:
            ws.append([*head, *([None] * 11), flags])
        for n, row in enumerate(post["shortlist"]):
            b = row["breakdown"]
            ws.append(
                [
                    *head,
                    row["rank"],
                    row["name"],
                    "是" if row["ranked_post"] else "否",
                    row["cadre_rank"],
                    row["fit"],
                    *(b[t]["contribution"] for t in TERMS),
                    flags if n == 0 else None,
                ]
            )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
