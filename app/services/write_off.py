"""Write-off (核销) of a lost loan and the recoveries after it: asked, decided, posted, audited.

- **Request** (``request``): headquarters' credit reviewers or the accountant (``ACTIONS
  ["request_write_off"]``) ask, with a reason, on one of two bases: ``loss_class`` — the loan is
  classified 损失 (loss) — or ``decision`` — a decision of the institution, which the reason names.
  Only a loan past due, neither closed nor already written off, with no other request pending.
- **Decision** (``approve`` / ``refuse``): a senior reviewer (``ACTIONS["approve_write_off"]``)
  who is not the requester. Approval re-checks the loan, then writes it off in the same commit:
  status ``written_off``, the principal outstanding and the interest and penalty receivable the
  books recognised (``ledger_loans.figures`` before the change) kept on the loan, and one journal
  entry (``ledger_loans.post_change``: 贷款损失准备 against 贷款 and 应收利息; 7001/7002 off balance).
- **Recovery** (``record_recovery``): money received afterwards, by the cashier: at most what is
  still off the books, a unique reference; posted as recovery income (营业外收入), the off-balance
  memo lowered by as much. A loan recovered in full has its open collection tasks cancelled.

The written-off loan stays in collection: the daily job keeps making its collection tasks
(app/services/tasks.py) until the off-balance remainder is recovered. Every refusal is a
``WriteOffError`` raised before anything is written.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.domain import dates
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.money import AmountError, from_fen, parse_amount
from app.extensions import db
from app.models import FollowUpTask, Loan, User
from app.models.write_off import Recovery, WriteOffRequest
from app.services import audit, ledger_loans
from app.services import loans as loan_service
from app.services.errors import ServiceError
from app.services.scope import ACTIONS, scope_clause

BASES: dict[str, str] = {
    "loss_class": N_("Classified as loss (损失)"),
    "decision": N_("By decision of the institution"),
}
STATUS_LABELS: dict[str, str] = {
    "pending": N_("Waiting for a decision"),
    "approved": N_("Approved: written off"),
    "refused": N_("Refused"),
}
REASON_MAX = 200


class WriteOffError(ServiceError, ValueError):
    """A write-off request, decision or recovery refused; ``fields`` names what to correct."""


def _refuse(field: str, message: str, **params: object) -> WriteOffError:
    return WriteOffError("write_off_refused", message, fields={field: (message, params)}, **params)


@dataclass(frozen=True)
class OffBalance:
    """What the write-off took off the books, what has come back since, and what is still owed."""

    principal: Decimal
    interest: Decimal
    recovered: Decimal

    @property
    def written_off(self) -> Decimal:
        return self.principal + self.interest

    @property
    def remaining(self) -> Decimal:
        return self.written_off - self.recovered


def off_balance(loan: Loan) -> OffBalance:
    return OffBalance(loan.written_off_principal or Decimal("0"), loan.written_off_interest or Decimal("0"),
                      loan.recovered or Decimal("0"))


def _days_past_due(loan: Loan, today: date, settings: loan_service.LoanSettings) -> tuple[int, str]:
    """Days past due and class as of today, from the loan's own replay (not the last job's figure)."""
    dpd = loan_service.position(loan, max(today, loan.accrued_through or today)).days_past_due()
    return dpd, rp.classify(dpd, settings.class_days)


def _check_loan(loan: Loan, today: date, settings: loan_service.LoanSettings, basis: str) -> None:
    if loan.status == "closed":
        raise _refuse("loan", N_("This loan is closed (repaid in full); there is nothing to write off."))
    if loan.status == "written_off":
        raise _refuse("loan", N_("This loan was already written off on %(date)s."),
                      date=loan.written_off_on.isoformat() if loan.written_off_on else "")
    dpd, cls = _days_past_due(loan, today, settings)
    if dpd <= 0:
        raise _refuse("loan", N_("This loan is not past due: only a loan in arrears can be written off."))
    if basis == "loss_class" and cls != "loss":
        raise _refuse("basis", N_("This loan is classified %(cls)s, not loss (损失): choose a write-off by decision "
                                  "and give the decision in the reason."), cls=rp.CLASS_LABELS[cls])


def pending_for(loan: Loan) -> WriteOffRequest | None:
    return db.session.scalar(select(WriteOffRequest).where(WriteOffRequest.loan_id == loan.id,
                                                           WriteOffRequest.status == "pending"))


def requests_of(loan: Loan) -> list[WriteOffRequest]:
    """The loan's requests, the newest first (decided ones stay as history)."""
    return list(db.session.scalars(select(WriteOffRequest).where(WriteOffRequest.loan_id == loan.id)
                                   .order_by(WriteOffRequest.id.desc())))


def pending(user: User) -> list[WriteOffRequest]:
    """The requests waiting for a decision, on the loans in the user's reach, the oldest first."""
    return list(db.session.scalars(
        select(WriteOffRequest).join(Loan, Loan.id == WriteOffRequest.loan_id)
        .where(WriteOffRequest.status == "pending", scope_clause(user, Loan))
        .options(selectinload(WriteOffRequest.loan).selectinload(Loan.borrower))
        .order_by(WriteOffRequest.requested_at, WriteOffRequest.id)))


