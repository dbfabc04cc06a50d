"""The loans in the books, on the real database: every money event posts a balanced entry in its own
transaction, and the loans' accounts reconcile with the loans to the fen after any sequence of
disbursements, repayments (back-dated too), reversals, undone disbursements and daily jobs."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, func, select, type_coerce

from app.domain.money import to_fen
from app.domain.workflow import State
from app.extensions import db
from app.models import Account, Application, Installment, JournalEntry, JournalLine, Loan, Repayment, Transition, User
from app.services import jobs, ledger_loans, restructuring, write_off
from app.services import loans as loan_service
from tests.support.staff import second_cashier

SETTINGS = loan_service.LoanSettings()
START = date(2026, 6, 1)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(2, 0), tzinfo=timezone.utc)  # 10:00 in China


def _application(amount: str, approved: date) -> Application:
    """A fresh application awaiting disbursement, like the demo's 钱七 (same borrower and product)."""
    model = db.session.scalar(select(Application).where(Application.state == State.AWAITING_DISBURSEMENT.value)
                              .order_by(Application.id))
    app_ = Application(borrower_id=model.borrower_id, product_id=model.product_id, officer_id=model.officer_id,
                       office_id=model.office_id, amount=Decimal(amount), term_months=model.term_months,
                       state=State.AWAITING_DISBURSEMENT.value)
    db.session.add(app_)
    db.session.flush()
    db.session.add(Transition(application_id=app_.id, event="l1_pass", from_state=State.AWAITING_L1.value,
                              to_state=State.AWAITING_DISBURSEMENT.value, actor_id=model.officer_id, at=_at(approved)))
    db.session.commit()
    return app_


def _disburse(amount: str, on: date, channel: str = "bank_transfer") -> Loan:
    form = loan_service.DisbursementForm(amount=amount, disbursed_on=on.isoformat(), channel=channel,
                                         reference=f"D-{on.isoformat()}-{amount}")
    return loan_service.disburse(_application(amount, on - timedelta(days=1)), form, _user("cashier1"),
                                 today=on, now=_at(on), settings=SETTINGS)


def _pay(loan: Loan, amount: Decimal, on: date, today: date, reference: str, channel: str = "cash") -> Repayment:
    return loan_service.record_repayment(loan, amount=str(amount), paid_on=on.isoformat(), channel=channel,
                                         reference=reference, user=_user("cashier1"), today=today, now=_at(today),
                                         expected_version=loan.version, settings=SETTINGS)


def _unbalanced_entries() -> list[int]:
    fen = lambda c: func.sum(type_coerce(c, BigInteger))  # noqa: E731
    return list(db.session.scalars(select(JournalLine.entry_id).group_by(JournalLine.entry_id)
                                   .having(fen(JournalLine.debit) != fen(JournalLine.credit))))


def _account_balance(code: str) -> int:
    fen = lambda c: func.coalesce(func.sum(type_coerce(c, BigInteger)), 0)  # noqa: E731
    d, c = db.session.execute(select(fen(JournalLine.debit), fen(JournalLine.credit)).join(Account)
                              .where(Account.code == code)).one()
    return int(d) - int(c)


def _outstanding_principal() -> int:
    return sum(to_fen(i.principal_due) - to_fen(i.principal_paid) for i in db.session.scalars(
        select(Installment).join(Loan).where(Loan.status != "written_off")))


def _check_books() -> None:
    assert _unbalanced_entries() == []
    recon = ledger_loans.reconcile()
    assert recon.ok, recon.differences
    # Independently of reconcile(): 贷款 (1303) holds every loan's outstanding principal.
    assert _account_balance("1303") == _outstanding_principal()


def test_disbursement_and_repayment_post_their_entries(app, demo):
    with app.app_context():
        loan = _disburse("12000", START)
        entries = ledger_loans.entries_of(loan.id)
        assert [e.kind for e in entries] == ["disbursement"]
        lines = {(line.account.code, to_fen(line.debit), to_fen(line.credit)) for line in entries[0].lines}
        assert lines == {("1303", 1_200_000, 0), ("1002", 0, 1_200_000)}
        assert entries[0].value_date == START
        due = loan.installments[0]
        amount = due.principal_due + due.interest_due
        _pay(loan, amount, due.due_date, due.due_date, "R-1")
        repayment = ledger_loans.entries_of(loan.id)[-1]
        assert repayment.kind == "repayment" and repayment.value_date == due.due_date
        by_code = {}
        for line in repayment.lines:
            by_code[line.account.code] = by_code.get(line.account.code, 0) + to_fen(line.debit) - to_fen(line.credit)
        # Cash in; the principal and the interest paid out of the receivable and income (recognised
        # on payment: no daily job ran in between).
        assert by_code["1001"] == to_fen(amount)
        assert by_code["1303"] == -to_fen(due.principal_due)
        assert by_code.get("6011", 0) + by_code.get("1132", 0) == -to_fen(due.interest_due)
        _check_books()


