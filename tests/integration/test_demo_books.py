"""The demo's books read as a new institution's would: capital paid in before the first loan, a
balance sheet whose bank and cash stand positive and balance, and the loans reconciled."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import JournalEntry, Loan
from app.services import ledger_loans, ledger_reports
from app.services import demo as demo_service


def test_the_demo_books_open_with_capital_and_the_balance_sheet_reads_right(app, demo):
    with app.app_context():
        today = clock.business_today()
        [opening] = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == "opening",
                                                                  JournalEntry.loan_id.is_(None))).all()
        lines = {(line.account.code, line.debit, line.credit) for line in opening.lines}
        assert {(c, f"{d:.2f}", f"{k:.2f}") for c, d, k in lines} == {
            ("1002", "5000000.00", "0.00"), ("1001", "200000.00", "0.00"), ("4001", "0.00", "5200000.00")}
        first_loan = db.session.scalar(select(Loan.disbursed_on).order_by(Loan.disbursed_on))
        assert opening.value_date == clock.business_today(clock.now() - demo_service.FIRST_DAY_AGO) < first_loan
        assert opening.created_by_id == demo["accountant1"]
        sheet = ledger_reports.balance_sheet(today)
        assets = {code: amount for code, _name, amount in sheet.sections[0][1]}
        equity = {code: amount for code, _name, amount in sheet.sections[2][1]}
        assert assets["1002"] > 0 and assets["1001"] > 0 and equity["4001"] == 520_000_000
        assert sheet.figures["assets"] == sheet.figures["liabilities_equity"]
        assert ledger_loans.reconcile(today).ok