@dataclass(frozen=True)
class Panel:
    """What the loan page shows of a write-off: requests (the pending one apart), the off-balance
    figures and the recoveries."""

    pending: WriteOffRequest | None
    requests: list[WriteOffRequest]
    off_balance: OffBalance
    recoveries: list[Recovery]

    @property
    def bases(self) -> dict[str, str]:
        return BASES

    @property
    def statuses(self) -> dict[str, str]:
        return STATUS_LABELS


def panel(loan: Loan) -> Panel:
    history = requests_of(loan)
    return Panel(next((r for r in history if r.status == "pending"), None), history, off_balance(loan),
                 recoveries(loan) if loan.status == "written_off" else [])


def request(loan: Loan, user: User, *, basis: str, reason: str, today: date, now: datetime,
            settings: loan_service.LoanSettings, ip: str = "") -> WriteOffRequest:
    """Ask for the loan to be written off. Refused (nothing written): a user who may not ask, an
    unknown basis, no reason, a closed, written-off or not past due loan, a loss basis for a loan
    not classified loss, a request already pending."""
    if not user.has_role(*ACTIONS["request_write_off"]):
        raise _refuse("loan", N_("Your role may not ask for a write-off."))
    reason = (reason or "").strip()
    if basis not in BASES:
        raise _refuse("basis", N_("Choose the basis of the write-off: the loss class, or a decision."))
    if not reason:
        raise _refuse("reason", N_("Give the reason for the write-off (for a decision: which decision)."))
    if len(reason) > REASON_MAX:
        raise _refuse("reason", N_("At most %(limit)s characters."), limit=REASON_MAX)
    _check_loan(loan, today, settings, basis)
    if pending_for(loan) is not None:
        raise _refuse("loan", N_("A write-off of this loan is already waiting for a decision."))
    row = WriteOffRequest(loan_id=loan.id, basis=basis, reason=reason, status="pending", requested_by_id=user.id,
                          requested_at=now, decision_note="")
    db.session.add(row)
    db.session.flush()
    audit.record("write_off_requested", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 request_id=row.id, basis=basis, reason=reason)
    db.session.commit()
    return row


def _check_decider(req: WriteOffRequest, user: User, note: str) -> str:
    if not user.has_role(*ACTIONS["approve_write_off"]):
        raise _refuse("decision", N_("Your role may not decide a write-off."))
    if req.status != "pending":
        raise _refuse("decision", N_("This request has already been decided."))
    if req.requested_by_id == user.id:
        raise _refuse("decision", N_("You asked for this write-off, so a second person must decide it."))
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        raise _refuse("note", N_("At most %(limit)s characters."), limit=REASON_MAX)
    return note


def approve(req: WriteOffRequest, user: User, *, note: str = "", today: date, now: datetime,
            settings: loan_service.LoanSettings, ip: str = "") -> WriteOffRequest:
    """Approve the request and write the loan off, in one commit with its journal entry."""
    note = _check_decider(req, user, note)
    loan = req.loan
    _check_loan(loan, today, settings, req.basis)  # the loan may have changed since the request
    _claim(req, "approved", user, now, note)
    with _undone_on_refusal():
        before = ledger_loans.figures(loan)
        principal = before.get("loan_principal", 0)
        interest = before.get("interest_receivable", 0) + before.get("penalty_receivable", 0)
        loan.status, loan.written_off_on = "written_off", today
        loan.written_off_principal, loan.written_off_interest = from_fen(principal), from_fen(interest)
        db.session.flush()
        entry = ledger_loans.post_change(loan, before, "write_off", value_date=today, user_id=user.id,
                                         source_type="write_off", source_id=req.id)
    db.session.execute(update(WriteOffRequest).where(WriteOffRequest.id == req.id)
                       .values(entry_id=entry.id if entry is not None else None)
                       .execution_options(synchronize_session=False))
    audit.record("loan_written_off", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 request_id=req.id, basis=req.basis, requested_by=req.requested_by_id, note=note,
                 principal=str(loan.written_off_principal), interest=str(loan.written_off_interest),
                 entry_id=entry.id if entry is not None else None)
    _commit()
    db.session.refresh(req)
    return req


