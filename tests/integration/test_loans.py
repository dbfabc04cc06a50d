"""Disbursement, repayments, reversal and the daily job on the real database."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.repayment import penalty_from_basis
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Installment, Loan, Notification, Repayment, User
from app.services import jobs
from app.services import loans as loan_service
from tests.support.staff import second_cashier

LOAN_SETTINGS = loan_service.LoanSettings()  # the embedded defaults (app/config.py sets none other)

NOW = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)
DAY = date(2026, 1, 15)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _loans_of_qian() -> int:
    return db.session.scalar(select(func.count()).select_from(Loan).join(Borrower).where(Borrower.name == "钱七"))


def _qian() -> Application:
    """钱七: 15,000 of the credit product (annuity, monthly, 9.6 %), waiting for disbursement —
    approved before DAY (the demo approves at the real clock; these tests live on DAY)."""
    application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱七"))
    for t in application.transitions:
        t.at = min(t.at, NOW - timedelta(days=1))
    return application


def _disburse(amount: str = "15000", on: date = DAY, channel: str = "bank_transfer", reference: str = "BT-001") -> Loan:
    form = loan_service.DisbursementForm(amount=amount, disbursed_on=on.isoformat(), channel=channel, reference=reference)
    return loan_service.disburse(_qian(), form, _user("cashier1"), today=on, now=NOW, settings=LOAN_SETTINGS)


def _pay(loan: Loan, amount: str, on: date, reference: str, who: str = "cashier1") -> Repayment:
    return loan_service.record_repayment(loan, amount=amount, paid_on=on.isoformat(), channel="cash", reference=reference,
                                         user=_user(who), today=on, now=NOW, expected_version=loan.version, settings=LOAN_SETTINGS)


def test_disbursement_creates_the_loan_and_schedule_in_one_step(app, demo):
    with app.app_context():
        loan = _disburse()
        assert _qian().state == "disbursed"
        assert len(loan.installments) == 12
        assert sum(i.principal_due for i in loan.installments) == Decimal("15000.00")
        assert loan.maturity_date == date(2027, 1, 15)
        assert loan.penalty_rate == Decimal("0.1440") and loan.repayment_method == "annuity"
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "loan_disbursed", AuditLog.object_id == loan.application_id)) == 1
        told = {n.user_id for n in db.session.scalars(select(Notification).where(
            Notification.kind == "disburse", Notification.link == f"/applications/{loan.application_id}"))}
        assert told == {loan.officer_id, _user("director2").id}


@pytest.mark.parametrize("change,field", [
    ({"amount": "15000.01"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "abc"}, "amount"),
    ({"disbursed_on": "2026-01-16"}, "disbursed_on"), ({"disbursed_on": "15/01/2026"}, "disbursed_on"),
    ({"channel": "cheque"}, "channel"), ({"reference": ""}, "reference"),
])
def test_bad_disbursement_input_is_explained_and_writes_nothing(app, demo, change, field):
    with app.app_context():
        values = {"amount": "15000", "disbursed_on": DAY.isoformat(), "channel": "bank_transfer", "reference": "BT-1"} | change
        with pytest.raises(loan_service.LoanError) as refused:
            loan_service.disburse(_qian(), loan_service.DisbursementForm(**values), _user("cashier1"), today=DAY, now=NOW, settings=LOAN_SETTINGS)
        assert field in refused.value.errors
        db.session.rollback()
        assert _loans_of_qian() == 0
        assert _qian().state == "awaiting_disbursement"


def test_undo_needs_a_second_cashier_and_no_repayment(app, demo):
    from app.domain.workflow import TransitionRefused

    with app.app_context():
        loan = _disburse()
        with pytest.raises(TransitionRefused):
            loan_service.undo_disbursement(loan, _user("cashier1"), "金额录错", now=NOW)
        assert _loans_of_qian() == 1
        loan_id = loan.id
        second = second_cashier()
        loan = db.session.get(Loan, loan_id)
        loan_service.undo_disbursement(loan, second, "金额录错", now=NOW)
        assert _loans_of_qian() == 0
        assert db.session.scalar(select(func.count()).select_from(Installment).where(Installment.loan_id == loan_id)) == 0
        assert _qian().state == "awaiting_disbursement"
        undone = db.session.scalar(select(AuditLog).where(AuditLog.action == "loan_disbursement_undone"))
        assert undone.detail["loan"]["principal"] == "15000.00" and len(undone.detail["loan"]["installments"]) == 12
        # Disbursed again, then a repayment: no more undo.
        loan = _disburse()
        _pay(loan, "100", DAY, "R-1")
        with pytest.raises(loan_service.LoanError):
            loan_service.undo_disbursement(loan, second, "太晚了", now=NOW)


def test_a_repayment_on_time_settles_the_installment(app, demo):
    with app.app_context():
        loan = _disburse()
        first = loan.installments[0]
        due = first.principal_due + first.interest_due
        rep = _pay(loan, str(due), first.due_date, "R-1")
        assert first.paid_off_on == first.due_date and loan.days_past_due == 0
        components = {c for _seq, c, _fen in rep.allocation["parts"]}
        assert components == {"current_interest", "current_principal"}


def test_the_daily_job_counts_arrears_accrues_penalty_and_is_idempotent(app, demo):
    with app.app_context():
        loan = _disburse()
        first = loan.installments[0]
        late_day = first.due_date + timedelta(days=10)
        jobs.run_daily(late_day)
        db.session.expire_all()
        loan = db.session.get(Loan, loan.id)
        first = loan.installments[0]
        assert loan.days_past_due == 10 and loan.classification == "special_mention"
        assert first.penalty_basis == int(first.principal_due * 100) * 10
        assert first.penalty_accrued == penalty_from_basis(first.penalty_basis, Decimal("0.1440"))
        before = (first.penalty_basis, first.penalty_accrued, loan.days_past_due)
        jobs.run_daily(late_day)  # the same day again: nothing changes
        db.session.expire_all()
        first = db.session.get(Loan, loan.id).installments[0]
        assert (first.penalty_basis, first.penalty_accrued, db.session.get(Loan, loan.id).days_past_due) == before


def test_a_daily_run_that_fails_midway_leaves_nothing_and_the_next_run_does_the_day_once(app, demo, monkeypatch):
    """The job's passes go through temporary tables of its connection (app.services.scratch_tables):
    creating and dropping them must not commit the job's transaction (a plain DROP TABLE would on
    MariaDB), and a failed run must not leave the next one on that connection tripping over them."""
    from app.models import JournalLine
    from app.services import tasks

    with app.app_context():
        loan = _disburse()
        late_day = loan.installments[0].due_date + timedelta(days=10)
        lines = db.session.scalar(select(func.count()).select_from(JournalLine))
        real_generate = tasks.generate

        def fail(*_a, **_kw):  # after penalty, interest, days past due and class
            raise RuntimeError("the machine went down")

        monkeypatch.setattr(tasks, "generate", fail)
        with pytest.raises(RuntimeError):
            jobs.run_daily(late_day)
        db.session.rollback()
        db.session.expire_all()
        loan = db.session.get(Loan, loan.id)
        assert (loan.days_past_due, loan.classification, loan.installments[0].penalty_basis) == (0, "normal", 0)
        assert db.session.scalar(select(func.count()).select_from(JournalLine)) == lines
        monkeypatch.setattr(tasks, "generate", real_generate)
        jobs.run_daily(late_day)
        db.session.expire_all()
        loan = db.session.get(Loan, loan.id)
        first = loan.installments[0]
        assert loan.days_past_due == 10 and loan.classification == "special_mention"
        assert first.penalty_basis == int(first.principal_due * 100) * 10  # the ten days once, not twice
        assert db.session.scalar(select(func.count()).select_from(JournalLine)) > lines


def test_catching_up_missed_days_equals_running_every_day(app, demo):
    with app.app_context():
        loan = _disburse()
        due = loan.installments[0].due_date
        for offset in range(1, 8):
            jobs.run_daily(due + timedelta(days=offset))
        db.session.expire_all()
        daily = db.session.get(Loan, loan.id)
        daily_figures = [(i.penalty_basis, i.penalty_accrued) for i in daily.installments]
        # Start again from the same loan state and jump seven days at once.
        for i in daily.installments:
            i.penalty_basis, i.penalty_accrued = 0, Decimal("0")
        daily.accrued_through = daily.disbursed_on
        db.session.commit()
        jobs.run_daily(due + timedelta(days=7))
        db.session.expire_all()
        jumped = db.session.get(Loan, loan.id)
        assert [(i.penalty_basis, i.penalty_accrued) for i in jumped.installments] == daily_figures
        # And what the job accrued is what a replay of the loan computes.
        pos = loan_service.position(jumped, due + timedelta(days=7))
        assert [i.penalty_basis for i in pos.installments] == [i.penalty_basis for i in jumped.installments]


def test_a_late_payment_goes_to_penalty_then_interest_then_principal(app, demo):
    with app.app_context():
        loan = _disburse()
        first = loan.installments[0]
        on = first.due_date + timedelta(days=20)
        jobs.run_daily(on)
        db.session.expire_all()
        loan = db.session.get(Loan, loan.id)
        rep = _pay(loan, "200", on, "R-late")
        parts = [(seq, c) for seq, c, _fen in rep.allocation["parts"]]
        assert parts[0] == (1, "penalty") and parts[1] == (1, "overdue_interest") and parts[2] == (1, "overdue_principal")
        assert sum(f for _s, _c, f in rep.allocation["parts"]) == 20000


def test_an_overpayment_prepays_from_the_end_and_shortens_the_term(app, demo):
    with app.app_context():
        loan = _disburse()
        first = loan.installments[0]
        due = first.principal_due + first.interest_due
        last = loan.installments[-1]
        extra = last.principal_due
        _pay(loan, str(due + extra), first.due_date, "R-pre")
        assert last.principal_paid == last.principal_due and last.interest_due == 0 and last.paid_off_on == first.due_date
        assert loan.installments[-2].principal_paid == 0


def test_a_reversal_by_a_second_person_reallocates_everything_after_it(app, demo):
    with app.app_context():
        loan = _disburse()
        first, second_inst = loan.installments[0], loan.installments[1]
        r1 = _pay(loan, str(first.principal_due + first.interest_due), first.due_date, "R-1")
        r2 = _pay(loan, "100", second_inst.due_date, "R-2")
        with pytest.raises(loan_service.LoanError):
            loan_service.reverse_repayment(r1, _user("cashier1"), "录错了", now=NOW, settings=LOAN_SETTINGS)
        loan_service.reverse_repayment(r1, second_cashier(), "录错了", now=NOW, settings=LOAN_SETTINGS)
        assert r1.reversed_at is not None and r1.allocation == {"parts": []}
        # R-2 now goes first to the overdue first installment.
        assert [c for seq, c, _f in r2.allocation["parts"]][0] in ("penalty", "overdue_interest")
        assert loan.installments[0].paid_off_on is None
        assert db.session.scalar(select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan.id)) == 2  # reversed, never deleted


def test_paying_everything_closes_the_loan(app, demo):
    with app.app_context():
        loan = _disburse()
        owed = loan_service.position(loan, DAY).outstanding(loan.penalty_rate)
        _pay(loan, str(owed), DAY, "R-all")
        assert loan.status == "closed" and loan.closed_on == DAY
        with pytest.raises(loan_service.LoanError) as refused:
            _pay(loan, "1", DAY, "R-more")
        assert "amount" in refused.value.errors


@pytest.mark.parametrize("amount,on,reference,field", [
    ("0", DAY, "X1", "amount"), ("-5", DAY, "X2", "amount"), ("999999", DAY, "X3", "amount"),
    ("100", DAY - timedelta(days=1), "X4", "paid_on"), ("100", DAY + timedelta(days=1), "X5", "paid_on"),
    ("100", DAY, "", "reference"), ("100", DAY, "DUP", "reference"),
])
def test_bad_repayments_are_explained_and_write_nothing(app, demo, amount, on, reference, field):
    with app.app_context():
        loan = _disburse()
        _pay(loan, "50", DAY, "DUP")
        with pytest.raises(loan_service.LoanError) as refused:
            loan_service.record_repayment(loan, amount=amount, paid_on=on.isoformat(), channel="cash", reference=reference,
                                          user=_user("cashier1"), today=DAY, now=NOW, expected_version=loan.version, settings=LOAN_SETTINGS)
        assert field in refused.value.errors
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan.id)) == 1
