"""Write-off (核销) and recovery on the real database, and the early settlement quote.

Refusals write nothing; the requester cannot approve; an approved write-off takes the loan's
principal off 贷款 (1303) into the off-balance memo (7001); a partial recovery posts recovery income
(6301) and lowers the memo; the written-off loan stays in collection; the quote for a day is what
closes the loan when paid that day.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import (Account, Application, AuditLog, Borrower, FollowUpTask, JournalEntry, JournalLine, Loan, Recovery,
                        User, WriteOffRequest)
from app.services import ledger_loans, settlement, tasks
from app.services import loans as loan_service
from app.services import write_off as wo

SETTINGS = loan_service.LoanSettings()
# A loan becomes "loss" (损失) after a few days with these (the default is 361 days).
LOSS_SOON = loan_service.LoanSettings(class_days=(1, 2, 3, 4))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _late_loan() -> Loan:
    """The demo's loan (冯十二): disbursed about 70 days ago, its second installment unpaid."""
    return db.session.scalar(select(Loan).where(Loan.status == "active").order_by(Loan.id))


def _today() -> date:
    return clock.business_today()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _written() -> tuple[int, int, int, int]:
    """What a refusal must leave untouched: requests, recoveries, entries, write-off audit rows."""
    return (_count(WriteOffRequest), _count(Recovery), _count(JournalEntry),
            _count(AuditLog, AuditLog.action.in_(("write_off_requested", "loan_written_off", "write_off_refused",
                                                 "write_off_recovery"))))


def _balance(code: str, loan_id: int | None = None) -> int:
    """An account's debit minus credit in fen, over the whole journal or one loan's lines."""
    where = [Account.code == code]
    if loan_id is not None:
        where.append(JournalLine.loan_id == loan_id)
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(JournalLine.debit), 0), func.coalesce(func.sum(JournalLine.credit), 0))
        .join(Account, Account.id == JournalLine.account_id).where(*where)).one()
    return int(round(Decimal(debit) * 100 - Decimal(credit) * 100)) if isinstance(debit, Decimal) else int(debit) - int(credit)


def _ask(loan: Loan, who: str = "reviewer1", *, basis: str = "decision", reason: str = "贷审会2026年第9号决议",
         settings: loan_service.LoanSettings = SETTINGS) -> WriteOffRequest:
    return wo.request(loan, _user(who), basis=basis, reason=reason, today=_today(), now=clock.now(), settings=settings)


def _approve(req: WriteOffRequest, who: str = "reviewer2", settings: loan_service.LoanSettings = SETTINGS):
    return wo.approve(req, _user(who), note="同意核销", today=_today(), now=clock.now(), settings=settings)


def _recover(loan: Loan, amount: str, reference: str, *, who: str = "cashier1", on: date | None = None,
             channel: str = "cash") -> Recovery:
    return wo.record_recovery(loan, _user(who), amount=amount, received_on=(on or _today()).isoformat(), channel=channel,
                              reference=reference, today=_today(), now=clock.now(), settings=SETTINGS)


# --- refusals write nothing ------------------------------------------------------------------


@pytest.mark.parametrize("who,basis,reason,code_word", [
    ("officer1", "decision", "决议", "role"),         # an officer does not ask for write-offs
    ("cashier1", "decision", "决议", "role"),
    ("reviewer1", "decision", "   ", "reason"),      # a reason is required
    ("reviewer1", "whim", "决议", "basis"),
    ("reviewer1", "loss_class", "已列损失", "basis"),  # the demo's loan is 关注, not 损失
    ("reviewer1", "decision", "x" * 201, "reason"),
])
def test_a_refused_request_writes_nothing(app, demo, who, basis, reason, code_word):
    with app.app_context():
        loan = _late_loan()
        before = _written()
        with pytest.raises(wo.WriteOffError) as refused:
            _ask(loan, who, basis=basis, reason=reason)
        assert refused.value.fields, "the refusal names what to correct"
        db.session.rollback()
        assert _written() == before
        assert _late_loan().status == "active"


