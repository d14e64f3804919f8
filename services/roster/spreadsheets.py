"""Reading and writing the department's sheets (I/O edge; the rules are in domain/sheet.py, columns.py and cells.py).

python-calamine parses XLSX about ten times faster than openpyxl; openpyxl (write-only)
writes exports and the template, every row through the kit's rule (cadrekit.spreadsheets):
text that could evaluate is quoted, numbers and dates stay typed cells.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from cadrekit.spreadsheets import append_row
from services.roster.domain.cells import is_blank
from services.roster.domain.columns import COLUMNS, HEADERS
from services.roster.domain.instructions import CHOICES, MULTIPLE_CHOICE, column_rows, word_rows

MAX_UNZIPPED = 400 * 1024 * 1024
MAX_RATIO = 150
MAX_TEMPLATE_ROWS = 10_000  # the rows of the data sheet that offer the drop-downs


class UnreadableSheet(ValueError):
    pass


def _check_zip(content: bytes) -> None:
    """Refuse zip bombs before any parser inflates them."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise UnreadableSheet("the file is not a valid XLSX workbook") from exc
    if total > MAX_UNZIPPED or (content and total / max(len(content), 1) > MAX_RATIO):
        raise UnreadableSheet("the workbook inflates to an implausible size (zip bomb?)")


def _decode_csv(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableSheet("the CSV is neither UTF-8 nor GBK/GB18030 text")


@dataclass
class SheetRows:
    """The first sheet (or a CSV): its header row, and its data rows to walk.

    An XLSX's cells stay in calamine's native memory until walked, so an import turns them
    into Python values a chunk at a time instead of holding the whole sheet as lists.
    """

    header: list[Any]
    count: int  # data rows below the header, through the last row that has content
    first_column: int  # the sheet column of the first cell of each walked row
    _walk: Callable[[], Iterator[list[Any]]]

    def rows(self) -> Iterator[list[Any]]:
        """The data rows, top to bottom (sheet row 2 onwards); each call walks them anew."""
        return self._walk()

    def count_exactly(self) -> int:
        """``count`` less trailing rows whose cells are all empty text (one full walk).

        calamine leaves out cells without a value, so ``count`` is exact unless a sheet ends
        in cells holding empty strings; this settles it where that matters.
        """
        last = 0
        for i, row in enumerate(self.rows(), start=1):
            if not is_blank(row):
                last = i
        return last


def open_sheet(filename: str, content: bytes) -> SheetRows:
    """The first sheet of an XLSX workbook, or a CSV file. A blank file has an empty header."""
    name = filename.lower()
    if name.endswith(".csv"):
        return _csv_rows(content)
    if name.endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04":
        _check_zip(content)
        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
            if not wb.sheet_names:
                raise UnreadableSheet("the workbook has no sheets")
            sheet = wb.get_sheet_by_index(0)
            # padded from A1 as the sheet shows it, so column numbers are the sheet's own
            top = sheet.to_python(skip_empty_area=False, nrows=1)
        except UnreadableSheet:
            raise
        except Exception as exc:
            raise UnreadableSheet(f"the file could not be read as a spreadsheet: {type(exc).__name__}") from exc
        return _xlsx_rows(sheet, top[0] if top else [])
    raise UnreadableSheet("upload an .xlsx workbook or a .csv file")


def _xlsx_rows(sheet: Any, header: list[Any]) -> SheetRows:
    start = sheet.start or (0, 0)

    def walk() -> Iterator[list[Any]]:
        rows: Iterator[list[Any]] = sheet.iter_rows()  # from the first row and column holding a value
        if start[0] == 0:
            next(rows, None)  # the header
        return rows

    # With a header in row 1 (the only kind an import accepts) the data rows are the rest.
    return SheetRows(header, max(sheet.height - 1, 0) if start[0] == 0 else sheet.height, start[1], walk)


def _csv_rows(content: bytes) -> SheetRows:
    text = _decode_csv(content)
    if "\x00" in text:
        raise UnreadableSheet("the CSV contains NUL bytes: not a text file")
    rows = list(csv.reader(io.StringIO(text)))
    while rows and is_blank(rows[-1]):
        rows.pop()
    data = rows[1:]
    return SheetRows(rows[0] if rows else [], len(data), 0, lambda: iter(data))


def write_workbook(rows: Iterable[list[Any]], *, title: str = "干部名册") -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    for i, (_, header, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, len(header) * 3)
    append_row(ws, HEADERS)
    for row in rows:
        append_row(ws, row)  # dates as date cells: an import reads them back as dates
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _bold_row(ws: Any, values: list[str]) -> None:
    append_row(ws, values)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)


def _drop_downs(ws: Any) -> None:
    """A drop-down of the labels on each single-choice column. It refuses nothing (the other
    words of 填写说明 are accepted too, and the import checks every cell)."""
    for index, (field, _, _) in enumerate(COLUMNS, start=1):
        if field not in CHOICES or field in MULTIPLE_CHOICE:
            continue
        words = ",".join(c.label for c in CHOICES[field])
        letter = get_column_letter(index)
        rule = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True, showErrorMessage=False)
        rule.add(f"{letter}2:{letter}{MAX_TEMPLATE_ROWS}")
        ws.add_data_validation(rule)


def template() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "干部名册"
    append_row(ws, HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    append_row(
        ws,
        [
            "张三",
            "男",
            "1975-03-08",
            "330482197503081231",  # a valid GB 11643 checksum: the example imports as it stands
            "市委组织部",
            "科长",
            "正科",
            "是",
            "本科",
            25,
            "2001-07-01至2006-06-30@某某镇",
            "招商引资、文字材料",
            "经济管理；城建交通",
            "经济",
            "愿意到镇街；愿意带教",
            "非领导",
            "健康",
            "",
            "市直机关",
        ],
    )
    _drop_downs(ws)
    notes = wb.create_sheet("填写说明")
    _bold_row(notes, ["列名", "是否必填", "填写内容"])
    for row in column_rows():
        append_row(notes, row)
    append_row(notes, [])
    _bold_row(notes, ["列名", "取值", "含义", "可填写的词（任选其一）"])
    for row in word_rows():
        append_row(notes, row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
