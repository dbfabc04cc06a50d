"""Importing an existing book and exporting it (issue 13): every refusal, all-or-nothing, idempotence,
the same loan as one disbursed here, and the round trip — on SQLite and MariaDB."""
from __future__ import annotations

import json
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.domain import book as dbook
from app.domain.idcard import check_digit
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Installment, Loan, Repayment, Transition, User
from app.services import book, jobs
from app.services import loans as loan_service

DAY = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)


def idno(body17: str) -> str:
    return body17 + check_digit(body17)


ID1, ID2 = idno("51010219780312131"), idno("51010219850702252")
BORROWERS = [
    [ID1, "张大山", "13800138000", "红星村", "城关镇", "平安县", "红星村3组", 104.08, 30.67, "officer1"],
    [ID2, "李小河", None, "石桥村", "河口乡", "平安县", "石桥村1组", None, None, "officer3"],
]
LOANS = [
    ["OLD-001", ID1, "XYD", 12000, 0.096, 12, "annuity", date(2025, 3, 10), date(2026, 3, 10), "officer1", "CG"],
    ["OLD-002", ID2, "XYD", "6000.50", "0.12", 6, "equal_principal", "2025-06-01", "2025-12-01", "officer3", "河口办事处"],
]
REPAYMENTS = [
    ["OLD-001", date(2025, 4, 10), 1052.18, "现金", "R-1"],
    ["OLD-001", date(2025, 5, 12), 1052.18, "bank_transfer", "R-2"],
    ["OLD-002", "2025-07-01", 1060.09, "移动支付", "R-3"],
]


def write_book(path: Path, borrowers=BORROWERS, loans=LOANS, repayments=REPAYMENTS, *, drop_sheet=None,
               drop_column=None) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, rows in ((dbook.BORROWERS, borrowers), (dbook.LOANS, loans), (dbook.REPAYMENTS, repayments)):
        if sheet == drop_sheet:
            continue
        ws = wb.create_sheet(sheet)
        columns = list(dbook.COLUMNS[sheet])
        keep = [i for i, c in enumerate(columns) if (sheet, c) != drop_column]
        ws.append([columns[i] for i in keep])
        for row in rows:
            ws.append([row[i] for i in keep])
    wb.save(path)
    return path


def _admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def _run(path: Path, dry_run: bool = False, today: date = DAY, **kw) -> book.Summary:
    return book.run(path, user=_admin(), today=today, now=NOW, dry_run=dry_run, **kw)


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Borrower, Application, Transition, Loan, Installment, Repayment, AuditLog))


def test_a_valid_book_is_imported_with_its_summary_and_audit(app, demo, tmp_path):
    with app.app_context():
        before = _counts()
        s = _run(write_book(tmp_path / "b.xlsx"))
        assert s.errors == [] and s.written
        assert (s.borrowers, s.loans, s.repayments) == (2, 2, 3)
        assert (s.new_borrowers, s.new_loans, s.new_repayments) == (2, 2, 3)
        loan = db.session.scalar(select(Loan).where(Loan.contract_no == "OLD-002"))
        assert loan.principal == Decimal("6000.50") and loan.annual_rate == Decimal("0.12")
        assert loan.application.state == "disbursed" and "导入" in loan.application.transitions[0].comment
        assert loan.office.code == "HK" and loan.borrower.township == "河口乡" and loan.borrower.county == "平安县"
        assert s.past_due_loans == 2  # neither is paid up by 2026-01-15
        assert s.outstanding_principal == sum(
            (i.principal_due - i.principal_paid for i in db.session.scalars(select(Installment))
             if i.loan.contract_no.startswith("OLD")), Decimal("0"))
        audit_row = db.session.scalar(select(AuditLog).where(AuditLog.action == "book.import"))
        assert audit_row.object_type == "import" and audit_row.detail["after"]["sha256"] == s.sha256
        assert audit_row.detail["after"]["new_loans"] == 2
        assert _counts()[3] == before[3] + 2
        # The books took the imported loans in with their opening balances: they reconcile.
        from app.services import ledger_loans

        assert audit_row.detail["after"]["opened_in_books"] == 2
        recon = ledger_loans.reconcile()
        assert recon.ok, recon.differences
        assert all(loan.in_books for loan in db.session.scalars(select(Loan)))


def test_importing_the_same_book_twice_creates_nothing_new(app, demo, tmp_path):
    with app.app_context():
        path = write_book(tmp_path / "b.xlsx")
        _run(path)
        once = _counts()
        s = _run(path)
        assert s.errors == [] and (s.new_borrowers, s.new_loans, s.new_repayments) == (0, 0, 0)
        assert _counts()[:6] == once[:6]


