"""Provisioning: the allowance brought to Σ outstanding principal x class rate by one entry, once."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.domain import ledger as books
from app.extensions import db
from app.models import JournalEntry, Loan
from app.services import provisioning


def test_provision_reaches_the_target_once(app, demo):
    with app.app_context():
        today = clock.business_today()
        last = today.replace(day=1) - timedelta(days=1)
        period = f"{last.year:04d}-{last.month:02d}"
        by_class: dict[str, int] = {}
        for loan in db.session.scalars(select(Loan).where(Loan.status == "active")):  # the slow way, to compare
            fen = sum(int((i.principal_due - i.principal_paid) * 100) for i in loan.installments)
            by_class[loan.classification] = by_class.get(loan.classification, 0) + fen
        expected = books.provision_target(by_class, books.DEFAULT_PROVISION_RATES)
        assert expected > 0
        done = provisioning.provision(period)
        assert done["target"] == expected and provisioning.allowance_balance() == expected
        entry = db.session.get(JournalEntry, done["entry_id"])
        assert entry.kind == "provision" and entry.value_date == last
        again = provisioning.provision(period)
        assert again["posted"] == 0 and again["entry_id"] is None
        assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.kind == "provision",
                                                                JournalEntry.id != entry.id)) is None


def test_provision_reads_the_month_end_position_the_daily_job_kept(app, demo):
    """Run on the 1st, the daily job keeps the month-end position and provisions from it; a run later
    in the month (a repayment since) provisions from the same figures, not the loans as they are."""
    from datetime import date

    from app.services import jobs
    from app.models import PortfolioSnapshot

    with app.app_context():
        first = date(2026, 11, 1)
        jobs.run_daily(first)  # keeps the opening of 1 November and provisions October from it
        kept = db.session.scalars(select(PortfolioSnapshot).where(PortfolioSnapshot.day == first)).all()
        by_class: dict[str, int] = {}
        for row in kept:
            by_class[row.classification] = by_class.get(row.classification, 0) + row.outstanding_principal_fen
        expected = books.provision_target(by_class, books.DEFAULT_PROVISION_RATES)
        assert provisioning.allowance_balance() == expected
        grouped = provisioning.principal_by_class_and_office(first)
        assert sum(fen for _c, _o, fen in grouped) == sum(by_class.values())
        # A repayment since moves the loans, not October's month-end: provisioning again posts nothing.
        from app.models import User
        from app.services import loans as loan_service

        loan = db.session.scalar(select(Loan).where(Loan.status == "active").order_by(Loan.id))
        today = clock.business_today()
        loan_service.record_repayment(
            loan, amount="500", paid_on=today.isoformat(), channel="cash", reference="PROV-1",
            user=db.session.scalar(select(User).where(User.username == "cashier1")), today=today,
            now=clock.now(), expected_version=loan.version, settings=loan_service.LoanSettings())
        assert provisioning.provision("2026-10")["posted"] == 0
        # Without kept figures for the day (none for 1 January), the loans as they stand.
        live = provisioning.principal_by_class_and_office(date(2027, 1, 1))
        assert sum(fen for _c, _o, fen in live) == sum(
            int((i.principal_due - i.principal_paid) * 100)
            for loan in db.session.scalars(select(Loan).where(Loan.status == "active")) for i in loan.installments)