def test_the_daily_job_accrues_interest_pro_rata_and_a_payment_takes_it_from_the_receivable(app, demo):
    with app.app_context():
        loan = _disburse("10000", START)
        first = loan.installments[0]
        period = (first.due_date - START).days
        interest = to_fen(first.interest_due)
        detail = jobs.run_daily(START + timedelta(days=10))
        db.session.refresh(first)
        assert to_fen(first.interest_recognised) == interest * 10 // period
        assert detail["books"]["installments"] >= 1
        # The same day again: nothing moves, no entry.
        entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
        again = jobs.run_daily(START + timedelta(days=10))
        assert again["books"]["installments"] == 0
        assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == entries
        jobs.run_daily(first.due_date)
        db.session.refresh(first)
        assert to_fen(first.interest_recognised) == interest
        accruals = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == "accrual")).all()
        assert accruals and all(e.loan_id is None for e in accruals)
        receivable_before = _account_balance("1132")
        _pay(loan, first.principal_due + first.interest_due, first.due_date, first.due_date, "R-1")
        # The interest was already income: the payment only empties the receivable.
        assert _account_balance("1132") == receivable_before - interest
        _check_books()


def test_a_reversal_mirrors_the_repayment_entry_and_posts_the_reallocation_apart(app, demo):
    with app.app_context():
        second_cashier()
        loan = _disburse("6000", START)
        first, second = loan.installments[0], loan.installments[1]
        r1 = _pay(loan, first.principal_due + first.interest_due, first.due_date, first.due_date, "R-1")
        later = first.due_date + timedelta(days=2)  # paid ahead: once R-1 goes, it pays the first instead
        _pay(loan, second.principal_due + second.interest_due, later, later, "R-2")
        loan_service.reverse_repayment(db.session.get(Repayment, r1.id), _user("cashier2"), "录错了",
                                       now=_at(later), settings=SETTINGS)
        kinds = [e.kind for e in ledger_loans.entries_of(loan.id)]
        assert kinds[:3] == ["disbursement", "repayment", "repayment"]
        assert "repayment_reversal" in kinds and "reallocation" in kinds
        original = ledger_loans.source_entry("repayment", "repayment", r1.id)
        assert original is None  # mirrored once: nothing left to mirror
        mirror = db.session.scalar(select(JournalEntry).where(JournalEntry.kind == "repayment_reversal",
                                                              JournalEntry.loan_id == loan.id))
        assert mirror.reverses_id is not None and mirror.value_date == r1.paid_on
        _check_books()


def test_an_undone_disbursement_leaves_nothing_on_the_loans_accounts(app, demo):
    with app.app_context():
        second_cashier()
        before = _account_balance("1303")
        loan = _disburse("5000", START)
        loan_id = loan.id
        jobs.run_daily(START + timedelta(days=5))
        loan_service.undo_disbursement(db.session.get(Loan, loan_id), _user("cashier2"), "金额录错",
                                       now=_at(START + timedelta(days=5)))
        assert _account_balance("1303") == before
        kinds = [e.kind for e in db.session.scalars(select(JournalEntry).where(JournalEntry.loan_id == loan_id))]
        assert kinds.count("disbursement_undone") >= 1
        _check_books()


def test_loans_without_entries_get_their_opening_balances_once(app, demo):
    with app.app_context():
        loan = _disburse("8000", START)
        jobs.run_daily(START + timedelta(days=3))
        # As a loan made before the books existed: its entries gone, not in the books.
        for entry in db.session.scalars(select(JournalEntry).where(JournalEntry.loan_id == loan.id)):
            for line in entry.lines:
                db.session.delete(line)
            db.session.delete(entry)
        loan.in_books = False
        db.session.commit()
        assert not ledger_loans.reconcile().ok
        assert ledger_loans.open_books() >= 1
        db.session.commit()
        assert ledger_loans.open_books() == 0
        opening = db.session.scalars(select(JournalEntry).where(JournalEntry.kind == "opening")).all()
        assert opening
        # The daily accrual of the deleted entries is still in the books, so the receivable now
        # counts it twice; the principal is right.
        recon = ledger_loans.reconcile()
        assert next(r for r in recon.rows if r.code == "1303").difference_fen == 0


def test_a_difference_is_found(app, demo):
    with app.app_context():
        _disburse("3000", START)
        assert ledger_loans.reconcile().ok
        from app.domain import ledger as books
        from app.services import ledger

        ledger.post("manual", [books.Line("1303", debit=100), books.Line("1001", credit=100)], value_date=START)
        db.session.commit()
        recon = ledger_loans.reconcile()
        assert not recon.ok
        assert [(r.code, r.difference_fen) for r in recon.differences] == [("1303", 100)]


def test_reconcile_of_a_past_day_replays_the_principal(app, demo):
    with app.app_context():
        loan = _disburse("9000", START)
        first = loan.installments[0]
        _pay(loan, first.principal_due + first.interest_due, first.due_date, first.due_date + timedelta(days=3), "R-1")
        assert ledger_loans.reconcile(first.due_date - timedelta(days=1)).ok
        assert ledger_loans.reconcile(first.due_date).ok


