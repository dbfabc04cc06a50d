"""The CSV and XLSX writers every report and list shares, and the audited download."""
from __future__ import annotations

import csv
import io
import os
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from app.domain.i18n import N_
from app.extensions import db
from app.models import AuditLog
from app.services import exports, reporting
from app.services.reporting import Column, Report, ReportRequest, ReportRequestError
from tests.support import tiny_report

COLUMNS = [Column("name", N_("Borrower"), "text", personal=True), Column("day", N_("Disbursed on"), "date"),
           Column("amount", N_("Principal"), "money"), Column("n", N_("Loans"), "int"),
           Column("rate", N_("Share"), "percent")]


def _report(rows, **kw) -> Report:
    request = ReportRequest(name="loans", as_of=date(2026, 11, 30), date_from=date(2026, 11, 1),
                            date_to=date(2026, 11, 30), office_code="CG")
    return Report("loans", N_("Loans"), request, COLUMNS, rows, **kw)


ROWS = [{"name": "张三", "day": date(2026, 3, 15), "amount": Decimal("15000.00"), "n": 3, "rate": Decimal("12.34")},
        {"name": "=HYPERLINK(\"http://x\")", "day": None, "amount": Decimal("0.10"), "n": 0, "rate": Decimal("0.00")}]


def test_the_workbook_is_typed_with_chinese_headers_the_filters_on_top_and_the_header_frozen(app, tmp_path):
    path = tmp_path / "r.xlsx"
    with app.app_context(), force_locale("zh"):
        n = exports.write(_report(iter(ROWS), totals={"amount": Decimal("15000.10"), "n": 3}), "xlsx", path)
    assert n == 2
    ws = load_workbook(path).active
    values = [tuple(row) for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "贷款"  # the title
    assert values[1][:2] == ("截至日期", exports_date(date(2026, 11, 30)))
    assert ("起始日期", exports_date(date(2026, 11, 1))) == values[2][:2]
    assert values[4][:2] == ("机构", "CG")
    header = next(i for i, row in enumerate(values) if row[0] == "借款人")
    assert values[header][:4] == ("借款人", values[header][1], "本金", "贷款")
    assert ws.freeze_panes == f"A{header + 2}"  # everything above the first data row stays in view
    first = list(ws.iter_rows(min_row=header + 2, max_row=header + 2))[0]
    assert first[0].value == "张三"
    assert first[1].is_date and first[1].value.date() == date(2026, 3, 15) and first[1].number_format == "yyyy-mm-dd"
    assert first[2].data_type == "n" and first[2].value == 15000 and first[2].number_format == "#,##0.00"
    assert first[3].data_type == "n" and first[3].value == 3
    assert first[4].value == pytest.approx(0.1234) and first[4].number_format == "0.00%"
    second = list(ws.iter_rows(min_row=header + 3, max_row=header + 3))[0]
    assert second[0].data_type == "s" and second[0].value.startswith("=")  # text, not a formula
    total = values[header + 3]
    assert total[0] == "合计" and total[2] == pytest.approx(15000.10) and total[3] == 3


def exports_date(day):
    from datetime import datetime
    return datetime(day.year, day.month, day.day)


def test_the_csv_opens_in_excel_with_a_bom_the_filters_and_plain_amounts(app):
    out = io.BytesIO()
    with app.app_context(), force_locale("zh"):
        n = exports.write(_report(iter(ROWS), totals={"amount": Decimal("15000.10")}, notes=[N_("Principal")]),
                          "csv", out)
    data = out.getvalue()
    assert n == 2 and data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["贷款"] and lines[1] == ["截至日期", "2026-11-30"] and ["本金"] in lines
    header = lines.index(["借款人", lines[lines.index([]) + 1][1], "本金", "贷款", lines[lines.index([]) + 1][4]])
    assert lines[header + 1] == ["张三", "2026-03-15", "15000.00", "3", "12.34"]
    assert lines[header + 2][0] == "'=HYPERLINK(\"http://x\")"  # shown as text by a spreadsheet
    assert lines[header + 3][:3] == ["合计", "", "15000.10"]


def test_an_unknown_format_is_refused_in_words():
    with pytest.raises(ReportRequestError) as e:
        exports.check_format("pdf")
    assert e.value.code == "bad_format"


def _stream(n):
    for i in range(n):
        yield {"name": f"借款人{i}", "day": date(2026, 1, 1), "amount": Decimal(i) / 100, "n": i, "rate": Decimal("1.00")}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_are_written_one_by_one_never_held(app, tmp_path, fmt):
    """Ten times the rows take about the same memory: the rows are streamed, not listed."""
    def peak(n):
        tracemalloc.start()
        with app.app_context():
            exports.write(_report(_stream(n)), fmt, tmp_path / f"{n}.{fmt}")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(1_000), peak(10_000)
    assert large < small * 2 + 512 * 1024, (small, large)


def test_the_audited_download_records_who_what_filters_rows_and_format(app, demo, monkeypatch):
    tiny_report.register(monkeypatch)
    with app.app_context(), force_locale("zh"):
        from app.models import User
        director = db.session.get(User, demo["director1"])
        request = reporting.parse("tiny", {"list": "1"}, viewer=director, today=date.today())
        report = reporting.run(director, request)
        path, name, rows = exports.audited_download(director, report, "xlsx", "10.0.0.9")
        try:
            assert name.endswith(".xlsx") and name.startswith("贷款_") and os.path.getsize(path) > 0
            entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "report.exported")).one()
            assert entry.actor_id == demo["director1"] and entry.ip == "10.0.0.9"
            assert entry.detail == {"report": "tiny", "filters": {"as_of": date.today().isoformat(), "list": "1"},
                                    "rows": rows, "format": "xlsx", "personal": True}
        finally:
            os.unlink(path)


def test_a_failing_list_leaves_no_file_and_no_audit_row(app, demo, tmp_path):
    def broken():
        yield ROWS[0]
        raise RuntimeError("the database went away")

    out = tmp_path / "out"
    out.mkdir()
    with app.app_context():
        with pytest.raises(RuntimeError):
            exports.audited_write(None, _report(broken()), "csv", out / "out.csv")
        assert not list(out.iterdir())
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "report.exported")) is None
