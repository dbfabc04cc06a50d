"""Every report and list as a file: CSV (UTF-8 with a BOM, so that Excel in China opens it) or
XLSX (a real workbook: typed numbers and dates, headers in the reader's language, the title, the
as-of date and the filters in the first rows, the header row frozen).

``write(report, fmt, out)`` goes through ``report.rows`` once, row by row: a CSV line or an
openpyxl write-only row (which openpyxl itself spools to a temporary file), never a list of all
rows, so a million-row arrears list takes the memory of one row. ``audited_download`` writes to a
temporary file, then records ``report.exported`` (who, which report, its filters, the rows, the
format) and commits: a download that failed half-way is neither sent nor recorded.

Any list may be exported by wrapping it in a ``reporting.Report`` (the name is free for lists that
are not in the registry: "loans", "search", "statement"…).
"""
from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from app.domain.i18n import N_
from app.extensions import db
from app.models import User
from app.services import audit
from app.services.reporting import Column, Report, ReportRequest, ReportRequestError, filters_shown

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8" to every text/* type (given here, it came twice)
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
TOTAL = N_("Total")
# The words of the rows above the table (the filters' keys as ``reporting.filters_shown`` gives them).
FILTER_LABELS = {
    "as_of": N_("As of"), "from": N_("From"), "to": N_("To"), "by": N_("Breakdown"),
    "office": N_("Office"), "officer": N_("Officer"), "product": N_("Product"),
}
BY_LABELS = {"office": N_("Office"), "branch": N_("Branch"), "officer": N_("Officer"), "product": N_("Product"),
             "month": N_("Month")}  # month: the pipeline report's breakdown
NUMBER_FORMATS = {"int": "#,##0", "days": "0", "hours": "0.0", "money": "#,##0.00", "percent": "0.00%", "date": "yyyy-mm-dd"}
# A cell a spreadsheet would take for a formula (=, +, -, @; a tab or carriage return before one).
_FORMULA_LIKE = re.compile(r"^[=+\-@\t\r]")

Translate = Callable[[str], str]


def _default_translate(message: str) -> str:
    from flask_babel import gettext  # the reader's language in a request; "zh" under force_locale

    try:
        return gettext(message)
    except RuntimeError:  # outside an application context: the English source
        return message


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ReportRequestError("bad_format", N_("A report downloads as CSV or XLSX."))
    return fmt


def preamble(report: Report, translate: Translate) -> list[list[str]]:
    """The lines above the table: the title, the as-of date and filters, the notes."""
    lines = [[translate(report.title)]]
    for key, value in filters_shown(report.request).items():
        shown = translate(BY_LABELS[value]) if key == "by" and value in BY_LABELS else value
        lines.append([translate(FILTER_LABELS.get(key, key)), shown])
    lines.extend([translate(note)] for note in report.notes)
    return lines


def headers(report: Report, translate: Translate) -> list[str]:
    return [translate(column.label) for column in report.columns]


def totals_row(report: Report) -> tuple[list[Any], int] | None:
    """The totals under the table in the columns they belong to, and where the word "Total" goes
    (the first column without a total), or None when no column has a total."""
    if not report.totals:
        return None
    row: list[Any] = [report.totals.get(column.key) for column in report.columns]
    if not any(value is not None for value in row):
        return None
    label_at = next((i for i, value in enumerate(row) if value is None), -1)
    return row, label_at


def write(report: Report, fmt: str, out: IO[bytes] | str | os.PathLike, *,
          translate: Translate | None = None) -> int:
    """Write ``report`` as CSV or XLSX to ``out`` (a path or a binary file); return the rows written."""
    check_format(fmt)
    translate = translate or _default_translate
    if fmt == "csv":
        if isinstance(out, (str, os.PathLike)):
            with open(out, "wb") as f:
                return _write_csv(report, f, translate)
        return _write_csv(report, out, translate)
    return _write_xlsx(report, out, translate)


# --- CSV ---------------------------------------------------------------------------------------------


