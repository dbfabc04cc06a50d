"""A small loan book written straight into the tables, for the reports' tests: loans with a
schedule, repayments, and a days-past-due figure as the daily job would leave it.

Built on the demo data (its offices, officers, products and cashier); the demo's own loan is set
aside (closed on its disbursement day) so that the figures of a test are those of its own book.
"""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, select

from app.domain.repayment import classify
from app.extensions import db
from app.models import Application, Borrower, Installment, Loan, LoanSnapshot, PortfolioSnapshot, Product, Repayment, User

_serial = itertools.count(1)


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def product(code: str) -> Product:
    return db.session.scalar(select(Product).where(Product.code == code))


def set_demo_loan_aside() -> None:
    for loan in db.session.scalars(select(Loan)):
        loan.status, loan.closed_on = "closed", loan.disbursed_on
    db.session.commit()


def loan(officer: str, product_code: str, principal_fen: int, disbursed_on: date, *, installments: int = 1,
         days: int = 30, interest_fen: int = 0, payments: tuple[tuple[date, int], ...] = ()) -> Loan:
    """A loan of ``principal_fen`` paid back in ``installments`` equal parts every ``days`` days from
    ``disbursed_on`` (the last part takes the rest), ``interest_fen`` of interest on each, and the
    given repayments (not yet allocated: call ``loans.rebuild`` or set the figures by hand)."""
    who, what = user(officer), product(product_code)
    n = next(_serial)
    borrower = Borrower(name=f"借款人{n}", id_number=f"9{n:017d}", sex="M", birth_date=date(1980, 1, 1),
                        office_id=who.office_id, officer_id=who.id)
    application = Application(borrower=borrower, product=what, officer_id=who.id, office_id=who.office_id,
                              amount=Decimal(principal_fen) / 100, term_months=installments, state="disbursed")
    part = principal_fen // installments
    parts = [part] * (installments - 1) + [principal_fen - part * (installments - 1)]
    dues = [disbursed_on + timedelta(days=days * (k + 1)) for k in range(installments)]
    made = Loan(application=application, borrower=borrower, product_id=what.id, officer_id=who.id,
                office_id=who.office_id, principal=Decimal(principal_fen) / 100, annual_rate=Decimal("0.0960"),
                repayment_method="equal_principal", penalty_rate=Decimal("0.1440"), term_months=installments,
                disbursed_on=disbursed_on, maturity_date=dues[-1], channel="cash",
                disbursed_by_id=user("cashier1").id, accrued_through=disbursed_on)
    made.installments = [Installment(seq=k + 1, due_date=due, principal_due=Decimal(p) / 100,
                                     interest_due=Decimal(interest_fen) / 100)
                         for k, (due, p) in enumerate(zip(dues, parts))]
    db.session.add(made)
    db.session.flush()
    for k, (on, fen) in enumerate(payments):
        db.session.add(Repayment(loan=made, amount=Decimal(fen) / 100, paid_on=on, channel="cash",
                                 reference=f"T-{made.id}-{k}", recorded_by_id=user("cashier1").id))
    db.session.flush()
    return made


def late_loan(officer: str, product_code: str, principal_fen: int, days_past_due: int, today: date) -> Loan:
    """A loan of one installment, unpaid and due ``days_past_due`` days before ``today`` (or due in
    a month when 0), with the figures the daily job of ``today`` leaves on it."""
    due = today - timedelta(days=days_past_due) if days_past_due else today + timedelta(days=30)
    made = loan(officer, product_code, principal_fen, due - timedelta(days=30))
    made.days_past_due, made.classification = days_past_due, classify(days_past_due)
    made.accrued_through = today
    db.session.flush()
    return made


def clear() -> None:
    """Remove every loan of the book and every snapshot (between Hypothesis examples)."""
    db.session.rollback()
    db.session.execute(delete(LoanSnapshot))
    db.session.execute(delete(PortfolioSnapshot))
    # This module's loans: no contract number, no disbursement reference (the demo's has both).
    loan_ids = list(db.session.scalars(select(Loan.id).where(Loan.reference == "", Loan.contract_no.is_(None))))
    if loan_ids:
        app_ids = list(db.session.scalars(select(Loan.application_id).where(Loan.id.in_(loan_ids))))
        borrower_ids = list(db.session.scalars(select(Loan.borrower_id).where(Loan.id.in_(loan_ids))))
        db.session.execute(delete(Repayment).where(Repayment.loan_id.in_(loan_ids)))
        db.session.execute(delete(Installment).where(Installment.loan_id.in_(loan_ids)))
        db.session.execute(delete(Loan).where(Loan.id.in_(loan_ids)))
        db.session.execute(delete(Application).where(Application.id.in_(app_ids)))
        db.session.execute(delete(Borrower).where(Borrower.id.in_(borrower_ids)))
    db.session.commit()


def repay_late_demo_loan_today(app, amount: str, reference: str) -> None:
    """The cashier takes a repayment dated today on the demo's late loan (冯十二's), through the page."""
    from app.services import jobs
    from tests.conftest import Auth

    cashier = Auth(app.test_client())
    cashier.login("cashier1")
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan_id, version = loan.id, loan.version
    response = cashier.post(f"/loans/{loan_id}/repayments", {
        "amount": amount, "paid_on": jobs.business_today().isoformat(), "channel": "cash",
        "reference": reference, "version": version})
    assert response.status_code == 303