def _claim(req: WriteOffRequest, status: str, user: User, now: datetime, note: str) -> None:
    """Decide a pending request: one decision per request, even from two approvers at once."""
    claimed = db.session.execute(
        update(WriteOffRequest).where(WriteOffRequest.id == req.id, WriteOffRequest.status == "pending")
        .values(status=status, decided_by_id=user.id, decided_at=now, decision_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise WriteOffChanged()


def refuse(req: WriteOffRequest, user: User, *, note: str, now: datetime, ip: str = "") -> WriteOffRequest:
    """Refuse the request, with a note saying why; the loan is untouched."""
    note = _check_decider(req, user, note)
    if not note:
        raise _refuse("note", N_("Say why the write-off is refused."))
    _claim(req, "refused", user, now, note)
    audit.record("write_off_refused", actor_id=user.id, object_type="loan", object_id=req.loan_id, ip=ip,
                 request_id=req.id, note=note)
    _commit()
    db.session.refresh(req)
    return req


def decide(loan: Loan, user: User, *, decision: str, note: str, today: date, now: datetime,
           settings: loan_service.LoanSettings, ip: str = "") -> bool:
    """Approve (True) or refuse (False) the loan's pending request, as the decider chose."""
    req = pending_for(loan)
    if req is None:
        raise _refuse("decision", N_("No write-off of this loan is waiting for a decision."))
    if decision == "approve":
        approve(req, user, note=note, today=today, now=now, settings=settings, ip=ip)
        return True
    if decision == "refuse":
        refuse(req, user, note=note, now=now, ip=ip)
        return False
    raise _refuse("decision", N_("Choose to approve or to refuse the write-off."))


def recoveries(loan: Loan) -> list[Recovery]:
    return list(db.session.scalars(select(Recovery).where(Recovery.loan_id == loan.id).order_by(Recovery.received_on,
                                                                                                  Recovery.id)))


def record_recovery(loan: Loan, user: User, *, amount: str, received_on: str, channel: str, reference: str,
                    today: date, now: datetime, settings: loan_service.LoanSettings, ip: str = "") -> Recovery:
    """Record money received on a written-off loan and post it as recovery income, in one commit."""
    if not user.has_role(*ACTIONS["handle_money"]):
        raise _refuse("amount", N_("Your role may not record money received."))
    if loan.status != "written_off":
        raise _refuse("amount", N_("This loan is not written off: take a repayment instead."))
    errors: dict[str, tuple[str, dict]] = {}
    value = None
    try:
        value = parse_amount(amount)
    except AmountError as e:
        errors["amount"] = (e.message, dict(e.params))
    remaining = off_balance(loan).remaining
    if value is not None and value <= 0:
        errors["amount"] = (N_("The amount must be more than zero."), {})
    elif value is not None and value > remaining:
        errors["amount"] = (N_("This is more than what is still owed off the books (%(remaining)s yuan)."),
                            {"remaining": f"{remaining:,.2f}"})
    on = None
    try:
        on = date.fromisoformat((received_on or "").strip())
    except ValueError:
        errors["received_on"] = (N_("Enter the date as YYYY-MM-DD."), {})
    if on is not None and (problem := dates.check_business_date(
            on, today=today, max_back_days=settings.backdate_max_days, not_before=loan.written_off_on,
            not_before_what=N_("the write-off"))):
        errors["received_on"] = problem
    if channel not in loan_service.CHANNELS:
        errors["channel"] = (N_("Choose how the money was paid."), {})
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = (N_("Enter the receipt or payment reference."), {})
    elif len(reference) > 50:
        errors["reference"] = (N_("At most %(limit)s characters."), {"limit": 50})
    elif db.session.scalar(select(func.count()).select_from(Recovery).where(Recovery.loan_id == loan.id,
                                                                           Recovery.reference == reference)):
        errors["reference"] = (N_("Money with this reference is already recorded on this loan."), {})
    if errors:
        raise WriteOffError("invalid_recovery", N_("Some details need correcting."), fields=errors)
    assert value is not None and on is not None
    with _undone_on_refusal():
        before = ledger_loans.figures(loan)
        row = Recovery(loan_id=loan.id, amount=value, received_on=on, channel=channel, reference=reference,
                       recorded_by_id=user.id, recorded_at=now)
        db.session.add(row)
        loan.recovered = (loan.recovered or Decimal("0")) + value
        db.session.flush()
        entry = ledger_loans.post_change(loan, before, "recovery", value_date=on, user_id=user.id,
                                         source_type="recovery", source_id=row.id)
    row.entry_id = entry.id if entry is not None else None
    if off_balance(loan).remaining <= 0:
        # Everything written off has come back: no more collection visits.
        db.session.execute(update(FollowUpTask).where(FollowUpTask.loan_id == loan.id, FollowUpTask.status == "open")
                           .values(status="cancelled").execution_options(synchronize_session=False))
    audit.record("write_off_recovery", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 recovery_id=row.id, amount=str(value), received_on=on.isoformat(), channel=channel,
                 reference=reference, remaining=str(off_balance(loan).remaining))
    _commit()
    return row


class WriteOffChanged(ServiceError):
    """Someone else decided the request or changed the loan first."""

    def __init__(self) -> None:
        super().__init__("loan_changed", N_("Someone else changed this loan meanwhile; check it and try again."))


@contextmanager
def _undone_on_refusal() -> Iterator[None]:
    """A refusal from the books (a closed day or period, an unmapped account) or another writer
    first: the session's changes are rolled back, so nothing of the event stays."""
    try:
        yield
    except ServiceError:
        db.session.rollback()
        raise
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise WriteOffChanged() from None


def _commit() -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise WriteOffChanged() from None