def test_a_dry_run_reports_and_writes_nothing(app, demo, tmp_path):
    with app.app_context():
        before = _counts()
        s = _run(write_book(tmp_path / "b.xlsx"), dry_run=True)
        assert s.errors == [] and not s.written and s.loans == 2
        assert _counts() == before


BAD_ID = ID1[:17] + ("0" if ID1[17] != "0" else "1")


@pytest.mark.parametrize("change,where", [
    (lambda b, l, r: b[0].__setitem__(0, BAD_ID), (dbook.BORROWERS, 2, "身份证号")),
    (lambda b, l, r: b[1].__setitem__(9, "nobody"), (dbook.BORROWERS, 3, "客户经理")),
    (lambda b, l, r: l[0].__setitem__(9, "cashier1"), (dbook.LOANS, 2, "客户经理")),
    (lambda b, l, r: r[2].__setitem__(1, "2025-05-31"), (dbook.REPAYMENTS, 4, "还款日期")),
    (lambda b, l, r: l[1].__setitem__(3, "6000.505"), (dbook.LOANS, 3, "本金")),
    (lambda b, l, r: l[0].__setitem__(3, 12000.125), (dbook.LOANS, 2, "本金")),
    (lambda b, l, r: r[0].__setitem__(2, 1052.181), (dbook.REPAYMENTS, 2, "金额")),
    (lambda b, l, r: l[0].__setitem__(4, 0.37), (dbook.LOANS, 2, "年利率")),
    (lambda b, l, r: l[0].__setitem__(2, "NOPE"), (dbook.LOANS, 2, "产品")),
    (lambda b, l, r: l[1].__setitem__(10, "月球办事处"), (dbook.LOANS, 3, "办事处")),
    (lambda b, l, r: l[0].__setitem__(8, date(2026, 3, 11)), (dbook.LOANS, 2, "到期日")),
    (lambda b, l, r: r[1].__setitem__(0, "OLD-404"), (dbook.REPAYMENTS, 3, "贷款编号")),
    (lambda b, l, r: r[1].__setitem__(4, "R-1"), (dbook.REPAYMENTS, 3, "凭证号")),
    (lambda b, l, r: r[1].__setitem__(3, "cheque"), (dbook.REPAYMENTS, 3, "渠道")),
    (lambda b, l, r: l[1].__setitem__(0, "OLD-001"), (dbook.LOANS, 3, "贷款编号")),
    (lambda b, l, r: l[0].__setitem__(7, "10/03/2025"), (dbook.LOANS, 2, "放款日期")),
])
def test_each_bad_cell_is_named_by_sheet_row_and_column_and_nothing_is_written(app, demo, tmp_path, change, where):
    b, l, r = [list(x) for x in BORROWERS], [list(x) for x in LOANS], [list(x) for x in REPAYMENTS]
    change(b, l, r)
    with app.app_context():
        before = _counts()
        s = _run(write_book(tmp_path / "b.xlsx", b, l, r))
        assert where in [(e.sheet, e.row, e.column) for e in s.errors], s.errors
        assert not s.written and _counts() == before


def test_every_problem_is_reported_at_once(app, demo, tmp_path):
    b, l, r = [list(x) for x in BORROWERS], [list(x) for x in LOANS], [list(x) for x in REPAYMENTS]
    b[0][0], b[1][9], l[1][3], r[2][1] = BAD_ID, "nobody", "1.001", "2025-05-31"
    with app.app_context():
        s = _run(write_book(tmp_path / "b.xlsx", b, l, r))
        got = {(e.sheet, e.row, e.column) for e in s.errors}
        assert {(dbook.BORROWERS, 2, "身份证号"), (dbook.BORROWERS, 3, "客户经理"), (dbook.LOANS, 3, "本金"),
                (dbook.REPAYMENTS, 4, "还款日期")} <= got


@pytest.mark.parametrize("kw,where", [
    ({"drop_sheet": dbook.LOANS}, (dbook.LOANS, None, None)),
    ({"drop_column": (dbook.REPAYMENTS, "凭证号")}, (dbook.REPAYMENTS, 1, "凭证号")),
    ({"drop_column": (dbook.BORROWERS, "姓名")}, (dbook.BORROWERS, 1, "姓名")),
])
def test_a_missing_sheet_or_column_is_named(app, demo, tmp_path, kw, where):
    with app.app_context():
        before = _counts()
        s = _run(write_book(tmp_path / "b.xlsx", **kw))
        assert where in [(e.sheet, e.row, e.column) for e in s.errors]
        assert not s.written and _counts() == before