def _csv_value(column: Column, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01'))}" if column.kind in ("money", "percent") else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str) and _FORMULA_LIKE.match(value):
        return "'" + value  # shown as text, never run as a formula
    return value


def _write_csv(report: Report, f: IO[bytes], translate: Translate) -> int:
    import io

    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    try:
        w = csv.writer(text)
        for line in preamble(report, translate):
            w.writerow(line)
        w.writerow([])
        w.writerow(headers(report, translate))
        columns = report.columns
        n = 0
        for row in report.rows:
            w.writerow([_csv_value(c, row.get(c.key)) for c in columns])
            n += 1
        total = totals_row(report)
        if total is not None:
            values, label_at = total
            w.writerow([translate(TOTAL) if i == label_at else _csv_value(c, v)
                        for i, (c, v) in enumerate(zip(columns, values))])
        text.flush()
    finally:
        text.detach()  # leave the caller's file open
    return n


# --- XLSX --------------------------------------------------------------------------------------------

_WIDTHS = {"text": 16, "int": 10, "days": 8, "hours": 8, "money": 16, "percent": 10, "date": 12}


def _xlsx_cell(ws, column: Column, value: Any, bold: bool = False):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    if column.kind == "percent" and isinstance(value, (Decimal, int)):
        value = Decimal(value) / 100  # 12.34 (per cent) is the number 0.1234 shown as 12.34%
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, never a formula Excel would evaluate (=, +, -, @)
    elif column.kind in NUMBER_FORMATS:
        cell.number_format = NUMBER_FORMATS[column.kind]
    if bold:
        cell.font = Font(bold=True)
    return cell


def _write_xlsx(report: Report, out, translate: Translate) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    title = translate(report.title)
    ws = wb.create_sheet(re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or report.name)
    columns = report.columns
    for i, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(_WIDTHS.get(column.kind, 14),
                                                               len(translate(column.label)) * 2 + 2)
    lines = preamble(report, translate)
    header_row = len(lines) + 2
    # Rows above the header and the header itself stay in view while scrolling.
    ws.freeze_panes = f"A{header_row + 1}"
    for k, line in enumerate(lines):
        cells = []
        for j, value in enumerate(line):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            if k == 0 and j == 0:
                cell.font = Font(bold=True, size=14)
            cells.append(cell)
        if k > 0 and len(line) == 2 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", line[1] or ""):
            cells[1] = WriteOnlyCell(ws, value=date.fromisoformat(line[1]))
            cells[1].number_format = "yyyy-mm-dd"
        ws.append(cells)
    ws.append([])
    header_cells = []
    for label in headers(report, translate):
        cell = WriteOnlyCell(ws, value=label)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)
    # One styled cell per column, given each row's value in turn: openpyxl writes a row out as it
    # is appended, and a new styled cell per value costs ten times the time.
    cells = [_xlsx_cell(ws, c, None) for c in columns]
    keyed = list(zip(columns, cells))
    n = 0
    for row in report.rows:
        line = []
        for column, cell in keyed:
            value = row.get(column.key)
            if value is None:
                line.append(None)
                continue
            if column.kind == "percent" and isinstance(value, (Decimal, int)):
                value = Decimal(value) / 100
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula Excel would evaluate (=, +, -, @)
            line.append(cell)
        ws.append(line)
        n += 1
    total = totals_row(report)
    if total is not None:
        values, label_at = total
        ws.append([_text_cell(ws, translate(TOTAL), bold=True) if i == label_at else _xlsx_cell(ws, c, v, bold=True)
                   for i, (c, v) in enumerate(zip(columns, values))])
    wb.save(out)
    return n


def _text_cell(ws, value: str, bold: bool = False):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


# --- the audited download ----------------------------------------------------------------------------


def file_name(report: Report, fmt: str, translate: Translate | None = None) -> str:
    """``<title>_<as of>.<fmt>`` in the reader's language, e.g. ``风险贷款_2026-11-30.xlsx``."""
    title = (translate or _default_translate)(report.title)
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", title).strip("_") or report.name
    return f"{safe}_{report.as_of.isoformat()}.{fmt}"


def audited_write(viewer: User | None, report: Report, fmt: str, out_path: str | os.PathLike, *,
                  ip: str = "", translate: Translate | None = None,
                  writer: Callable[[Report, IO[bytes]], int] | None = None) -> int:
    """Write the file to ``out_path`` (replaced only when complete), then record ``report.exported``
    and commit. ``writer`` writes another format (the command line's JSON) the same audited way."""
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=f".{fmt}", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            rows = writer(report, f) if writer else write(report, fmt, f, translate=translate)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        db.session.rollback()
        raise
    record(viewer, report, fmt, rows, ip=ip)
    return rows