def test_a_loan_not_past_due_or_closed_is_refused_in_words(app, demo):
    with app.app_context():
        loan = _late_loan()
        # Paid up to date: not past due.
        owed_now = loan_service.position(loan, _today())
        late = sum(i.principal_due - i.principal_paid + i.interest_due - i.interest_paid + max(i.penalty_due(loan.penalty_rate), 0)
                   for i in owed_now.installments if i.due_date < _today())
        assert late > 0
        loan_service.record_repayment(loan, amount=f"{Decimal(late) / 100:.2f}", paid_on=_today().isoformat(),
                                      channel="cash", reference="UP-TO-DATE", user=_user("cashier1"), today=_today(),
                                      now=clock.now(), expected_version=loan.version, settings=SETTINGS)
        loan = _late_loan()
        before = _written()
        with pytest.raises(wo.WriteOffError) as refused:
            _ask(loan)
        assert "not past due" in refused.value.message
        db.session.rollback()
        assert _written() == before
        # Closed: refused too.
        quote = settlement.quote(loan, _today())
        loan_service.record_repayment(loan, amount=f"{quote.yuan(quote.total)}", paid_on=_today().isoformat(),
                                      channel="cash", reference="CLOSE", user=_user("cashier1"), today=_today(),
                                      now=clock.now(), expected_version=loan.version, settings=SETTINGS)
        closed = db.session.get(Loan, loan.id)
        assert closed.status == "closed"
        before = _written()
        with pytest.raises(wo.WriteOffError) as refused:
            _ask(closed)
        assert "closed" in refused.value.message
        db.session.rollback()
        assert _written() == before


def test_the_requester_cannot_approve_and_a_second_request_waits(app, demo):
    with app.app_context():
        loan = _late_loan()
        req = _ask(loan, "reviewer2")
        assert req.status == "pending" and _count(AuditLog, AuditLog.action == "write_off_requested") == 1
        before = _written()
        with pytest.raises(wo.WriteOffError) as refused:
            _approve(req, "reviewer2")
        assert "second person" in refused.value.message
        db.session.rollback()
        with pytest.raises(wo.WriteOffError):  # a requester-only role cannot decide at all
            _approve(db.session.get(WriteOffRequest, req.id), "reviewer1")
        db.session.rollback()
        with pytest.raises(wo.WriteOffError):  # one pending request per loan
            _ask(_late_loan(), "special1")
        db.session.rollback()
        assert _written() == before
        assert db.session.get(WriteOffRequest, req.id).status == "pending"
        assert _late_loan().status == "active"


def test_a_refusal_needs_a_note_and_leaves_the_loan_untouched(app, demo):
    with app.app_context():
        loan = _late_loan()
        req = _ask(loan)
        with pytest.raises(wo.WriteOffError):
            wo.refuse(req, _user("reviewer2"), note=" ", now=clock.now())
        db.session.rollback()
        wo.refuse(db.session.get(WriteOffRequest, req.id), _user("reviewer2"), note="还有担保人可追偿", now=clock.now())
        req = db.session.get(WriteOffRequest, req.id)
        assert (req.status, req.decision_note, req.decided_by_id) == ("refused", "还有担保人可追偿", _user("reviewer2").id)
        assert _late_loan().status == "active" and _count(JournalEntry, JournalEntry.kind == "write_off") == 0
        assert _count(AuditLog, AuditLog.action == "write_off_refused") == 1
        with pytest.raises(wo.WriteOffError):  # decided once
            _approve(req)
        db.session.rollback()


def test_the_loss_basis_needs_the_loss_class(app, demo):
    with app.app_context():
        loan = _late_loan()
        req = _ask(loan, basis="loss_class", settings=LOSS_SOON)
        assert req.basis == "loss_class"


# --- the write-off in the books ----------------------------------------------------------------