def test_a_file_that_is_not_a_workbook_or_too_big_is_refused_unread(app, demo, tmp_path):
    with app.app_context():
        before = _counts()
        text = tmp_path / "b.xlsx"
        text.write_text("身份证号,姓名\n", encoding="utf-8")
        with pytest.raises(book.BookRefused) as refused:
            _run(text)
        assert refused.value.code == "book_not_workbook"
        other_zip = tmp_path / "z.xlsx"
        with zipfile.ZipFile(other_zip, "w") as z:
            z.writestr("hello.txt", "not a workbook")
        with pytest.raises(book.BookRefused) as refused:
            _run(other_zip)
        assert refused.value.code == "book_not_workbook"
        big = write_book(tmp_path / "big.xlsx")
        with pytest.raises(book.BookRefused) as refused:
            _run(big, max_bytes=big.stat().st_size - 1)
        assert refused.value.code == "book_too_big"
        assert _counts() == before


def _snapshot(contract_no: str) -> tuple:
    loan = db.session.scalar(select(Loan).where(Loan.contract_no == contract_no))
    db.session.refresh(loan)
    inst = [(i.seq, i.due_date, i.principal_due, i.interest_due, i.principal_paid, i.interest_paid, i.penalty_accrued,
             i.penalty_paid, i.penalty_basis, i.paid_off_on) for i in loan.installments]
    reps = [(r.paid_on, r.amount, r.reference, r.allocation) for r in loan.repayments]
    facts = (loan.principal, loan.annual_rate, loan.maturity_date, loan.status, loan.days_past_due,
             loan.classification, loan.accrued_through, loan.closed_on, loan.penalty_rate)
    return inst, reps, facts


def test_an_imported_loan_is_the_same_as_one_disbursed_and_repaid_here(app, demo, tmp_path):
    """钱七's 15,000 (credit product: annuity, 9.6 %) disbursed, two repayments (one late, one part),
    then the daily job — and the same book imported as OLD-9: the same installments and allocations."""
    with app.app_context():
        from tests.integration.test_loans import LOAN_SETTINGS, _pay, _qian

        start = date(2025, 6, 15)
        application = _qian()
        for t in application.transitions:
            t.at = datetime(2025, 6, 1, tzinfo=timezone.utc)
        form = loan_service.DisbursementForm(amount="15000", disbursed_on=start.isoformat(), channel="cash", reference="")
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        here = loan_service.disburse(application, form, cashier, today=start, now=NOW,
                                     settings=loan_service.LoanSettings(backdate_max_days=400))
        db.session.commit()
        _pay(here, "1312.50", date(2025, 7, 20), "P-1")
        _pay(here, "500", date(2025, 9, 1), "P-2")
        jobs.run_daily(DAY)
        id_number = here.borrower.id_number
        book_path = write_book(
            tmp_path / "b.xlsx", borrowers=[],
            loans=[["OLD-9", id_number, "XYD", 15000, 0.096, 12, "annuity", start, here.maturity_date, "officer3", "HK"]],
            repayments=[["OLD-9", date(2025, 7, 20), 1312.5, "cash", "P-1"], ["OLD-9", date(2025, 9, 1), 500, "cash", "P-2"]])
        s = _run(book_path)
        assert s.errors == [] and s.new_loans == 1
        jobs.run_daily(DAY)
        mine, theirs = _snapshot(here.contract_no), _snapshot("OLD-9")
        assert mine == theirs
        assert theirs[2][4] > 0  # past due: the comparison covers penalty and arrears
        assert LOAN_SETTINGS is not None


def _book_rows(path: Path, today: date) -> dict[str, list[tuple]]:
    """A workbook as its typed records (what import reads), order kept."""
    parsed = book.read(path, today)
    assert parsed.errors == []
    return {"b": [(b.id_number, b.name, b.phone, b.village, b.township, b.county, b.address, b.lon, b.lat, b.officer)
                  for b in parsed.borrowers],
            "l": [(x.loan_no, x.id_number, x.product, x.principal, x.annual_rate, x.term_months, x.method,
                   x.disbursed_on, x.maturity_date, x.officer, x.office) for x in parsed.loans],
            "r": [(x.loan_no, x.paid_on, x.amount, x.channel, x.reference) for x in parsed.repayments]}


