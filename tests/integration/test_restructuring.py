"""Restructuring and extension on the real database: the request checked and routed, decided level by
level by other people, applied in one commit — the old schedule kept, the new one from the same
engine, the class floor held, the change posted to the books and the books reconciled."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.money import to_fen
from app.extensions import db
from app.models import AuditLog, Installment, JournalEntry, Loan
from app.models.restructuring import LoanRestructuring
from app.services import jobs, ledger_loans
from app.services import loans as loan_service
from app.services import restructuring as rs_service
from tests.integration.test_ledger_loans import START, _at, _check_books, _disburse, _pay, _user

CLASS_DAYS = loan_service.LoanSettings().class_days


def _form(**kw) -> rs_service.RequestForm:
    base = dict(kind="extension", reason="harvest_failure", note="6月冰雹，玉米绝收", term_months="12", method="annuity")
    return rs_service.RequestForm(**(base | kw))


def _late_loan() -> tuple[Loan, date]:
    """A 12-month annuity loan whose first two installments went unpaid (the harvest failed)."""
    loan = _disburse("12000", START)
    day = loan.installments[1].due_date + timedelta(days=10)
    jobs.run_daily(day)
    db.session.refresh(loan)
    assert loan.days_past_due > 30
    return loan, day


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_an_extension_after_a_harvest_failure_reschedules_the_rest_and_keeps_the_old_schedule(app, demo):
    with app.app_context():
        loan, day = _late_loan()
        owed_principal = sum(to_fen(i.principal_due) - to_fen(i.principal_paid) for i in loan.installments)
        old_count = len(loan.installments)
        row = rs_service.request(loan, _form(term_months="18"), _user("officer1"), today=day, now=_at(day))
        assert row.status == "pending" and rs_service.chain(row) == ["l1"]
        # The one who asked cannot decide; nor can a role that is not the next level's.
        with pytest.raises(rs_service.RestructureError):
            rs_service.decide(row, _user("reviewer2"), approve=True, comment="", today=day, now=_at(day),
                              class_days=CLASS_DAYS)
        rs_service.decide(row, _user("reviewer1"), approve=True, comment="属实", today=day, now=_at(day),
                          class_days=CLASS_DAYS)
        db.session.refresh(loan)
        assert row.status == "approved" and row.effective_on == day
        assert loan.restructure_count == 1 and loan.restructured_on == day
        current = loan_service.current_schedule(loan)
        assert len(current) == 18 and current[0].seq == old_count + 1
        assert sum(to_fen(i.principal_due) for i in current) == owed_principal
        # Not capitalised: the unpaid interest and penalty are owed with the first new installment.
        carried = row.carried["interest"] + row.carried["penalty"]
        assert carried > 0 and to_fen(current[0].interest_carried) == carried
        # The old schedule is kept: settled as it stood, and as a snapshot on the request.
        assert len(row.old_schedule) == old_count
        assert all(i.paid_off_on is not None for i in loan.installments if i.seq < loan.schedule_from_seq)
        assert loan.maturity_date == current[-1].due_date
        # Not late any more, but held at the floor class.
        assert loan.days_past_due == 0 and loan.classification == "special_mention"
        jobs.run_daily(day + timedelta(days=1))
        db.session.refresh(loan)
        assert loan.classification == "special_mention"
        assert _count(AuditLog, AuditLog.action == "loan_restructured", AuditLog.object_id == loan.id) == 1
        _check_books()
        # The statement runs on each schedule while it was in force: the old installments fall due
        # at their old amounts, then the restructuring, then the new schedule's position.
        from app.services import statement

        st = statement.build(loan, day + timedelta(days=1))
        kinds = [e.kind for e in st.events]
        assert kinds.count("restructured") == 1 and kinds.index("restructured") > kinds.index("due")
        first_due = next(e for e in st.events if e.kind == "due")
        assert first_due.principal == Decimal(row.old_schedule[0]["principal_due"])
        assert st.events[kinds.index("restructured")].principal_balance == Decimal(owed_principal) / 100
        assert st.principal_balance == Decimal(owed_principal) / 100
        assert [s.seq for s in st.schedule] == [i.seq for i in current]


def test_a_capitalising_restructuring_moves_the_interest_into_the_principal_after_special_review(app, demo):
    with app.app_context():
        loan, day = _late_loan()
        before_1303 = ledger_loans.reconcile().rows
        row = rs_service.request(loan, _form(kind="restructure", method="equal_principal", term_months="18",
                                             grace_months="3", capitalise=True),
                                 _user("reviewer1"), today=day, now=_at(day))
        assert rs_service.chain(row) == ["l1", "special"]
        # reviewer1 asked: another first-level reviewer is needed; none in the demo, so the test adds one.
        from app.models import User, UserRole

        other = User(username="reviewer1b", full_name="第二初审", password_hash="x", office_id=_user("reviewer1").office_id)
        other.role_rows = [UserRole(role="reviewer1")]
        db.session.add(other)
        db.session.commit()
        with pytest.raises(rs_service.RestructureError):
            rs_service.decide(row, _user("reviewer1"), approve=True, comment="", today=day, now=_at(day),
                              class_days=CLASS_DAYS)
        rs_service.decide(row, other, approve=True, comment="", today=day, now=_at(day), class_days=CLASS_DAYS)
        assert row.status == "pending" and rs_service.next_level(row) == "special"
        rs_service.decide(row, _user("special1"), approve=True, comment="灾情属实", today=day, now=_at(day),
                          class_days=CLASS_DAYS)
        db.session.refresh(loan)
        current = loan_service.current_schedule(loan)
        capitalised = row.carried["capitalised"]
        assert capitalised == row.carried["interest"] + row.carried["penalty"] > 0
        assert sum(to_fen(i.principal_due) for i in current) == row.carried["principal"] + capitalised
        assert to_fen(loan.capitalized_interest) == capitalised
        assert all(i.principal_due == 0 for i in current[:3])  # the grace period: interest only
        assert loan.repayment_method == "equal_principal"
        entry = db.session.get(JournalEntry, row.entry_id)
        assert entry.kind == "restructure"
        moved = {line.account.code: to_fen(line.debit) - to_fen(line.credit) for line in entry.lines}
        assert moved["1303"] == capitalised
        assert before_1303 is not None
        _check_books()
        # The new schedule is paid like any other; a repayment dated before the restructuring is refused.
        with pytest.raises(loan_service.LoanError):
            _pay(loan, Decimal("10"), day - timedelta(days=1), day, "OLD")
        first = current[0]
        _pay(loan, first.interest_due, first.due_date, first.due_date, "N-1")
        _check_books()


def test_refusals_write_nothing(app, demo):
    with app.app_context():
        loan, day = _late_loan()
        cases = [
            _form(reason=""),
            _form(note=" "),
            _form(term_months="abc"),
            _form(method="bullet"),  # an extension keeps the method
            _form(grace_months="2"),  # an extension has no grace
            _form(term_months="60"),  # past the product's latest maturity
            _form(kind="restructure", term_months="12", grace_months="12"),
        ]
        for form in cases:
            with pytest.raises(rs_service.RestructureError):
                rs_service.request(loan, form, _user("officer1"), today=day, now=_at(day))
        assert _count(LoanRestructuring) == 0
        assert _count(AuditLog, AuditLog.action == "restructure_requested") == 0
        # One pending request at a time; a refusal needs a reason and ends the request.
        row = rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        with pytest.raises(rs_service.RestructureError):
            rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        with pytest.raises(rs_service.RestructureError):
            rs_service.decide(row, _user("reviewer1"), approve=False, comment="", today=day, now=_at(day),
                              class_days=CLASS_DAYS)
        rs_service.decide(row, _user("reviewer1"), approve=False, comment="受灾证明不足", today=day, now=_at(day),
                          class_days=CLASS_DAYS)
        assert row.status == "refused"
        db.session.refresh(loan)
        assert loan.restructure_count == 0 and _count(JournalEntry, JournalEntry.kind == "restructure") == 0


def test_a_past_days_figures_rebuilt_by_replay_follow_the_schedule_in_force(app, demo):
    from app.services import snapshots

    with app.app_context():
        loan, day = _late_loan()
        before = list(snapshots.replayed(day, [loan.id], CLASS_DAYS))  # the opening of `day`, old schedule
        row = rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        rs_service.decide(row, _user("reviewer1"), approve=True, comment="", today=day, now=_at(day), class_days=CLASS_DAYS)
        # The same day's opening, replayed after the restructuring: still the old schedule's figures.
        assert list(snapshots.replayed(day, [loan.id], CLASS_DAYS)) == before
        assert before[0]["overdue_principal"] > 0
        # The next day's opening runs on the new schedule: nothing overdue, the principal carried.
        after = list(snapshots.replayed(day + timedelta(days=1), [loan.id], CLASS_DAYS))[0]
        assert after["overdue_principal"] == 0 and after["days_past_due"] == 0
        assert after["principal"] == row.carried["principal"]


def test_a_closed_loan_and_the_products_limit_are_refused(app, demo):
    with app.app_context():
        loan, day = _late_loan()
        row = rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        rs_service.decide(row, _user("reviewer1"), approve=True, comment="", today=day, now=_at(day), class_days=CLASS_DAYS)
        db.session.refresh(loan)
        # The product allows one restructuring (the default rules).
        with pytest.raises(rs_service.RestructureError) as refused:
            rs_service.request(loan, _form(term_months="13"), _user("officer1"), today=day, now=_at(day))
        assert "kind" in refused.value.errors
        owed = loan_service.position(loan, day).outstanding(loan.penalty_rate)
        _pay(loan, owed, day, day, "ALL")
        db.session.refresh(loan)
        assert loan.status == "closed"
        with pytest.raises(rs_service.RestructureError):
            rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        assert _count(Installment, Installment.loan_id == loan.id, Installment.paid_off_on.is_(None)) == 0
        _check_books()


def test_a_request_decided_meanwhile_is_not_decided_twice(app, demo):
    """The decider's page was opened before someone else refused it: his approval is refused."""
    from sqlalchemy import update

    with app.app_context():
        loan, day = _late_loan()
        row = rs_service.request(loan, _form(), _user("officer1"), today=day, now=_at(day))
        stale = db.session.get(LoanRestructuring, row.id)
        db.session.execute(update(LoanRestructuring).where(LoanRestructuring.id == row.id).values(status="refused"))
        db.session.commit()
        with pytest.raises(rs_service.RestructureError):
            rs_service.decide(stale, _user("reviewer1"), approve=True, comment="", today=day, now=_at(day),
                              class_days=CLASS_DAYS)
        db.session.refresh(loan)
        assert loan.restructure_count == 0 and _count(JournalEntry, JournalEntry.kind == "restructure") == 0



def test_a_repayment_of_a_written_off_loan_is_not_reversed(app, demo):
    """Written off, a loan's figures are fixed off the books: reversing an earlier repayment would
    move 贷款 for a loan that is no longer on it."""
    from app.services import write_off
    from tests.support.staff import second_cashier

    with app.app_context():
        second_cashier()
        loan, day = _late_loan()
        first = loan.installments[0]
        paid = _pay(loan, first.interest_due, day, day, "PART")
        settings = loan_service.LoanSettings()
        req = write_off.request(loan, _user("reviewer1"), basis="decision", reason="贷审会决议", today=day,
                                now=_at(day), settings=settings)
        write_off.approve(req, _user("reviewer2"), today=day, now=_at(day), settings=settings)
        with pytest.raises(loan_service.LoanError):
            loan_service.reverse_repayment(paid, _user("cashier2"), "录错", now=_at(day), settings=settings)
        _check_books()