def test_an_approved_write_off_moves_the_principal_off_the_books_into_the_memo(app, demo):
    with app.app_context():
        loan = _late_loan()
        loan_id = loan.id
        before = ledger_loans.figures(loan)
        principal = before["loan_principal"]
        receivable = before.get("interest_receivable", 0) + before.get("penalty_receivable", 0)
        assert principal > 0
        assert _balance("1303", loan_id) == principal
        whole_1303 = _balance("1303")
        req = _approve(_ask(loan))
        loan = db.session.get(Loan, loan_id)
        assert loan.status == "written_off" and loan.written_off_on == _today()
        assert loan.written_off_principal == Decimal(principal) / 100
        assert loan.written_off_interest == Decimal(receivable) / 100
        assert req.status == "approved" and req.entry_id is not None
        entry = db.session.get(JournalEntry, req.entry_id)
        assert entry.kind == "write_off" and entry.loan_id == loan_id and entry.source_type == "write_off"
        assert sum(x.debit for x in entry.lines) == sum(x.credit for x in entry.lines) > 0
        # 贷款 no longer holds it; the off-balance memo does, against its contra.
        assert _balance("1303", loan_id) == 0
        assert _balance("1303") == whole_1303 - principal
        assert _balance("7001", loan_id) == principal + receivable == -_balance("7002", loan_id)
        assert _balance("1304", loan_id) == principal + receivable  # the allowance absorbs the loss
        assert ledger_loans.reconcile().ok
        assert ledger_loans.reconcile(_today() - timedelta(days=1)).ok  # the day before: still on the books
        assert _count(AuditLog, AuditLog.action == "loan_written_off", AuditLog.object_id == loan_id) == 1
        # A written-off loan takes no repayment and no second write-off.
        with pytest.raises(loan_service.LoanError):
            loan_service.record_repayment(loan, amount="10", paid_on=_today().isoformat(), channel="cash",
                                          reference="AFTER", user=_user("cashier1"), today=_today(), now=clock.now(),
                                          expected_version=loan.version, settings=SETTINGS)
        db.session.rollback()
        with pytest.raises(wo.WriteOffError):
            _ask(db.session.get(Loan, loan_id))
        db.session.rollback()


def test_a_partial_recovery_posts_recovery_income_and_lowers_the_memo(app, demo):
    with app.app_context():
        loan = _late_loan()
        loan_id = loan.id
        _approve(_ask(loan))
        loan = db.session.get(Loan, loan_id)
        memo = _balance("7001", loan_id)
        income = _balance("6301")
        row = _recover(loan, "1200.50", "HS-001", channel="bank_transfer")
        loan = db.session.get(Loan, loan_id)
        assert loan.recovered == Decimal("1200.50") and row.entry_id is not None
        entry = db.session.get(JournalEntry, row.entry_id)
        assert entry.kind == "recovery" and entry.value_date == _today()
        assert _balance("6301") == income - 120050  # income: a credit
        assert _balance("7001", loan_id) == memo - 120050
        lines = {(x.account.code, int(x.debit * 100), int(x.credit * 100)) for x in entry.lines}
        assert ("1002", 120050, 0) in lines and ("6301", 0, 120050) in lines  # money in, recovery income
        assert ("7001", 0, 120050) in lines and ("7002", 120050, 0) in lines  # the memo lowered
        assert wo.off_balance(loan).remaining == Decimal(memo) / 100 - Decimal("1200.50")
        assert ledger_loans.reconcile().ok
        assert _count(AuditLog, AuditLog.action == "write_off_recovery") == 1


@pytest.mark.parametrize("amount,reference,channel,on,field", [
    ("0", "R-1", "cash", None, "amount"),
    ("-5", "R-1", "cash", None, "amount"),
    ("abc", "R-1", "cash", None, "amount"),
    ("99999999", "R-1", "cash", None, "amount"),        # more than the off-balance remainder
    ("100", "", "cash", None, "reference"),
    ("100", "HS-001", "cash", None, "reference"),       # the reference is already used
    ("100", "R-1", "cheque", None, "channel"),
    ("100", "R-1", "cash", "tomorrow", "received_on"),
    ("100", "R-1", "cash", "before", "received_on"),    # before the write-off
    ("100", "R-1", "cash", "2026-13-01", "received_on"),
])
def test_a_refused_recovery_writes_nothing(app, demo, amount, reference, channel, on, field):
    with app.app_context():
        loan = _late_loan()
        loan_id = loan.id
        _approve(_ask(loan))
        _recover(db.session.get(Loan, loan_id), "10", "HS-001")
        before = _written()
        loan = db.session.get(Loan, loan_id)
        day = {"tomorrow": (_today() + timedelta(days=1)).isoformat(),
               "before": (_today() - timedelta(days=1)).isoformat()}.get(on, on or _today().isoformat())
        with pytest.raises(wo.WriteOffError) as refused:
            wo.record_recovery(loan, _user("cashier1"), amount=amount, received_on=day, channel=channel,
                               reference=reference, today=_today(), now=clock.now(), settings=SETTINGS)
        assert field in refused.value.fields
        db.session.rollback()
        assert _written() == before
        assert db.session.get(Loan, loan_id).recovered == Decimal("10.00")