def test_round_trip_export_of_an_import_is_the_book_and_import_of_an_export_is_the_identity(app, demo, tmp_path):
    from app import clock

    today = clock.business_today()
    with app.app_context():
        original = write_book(tmp_path / "b.xlsx", loans=[LOANS[0], [*LOANS[1][:10], "HK"]])
        _run(original, today=today)
        exported = tmp_path / "out.xlsx"
        book.export(exported)
        rows = _book_rows(exported, today)
        orig = _book_rows(original, today)
        # The export holds the whole book (the demo's borrowers and loan too); the imported part is unchanged.
        assert [b for b in rows["b"] if b[0] in (ID1, ID2)] == orig["b"]
        assert [x for x in rows["l"] if x[0].startswith("OLD")] == orig["l"]
        assert [x for x in rows["r"] if x[0].startswith("OLD")] == orig["r"]
        wb = load_workbook(exported, read_only=True)
        assert wb.sheetnames == [dbook.BORROWERS, dbook.LOANS, dbook.REPAYMENTS]
        wb.close()
        # import(export(database)) on the same database: nothing new, nothing changed.
        snaps = {no: _snapshot(no) for no in db.session.scalars(select(Loan.contract_no))}
        before = _counts()
        s = _run(exported, today=today)
        assert s.errors == [] and (s.new_borrowers, s.new_loans, s.new_repayments) == (0, 0, 0)
        assert _counts()[:6] == before[:6]
        assert {no: _snapshot(no) for no in snaps} == snaps
        # ... and into an empty book: the same loans, figure for figure.
        imported = {no: snaps[no] for no in snaps if no.startswith("OLD")}
        _delete_loans_and_borrowers()
        s = _run(exported, today=today)
        assert s.errors == [], s.errors
        jobs.run_daily(today)
        again = tmp_path / "again.xlsx"
        book.export(again)
        assert _book_rows(again, today) == rows
        assert {no: _snapshot(no) for no in imported} == imported


def test_a_field_collection_is_exported_as_cash_so_the_export_reads_back_in(app, demo, tmp_path):
    # Field collections are recorded with the internal channel "field", which no book knows.
    from sqlalchemy import update

    from app import clock

    today = clock.business_today()
    with app.app_context():
        _run(write_book(tmp_path / "b.xlsx"), today=today)
        first = db.session.scalars(select(Repayment).order_by(Repayment.id)).first()
        db.session.execute(update(Repayment).where(Repayment.id == first.id).values(channel="field"))
        db.session.commit()
        exported = tmp_path / "out.xlsx"
        book.export(exported)
        parsed = book.read(exported, today)
        assert parsed.errors == []
        channels = {x.channel for x in parsed.repayments}
        assert "field" not in channels and "cash" in channels


def _delete_loans_and_borrowers() -> None:
    from sqlalchemy import delete

    from app.models import (BureauQuery, FollowUpTask, Guarantee, HouseholdSurvey, Notification, Photo, PreApproval,
                            SmsMessage)
    # Whatever refers to a borrower goes first: the village campaign's households and white list too.
    for model in (SmsMessage, FollowUpTask, Repayment, Installment, Loan, Notification, Guarantee, BureauQuery, Photo,
                  Transition, Application, PreApproval, HouseholdSurvey, Borrower):
        db.session.execute(delete(model))
    db.session.commit()


def test_cli_json_and_exit_code(app, demo, tmp_path):
    runner = app.test_cli_runner()
    good = write_book(tmp_path / "good.xlsx")
    result = runner.invoke(args=["import", "book", str(good), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"borrowers", "loans", "repayments", "outstanding_principal", "past_due_loans", "errors"}
    assert (out["borrowers"], out["loans"], out["repayments"], out["errors"]) == (2, 2, 3, [])
    b = [list(x) for x in BORROWERS]
    b[0][0] = BAD_ID
    bad = write_book(tmp_path / "bad.xlsx", borrowers=b)
    result = runner.invoke(args=["import", "book", str(bad), "--json"])
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    assert {"sheet": "借款人", "row": 2, "column": "身份证号", "message": "校验码不符，请重新核对号码"} in errors or \
        any(e["sheet"] == "借款人" and e["row"] == 2 and e["column"] == "身份证号" and "校验" in e["message"] for e in errors)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.contract_no.like("OLD%"))) == 0
    result = runner.invoke(args=["import", "book", str(good)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.contract_no.like("OLD%"))) == 2
    out_file = tmp_path / "export.xlsx"
    result = runner.invoke(args=["export", "book", str(out_file)])
    assert result.exit_code == 0 and out_file.exists()


def test_rows_sent_in_many_chunks_keep_their_references_in_order(app, demo, tmp_path, monkeypatch):
    """Installments fill their chunk before the loans they point at: the loans must go in first."""
    monkeypatch.setattr(book, "CHUNK", 3)
    with app.app_context():
        s = _run(write_book(tmp_path / "b.xlsx"))
        assert s.errors == [] and s.written
        assert db.session.scalar(select(func.count()).select_from(Installment).join(Loan)
                                 .where(Loan.contract_no.like("OLD%"))) == 18


