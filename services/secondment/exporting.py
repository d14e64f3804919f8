"""The batch as a spreadsheet (XLSX) for the cadre office's files.

Rows go through the kit's rule (cadrekit.spreadsheets): names and titles that could
evaluate are quoted; ages, days and dates stay number and date cells.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from cadrekit.spreadsheets import append_row
from services.secondment.domain.stats import age_on
from services.secondment.domain.vocabulary import DIRECTION_ZH
from services.secondment.service.context import Context
from services.secondment.service.queries import batch_members

HEADERS = [
    "姓名",
    "方向",
    "派出单位",
    "挂职单位",
    "挂任职务",
    "区域",
    "性别",
    "年龄",
    "党员",
    "状态",
    "开始日期",
    "期满日期",
    "结束日期",
    "结束方式",
    "服务天数",
]
GENDER_ZH = {"male": "男", "female": "女"}


async def export_batch(ctx: Context, batch_id: str) -> bytes:
    async with ctx.uow() as uow:
        batch, rows = await batch_members(uow.session, batch_id)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "挂职干部"
    append_row(ws, HEADERS)
    for x in rows:
        append_row(
            ws,
            [
                x.cadre_name,
                DIRECTION_ZH.get(x.direction, x.direction),
                x.from_unit_name,
                x.to_unit_name,
                x.title_held,
                x.region,
                GENDER_ZH.get(x.gender or "", x.gender),
                age_on(x.birth_date, batch.starts_on) if x.birth_date else None,
                "是" if x.party_member else "否",
                x.state,
                x.starts_on,
                x.ends_on,
                x.ended_on,
                x.end_kind,
                x.days_served,
            ],
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