# --- any sequence of events ---------------------------------------------------------------------

events = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 100), st.integers(0, 20)),  # percent of what is owed, days back-dated
    st.tuples(st.just("days"), st.integers(1, 45), st.just(0)),  # run the daily job that many days later
    st.tuples(st.just("reverse"), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("undo"), st.just(0), st.just(0)),
    st.tuples(st.just("restructure"), st.integers(0, 1), st.integers(0, 2)),  # capitalise?, grace months
    st.tuples(st.just("write_off"), st.just(0), st.just(0)),
    st.tuples(st.just("recover"), st.integers(1, 60), st.just(0)),  # percent of what is left off the books
), min_size=1, max_size=10)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=events, amount=st.integers(1000, 30000), channel=st.sampled_from(["cash", "bank_transfer"]))
def test_any_sequence_of_events_keeps_the_books_balanced_and_reconciled(app, demo, steps, amount, channel):
    with app.app_context():
        if db.session.scalar(select(User).where(User.username == "cashier2")) is None:
            second_cashier()
        day = START
        loan = _disburse(str(amount), day, channel)
        loan_id, n = loan.id, 0
        for kind, a, b in steps:
            loan = db.session.get(Loan, loan_id)
            if loan is None:
                break
            if kind == "days":
                day += timedelta(days=a)
                jobs.run_daily(day)
            elif kind == "pay" and loan.status == "active":
                on = max(day - timedelta(days=b), loan.disbursed_on, loan.restructured_on or loan.disbursed_on)
                owed = loan_service.position(loan, max(day, loan.accrued_through or day)).outstanding(loan.penalty_rate)
                pay = max((owed * a / 100).quantize(Decimal("0.01")), Decimal("0.01"))
                n += 1
                _pay(loan, pay, on, day, f"P-{loan_id}-{n}", channel="mobile_payment" if a % 2 else "cash")
            elif kind == "reverse":
                standing = loan_service.replayed_repayments(loan)  # not those a restructuring kept
                if standing:
                    r = standing[a % len(standing)]
                    if (day - r.paid_on).days <= SETTINGS.backdate_max_days:
                        loan_service.reverse_repayment(r, _user("cashier2"), "冲正", now=_at(day), settings=SETTINGS)
            elif kind == "undo" and not loan.repayments and loan.status == "active" and not loan.restructure_count:
                loan_service.undo_disbursement(loan, _user("cashier2"), "撤销", now=_at(day))
            elif kind == "restructure" and loan.status == "active" and not loan.restructure_count:
                form = restructuring.RequestForm(kind="restructure", reason="disaster", note="洪灾", term_months="12",
                                                 method=loan.repayment_method, grace_months=str(b), capitalise=bool(a))
                try:
                    row = restructuring.request(loan, form, _user("officer1"), today=day, now=_at(day))
                except restructuring.RestructureError:
                    continue  # nothing owed, or the product's limits: refused, nothing written
                deciders = {"l1": "reviewer1", "l2": "reviewer2", "special": "special1"}
                while (level := restructuring.next_level(row)) is not None:
                    restructuring.decide(row, _user(deciders[level]), approve=True, comment="", today=day,
                                         now=_at(day), class_days=SETTINGS.class_days)
            elif kind == "write_off" and loan.status == "active" and loan.days_past_due > 0:
                req = write_off.request(loan, _user("reviewer1"), basis="decision", reason="董事会决议", today=day,
                                        now=_at(day), settings=SETTINGS)
                write_off.approve(req, _user("reviewer2"), today=day, now=_at(day), settings=SETTINGS)
            elif kind == "recover" and loan.status == "written_off":
                left = to_fen(loan.written_off_principal) + to_fen(loan.written_off_interest) - to_fen(loan.recovered)
                if left > 0:
                    n += 1
                    write_off.record_recovery(loan, _user("cashier1"), amount=str(Decimal(max(left * a // 100, 1)) / 100),
                                              received_on=day.isoformat(), channel="cash", reference=f"W-{loan_id}-{n}",
                                              today=day, now=_at(day), settings=SETTINGS)
            _check_books()


def test_a_cash_basis_product_recognises_interest_when_paid(app, demo):
    with app.app_context():
        model = db.session.scalar(select(Application).where(Application.state == State.AWAITING_DISBURSEMENT.value))
        model.product.accounting_basis = "cash"
        db.session.commit()
        receivable = _account_balance("1132")
        loan = _disburse("10000", START)
        assert loan.accounting_basis == "cash"
        first = loan.installments[0]
        jobs.run_daily(first.due_date + timedelta(days=5))  # late: penalty grows, nothing recognised
        assert _account_balance("1132") == receivable
        _check_books()
        income = _account_balance("6011")
        _pay(loan, first.principal_due + first.interest_due, first.due_date + timedelta(days=5),
             first.due_date + timedelta(days=5), "R-1")
        assert _account_balance("6011") < income  # credited on payment
        assert _account_balance("1132") == receivable
        _check_books()