def test_a_later_book_adds_only_its_new_repayments_and_the_loan_is_as_if_imported_whole(app, demo, tmp_path):
    with app.app_context():
        _run(write_book(tmp_path / "first.xlsx", repayments=[REPAYMENTS[0], REPAYMENTS[2]]))
        s = _run(write_book(tmp_path / "all.xlsx"))
        assert s.errors == [] and (s.new_loans, s.new_repayments) == (0, 1)
        grown = _snapshot("OLD-001")
        audit_rows = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "book.import"))
        assert audit_rows == 2
        _delete_loans_and_borrowers()
        _run(write_book(tmp_path / "all.xlsx"))
        assert _snapshot("OLD-001") == grown


def test_a_later_book_with_money_on_a_written_off_loan_is_refused_and_writes_nothing(app, demo, tmp_path):
    """A written-off loan is off the books: money received on it is a recovery, not an imported
    repayment (which would move 贷款 for a loan no longer on it)."""
    with app.app_context():
        _run(write_book(tmp_path / "first.xlsx", repayments=[REPAYMENTS[0], REPAYMENTS[2]]))
        loan = db.session.scalar(select(Loan).where(Loan.contract_no == "OLD-001"))
        loan.status = "written_off"  # as app/services/write_off.py leaves it
        db.session.commit()
        before = _counts()
        s = _run(write_book(tmp_path / "all.xlsx"))
        assert not s.written and any("核销" in e.message or "written off" in e.message for e in s.errors), s.errors
        assert _counts()[:6] == before[:6]


def test_a_closed_office_a_disabled_officer_and_an_officer_of_a_closed_office_are_refused(app, demo, tmp_path):
    from app.models import Office

    with app.app_context():
        before = _counts()
        hk = db.session.scalar(select(Office).where(Office.code == "HK"))
        hk.closed_at = NOW  # officer3 works there; LOANS[1] names it as 河口办事处
        db.session.scalar(select(User).where(User.username == "officer1")).is_enabled = False
        db.session.commit()
        s = _run(write_book(tmp_path / "b.xlsx"))
        by_cell = {(e.sheet, e.row, e.column): e for e in s.errors}
        assert by_cell[(dbook.LOANS, 3, "办事处")].message == "The office %(office)s is closed; no loan can be booked to it."
        for where in ((dbook.BORROWERS, 3, "客户经理"), (dbook.LOANS, 3, "客户经理")):
            assert by_cell[where].params == {"login": "officer3", "office": hk.name}
            assert "is closed" in by_cell[where].message
        for where in ((dbook.BORROWERS, 2, "客户经理"), (dbook.LOANS, 2, "客户经理")):
            assert by_cell[where].message == "The account %(login)s is disabled."
        assert not s.written and _counts() == before
        # In Chinese at the edge.
        from flask_babel import force_locale, gettext

        with app.test_request_context(), force_locale("zh"):
            e = by_cell[(dbook.LOANS, 3, "办事处")]
            assert "已" in gettext(e.message, **e.params)


def test_text_beginning_with_an_equals_sign_is_exported_as_text_not_a_formula(app, demo, tmp_path):
    from app import clock

    today = clock.business_today()
    b = [list(x) for x in BORROWERS]
    b[0][6] = '=HYPERLINK("http://example.com","点击")'
    with app.app_context():
        original = write_book(tmp_path / "b.xlsx", borrowers=b)
        wb = load_workbook(original)  # as typed in Excel with a leading ' : text, not a formula
        ws = wb[dbook.BORROWERS]
        ws.cell(2, 7).value = b[0][6]
        ws.cell(2, 7).data_type = "s"
        wb.save(original)
        s = _run(original, today=today)
        assert s.errors == [] and s.written
        assert db.session.scalar(select(Borrower.address).where(Borrower.id_number == ID1)) == b[0][6]
        exported = tmp_path / "out.xlsx"
        book.export(exported)
        wb = load_workbook(exported)
        ws = wb[dbook.BORROWERS]
        cells = [row[6] for row in ws.iter_rows(min_row=2) if row[0].value == ID1]
        assert [(c.value, c.data_type) for c in cells] == [(b[0][6], "s")]
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
        # ... and it comes back unchanged.
        _delete_loans_and_borrowers()
        s = _run(exported, today=today)
        assert s.errors == [], s.errors
        assert db.session.scalar(select(Borrower.address).where(Borrower.id_number == ID1)) == b[0][6]
