"""The book's workbook reader (app/services/book_xlsx.py) gives what openpyxl's read-only mode gives."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from app.services import book_xlsx


def _openpyxl(path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [_trim(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def _trim(row) -> tuple:
    row = tuple(row)
    while row and row[-1] is None:
        row = row[:-1]
    return row


def _ours(path) -> dict[str, list[tuple]]:
    return {name: [_trim(r) for r in rows] for name, rows in book_xlsx.sheets(path).items()}


def _write(path, write_only: bool, date1904: bool = False):
    wb = Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    if date1904:
        wb.epoch = __import__("openpyxl").utils.datetime.CALENDAR_MAC_1904
    a = wb.create_sheet("借款人")
    a.append(["身份证号", "金额", "日期", "是", None, "末"])
    a.append(["51010219780312131X", 1234.5, date(2025, 3, 10), True, None, "x"])
    a.append([12000, 0.30000000000000004, datetime(2025, 3, 10, 8, 30), False, Decimal("6000.50"), 1e-7])
    if not write_only:
        a.append([])
        a.append([None, None, "2025-03-10"])
        a["B8"] = "gap"  # rows 6 and 7 left out of the file
        a["A9"] = CellRichText(["红星", TextBlock(InlineFont(b=True), "村")])
        a["C9"] = "=1+1"
        a["D9"] = 45726
        a["E9"].number_format = "yyyy年m月d日"
        a["E9"] = 45726
    b = wb.create_sheet("还款")
    for i in range(3000):
        b.append([f"L-{i}", i, i / 8, "现金"])
    wb.save(path)


def test_the_same_values_as_openpyxl(tmp_path):
    for write_only in (False, True):
        for date1904 in (False, True):
            path = tmp_path / f"w{write_only}{date1904}.xlsx"
            _write(path, write_only, date1904)
            assert _ours(path) == _openpyxl(path)


def test_row_numbers_follow_the_sheet_when_rows_are_left_out(tmp_path):
    path = tmp_path / "w.xlsx"
    _write(path, False)
    rows = list(book_xlsx.sheets(path)["借款人"])
    assert _trim(rows[7]) == (None, "gap") and _trim(rows[8])[0] == "红星村"
    assert rows[8][4] == datetime(2025, 3, 10)  # a Chinese date format is a date


def test_not_a_workbook(tmp_path):
    import pytest

    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(book_xlsx.NotAWorkbook):
        book_xlsx.sheets(path)