def test_only_a_written_off_loan_takes_a_recovery_and_only_from_the_cashier(app, demo):
    with app.app_context():
        loan = _late_loan()
        before = _written()
        with pytest.raises(wo.WriteOffError):
            _recover(loan, "10", "R-1")
        db.session.rollback()
        _approve(_ask(_late_loan()))
        with pytest.raises(wo.WriteOffError):
            _recover(_late_loan_any(), "10", "R-1", who="reviewer2")
        db.session.rollback()
        assert _count(Recovery) == 0 and _written()[0] == before[0] + 1


def _late_loan_any() -> Loan:
    return db.session.scalar(select(Loan).order_by(Loan.id))


def test_the_written_off_loan_stays_in_collection_until_recovered(app, demo):
    with app.app_context():
        loan = _late_loan()
        loan_id = loan.id
        _approve(_ask(loan))
        # The next installment falls due after the write-off: its collection task is still made.
        loan = db.session.get(Loan, loan_id)
        later = next(i for i in sorted(loan.installments, key=lambda i: i.seq) if i.due_date >= _today())
        day = later.due_date + timedelta(days=2)
        tasks.generate(day)
        db.session.commit()
        made = db.session.scalars(select(FollowUpTask).where(FollowUpTask.loan_id == loan_id,
                                                             FollowUpTask.kind == "collection")).all()
        assert any(t.installment_seq == later.seq and t.status == "open" for t in made)
        # Recovered in full: open tasks cancelled, and no new ones.
        remaining = wo.off_balance(loan).remaining
        _recover(loan, f"{remaining:.2f}", "ALL-BACK")
        assert _count(FollowUpTask, FollowUpTask.loan_id == loan_id, FollowUpTask.status == "open") == 0
        tasks.generate(day + timedelta(days=40))
        db.session.commit()
        assert _count(FollowUpTask, FollowUpTask.loan_id == loan_id, FollowUpTask.status == "open") == 0
        assert _balance("7001", loan_id) == 0 and ledger_loans.reconcile().ok


# --- the early settlement quote -----------------------------------------------------------------

NOW = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)
DAY = date(2026, 1, 15)


def _qian_loan(paid: list[tuple[int, str]]) -> Loan:
    """钱七's 15,000 (annuity, 12 months, 9.6 %), disbursed on DAY, with these repayments (day offset, yuan)."""
    application = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱七"))
    for t in application.transitions:
        t.at = min(t.at, NOW - timedelta(days=1))
    form = loan_service.DisbursementForm(amount="15000", disbursed_on=DAY.isoformat(), channel="bank_transfer",
                                         reference="BT-Q")
    loan = loan_service.disburse(application, form, _user("cashier1"), today=DAY, now=NOW, settings=SETTINGS)
    for k, (offset, amount) in enumerate(paid):
        on = DAY + timedelta(days=offset)
        loan_service.record_repayment(loan, amount=amount, paid_on=on.isoformat(), channel="cash", reference=f"Q-{k}",
                                      user=_user("cashier1"), today=on, now=NOW, expected_version=loan.version,
                                      settings=SETTINGS)
    return loan


@pytest.mark.parametrize("paid,offset", [
    ([], 0),                                   # on the day of disbursement: the principal only
    ([], 10),                                  # in the first period: its interest in full
    ([(31, "1312.21")], 45),                    # after the first installment, in the second period
    ([(20, "500")], 100),                       # late: overdue installments, penalty
    ([(31, "1312.21"), (95, "3000")], 200),     # a partial prepayment, then late
])
def test_the_quote_is_what_closes_the_loan_that_day(app, demo, paid, offset):
    with app.app_context():
        loan = _qian_loan(paid)
        on = DAY + timedelta(days=offset)
        q = settlement.quote(loan, on)
        assert q.total == q.principal + q.interest + q.penalty and q.principal > 0
        assert q.principal == sum(int((i.principal_due - i.principal_paid) * 100) for i in loan.installments)
        if offset <= 31 and not paid:
            assert q.penalty == 0
        loan_service.record_repayment(loan, amount=f"{q.yuan(q.total)}", paid_on=on.isoformat(), channel="cash",
                                      reference="SETTLE", user=_user("cashier1"), today=on, now=NOW,
                                      expected_version=loan.version, settings=SETTINGS)
        loan = db.session.get(Loan, loan.id)
        assert loan.status == "closed" and loan.closed_on == on
        settled = next(r for r in loan.repayments if r.reference == "SETTLE")
        assert not [p for p in settled.allocation["parts"] if p[1] == "unapplied"], "nothing beyond what was owed"