def record(viewer: User | None, report: Report, fmt: str, rows: int, *, ip: str = "") -> None:
    audit.record("report.exported", actor_id=viewer.id if viewer is not None else None, object_type="report",
                 ip=ip, report=report.name, filters=filters_shown(report.request), rows=rows, format=fmt,
                 personal=report.personal)
    db.session.commit()


def audited_download(viewer: User | None, report: Report, fmt: str, ip: str = "", *,
                     translate: Translate | None = None) -> tuple[str, str, int]:
    """Write ``report`` to a temporary file, audit the export, commit; return (path, file name, rows).
    The caller sends the file and deletes it (app/web/reports.py ``send_export``)."""
    check_format(fmt)
    fd, tmp = tempfile.mkstemp(prefix="report-", suffix=f".{fmt}")
    os.close(fd)
    try:
        rows = audited_write(viewer, report, fmt, tmp, ip=ip, translate=translate)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp, file_name(report, fmt, translate), rows


def list_report(name: str, title: str, request, columns: list[Column], rows: Iterable[dict[str, Any]],
                notes: list[str] | None = None) -> Report:
    """A list (not a registered report) in the shape ``write`` takes."""
    return Report(name=name, title=title, request=request, columns=columns, rows=rows, notes=list(notes or []))


# --- lists that are not registered reports --------------------------------------------------------


def loans_report(viewer: User, as_of: date) -> Report:
    """The loans list (/loans) as a report: every loan in the viewer's reach (not only the 200 the
    page shows), the most days past due first, streamed from the database."""
    from sqlalchemy import BigInteger, func, select, type_coerce

    from app.domain.repayment import CLASS_LABELS
    from app.models import Borrower, Installment, Loan, Office, Product
    from app.services import reporting

    outstanding = (select(Installment.loan_id.label("loan_id"),
                          func.sum(type_coerce(Installment.principal_due, BigInteger)
                                   - type_coerce(Installment.principal_paid, BigInteger)).label("fen"))
                   .group_by(Installment.loan_id).subquery())
    q = (select(Loan.contract_no, Loan.id, Borrower.name, Office.name, User.full_name, Product.name,
                type_coerce(Loan.principal, BigInteger), Loan.disbursed_on, Loan.maturity_date, Loan.status,
                func.coalesce(outstanding.c.fen, 0), Loan.days_past_due, Loan.classification)
         .join(Borrower, Borrower.id == Loan.borrower_id).join(Office, Office.id == Loan.office_id)
         .join(User, User.id == Loan.officer_id).join(Product, Product.id == Loan.product_id)
         .outerjoin(outstanding, outstanding.c.loan_id == Loan.id)
         .where(reporting.reach(viewer, Loan)).order_by(Loan.days_past_due.desc(), Loan.id.desc()))
    statuses = {"active": N_("Active"), "closed": N_("Closed"), "written_off": N_("Written off")}

    def rows():
        for (contract, loan_id, borrower, office, officer, product, fen, disbursed, maturity, status, left,
             dpd, klass) in db.session.execute(q).yield_per(2000):
            yield {"contract_no": contract or f"#{loan_id}", "borrower": borrower, "office": office,
                   "officer": officer, "product": product, "principal": reporting.fen_to_yuan(fen),
                   "disbursed_on": disbursed, "maturity_date": maturity,
                   "status": _default_translate(statuses.get(status, status)),
                   "outstanding_principal": reporting.fen_to_yuan(left), "days_past_due": dpd,
                   "classification": _default_translate(CLASS_LABELS.get(klass, klass))}

    columns = [Column("contract_no", N_("Loan number")), Column("borrower", N_("Borrower"), personal=True),
               Column("office", N_("Office")), Column("officer", N_("Officer")), Column("product", N_("Product")),
               Column("principal", N_("Principal"), "money"), Column("disbursed_on", N_("Disbursed on"), "date"),
               Column("maturity_date", N_("Maturity date"), "date"), Column("status", N_("Status")),
               Column("outstanding_principal", N_("Outstanding principal"), "money"),
               Column("days_past_due", N_("Days past due"), "days"),
               Column("classification", N_("Loan class"))]
    request = ReportRequest(name="loans", as_of=as_of)
    return Report("loans", N_("Loans"), request, columns, rows())