def test_one_fen_less_than_the_quote_leaves_the_loan_open(app, demo):
    with app.app_context():
        loan = _qian_loan([(31, "1312.21")])
        on = DAY + timedelta(days=45)
        q = settlement.quote(loan, on)
        loan_service.record_repayment(loan, amount=f"{q.yuan(q.total - 1)}", paid_on=on.isoformat(), channel="cash",
                                      reference="ALMOST", user=_user("cashier1"), today=on, now=NOW,
                                      expected_version=loan.version, settings=SETTINGS)
        assert db.session.get(Loan, loan.id).status == "active"


def test_a_quote_before_the_last_event_or_for_a_closed_loan_is_refused(app, demo):
    with app.app_context():
        loan = _qian_loan([(31, "1312.21")])
        with pytest.raises(settlement.QuoteError):
            settlement.quote(loan, DAY + timedelta(days=30))
        written = _late_loan()
        _approve(_ask(written))
        with pytest.raises(settlement.QuoteError):
            settlement.quote(db.session.get(Loan, written.id), _today())


def test_two_approvers_at_once_write_the_loan_off_once(app, demo):
    """Two senior reviewers approve the same request at the same moment, each in his own transaction:
    one writes the loan off, the other is told it was decided meanwhile; one entry."""
    import threading

    with app.app_context():
        request_id = _ask(_late_loan()).id
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def approve_as(username: str) -> None:
        try:
            with app.app_context():
                req = db.session.get(WriteOffRequest, request_id)
                user = _user(username)
                req.loan.installments  # loaded before the race: the race is the decision itself
                start.wait()
                try:
                    _approve(req, username)
                    outcomes.append("approved")
                except (wo.WriteOffChanged, wo.WriteOffError):
                    outcomes.append("refused")
                assert user is not None
                db.session.remove()
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=approve_as, args=(name,)) for name in ("reviewer2", "special1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["approved", "refused"]
    with app.app_context():
        assert _count(JournalEntry, JournalEntry.kind == "write_off") == 1
        assert _count(AuditLog, AuditLog.action == "loan_written_off") == 1
        assert db.session.get(WriteOffRequest, request_id).status == "approved"


def test_the_quote_of_a_restructured_loan_closes_it_that_day(app, demo):
    """After an extension the quote replays the new schedule from the day it took effect (as the
    loan page does): paid that day, it closes the loan with nothing left over."""
    from app.services import restructuring as rs_service
    from tests.integration.test_ledger_loans import _at
    from tests.integration.test_restructuring import _form
    from tests.integration.test_restructuring import _late_loan as _harvest_failed

    with app.app_context():
        loan, day = _harvest_failed()
        row = rs_service.request(loan, _form(term_months="18"), _user("officer1"), today=day, now=_at(day))
        rs_service.decide(row, _user("reviewer1"), approve=True, comment="属实", today=day, now=_at(day),
                          class_days=SETTINGS.class_days)
        loan = db.session.get(Loan, loan.id)
        with pytest.raises(settlement.QuoteError):  # before the new schedule took effect
            settlement.quote(loan, day - timedelta(days=1))
        on = day + timedelta(days=45)
        q = settlement.quote(loan, on)
        assert q.principal == sum(int((i.principal_due - i.principal_paid) * 100) for i in loan_service.current_schedule(loan))
        loan_service.record_repayment(loan, amount=f"{q.yuan(q.total)}", paid_on=on.isoformat(), channel="cash",
                                      reference="SETTLE-R", user=_user("cashier1"), today=on, now=_at(on),
                                      expected_version=loan.version, settings=SETTINGS)
        loan = db.session.get(Loan, loan.id)
        assert loan.status == "closed"
        settled = next(r for r in loan.repayments if r.reference == "SETTLE-R")
        assert not [p for p in settled.allocation["parts"] if p[1] == "unapplied"]


def test_a_past_days_figures_rebuilt_by_replay_keep_a_loan_written_off_later(app, demo):
    """Before its write-off the loan stood on the books: a past day's figures rebuilt by replay
    count it; from the day after the write-off they do not."""
    from datetime import timedelta

    from app.services import snapshots

    with app.app_context():
        loan = _late_loan()
        before = _today() - timedelta(days=5)
        kept = [r["principal"] for r in snapshots.replayed(before, [loan.id])]
        assert kept and kept[0] > 0
        _approve(_ask(loan))
        assert [r["principal"] for r in snapshots.replayed(before, [loan.id])] == kept
        assert list(snapshots.replayed(_today() + timedelta(days=1), [loan.id])) == []
