"""Restructuring and extension (重组 / 展期): requested with a reason, approved level by level, applied.

The request is checked against the product's rules (app.domain.restructure.RestructureRules: how
many restructurings, how long past the original maturity) and routed: first-level review always,
second-level and special review when the rules say so, the reasons stored with it. Each level is
decided by someone holding that level's role who neither asked nor decided an earlier level.

The last approval applies it in one transaction: the loan brought to the day, what its schedule
leaves owed split (app.domain.restructure.carry), the old installments settled as they stood and
kept (also as a snapshot on the request), the new schedule built by the same engine, the loan's
class held at the floor, and the change of the loan's balances posted to the books (kind
"restructure": capitalised interest moves from the receivable to the principal).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.domain import restructure as rs
from app.domain.i18n import N_
from app.domain.money import from_fen, to_fen
from app.extensions import db
from app.models import Installment, Loan, Product, User
from app.models.products import REPAYMENT_METHODS
from app.models.restructuring import LoanRestructuring
from app.services import audit, ledger_loans
from app.services import loans as loan_service
from app.services.errors import ServiceError

METHODS = REPAYMENT_METHODS
# Who decides each level (the applications' reviewers: the same people judge a loan's credit).
LEVEL_ROLES = {"l1": "reviewer1", "l2": "reviewer2", "special": "special_reviewer"}


class RestructureError(ServiceError, ValueError):
    """Refused input; ``errors`` (= ``fields``) maps a form field to an N_ message and its parameters."""

    def __init__(self, errors: dict[str, tuple[str, dict]]) -> None:
        super().__init__("invalid_restructure", N_("Some details need correcting."), fields=errors)
        self.errors = errors


@dataclass(frozen=True)
class RequestForm:
    kind: str = "extension"
    reason: str = ""
    note: str = ""
    term_months: str = ""
    method: str = ""
    grace_months: str = "0"
    capitalise: bool = False


def rules_of(product: Product) -> rs.RestructureRules:
    return rs.RestructureRules.from_dict(product.restructure_rules or {})


def facts_of(loan: Loan) -> rs.LoanFacts:
    current = loan_service.current_schedule(loan)
    original = loan.maturity_date
    if loan.restructure_count:
        first = db.session.scalar(select(LoanRestructuring).where(
            LoanRestructuring.loan_id == loan.id, LoanRestructuring.status == "approved").order_by(LoanRestructuring.id))
        if first is not None and first.old_schedule:
            original = date.fromisoformat(first.old_schedule[-1]["due_date"])
    return rs.LoanFacts(status=loan.status, method=loan.repayment_method, frequency=loan.frequency,
                        original_maturity=original, restructure_count=loan.restructure_count or 0,
                        principal_owed=sum(to_fen(i.principal_due) - to_fen(i.principal_paid) for i in current),
                        days_past_due=loan.days_past_due or 0)


def _int(text: str, field: str, errors: dict) -> int:
    text = (text or "").strip()
    if not text.isdecimal() or len(text) > 4:
        errors[field] = (N_("Enter a whole number of months."), {})
        return 0
    return int(text)


def pending_of(loan: Loan) -> LoanRestructuring | None:
    return db.session.scalar(select(LoanRestructuring).where(LoanRestructuring.loan_id == loan.id,
                                                             LoanRestructuring.status == "pending"))


def history_of(loan: Loan) -> list[LoanRestructuring]:
    return list(db.session.scalars(select(LoanRestructuring).where(LoanRestructuring.loan_id == loan.id)
                                   .order_by(LoanRestructuring.id)))


def request(loan: Loan, form: RequestForm, user: User, *, today: date, now: datetime, ip: str = "") -> LoanRestructuring:
    """Record a request (checked against the product's limits and routed); nothing is written when refused."""
    errors: dict[str, tuple[str, dict]] = {}
    term = _int(form.term_months, "term_months", errors)
    grace = _int(form.grace_months or "0", "grace_months", errors)
    terms = rs.Terms(kind=form.kind, reason=form.reason, note=form.note.strip(), term_months=term,
                     method=form.method or loan.repayment_method, grace_months=grace, capitalise=bool(form.capitalise))
    facts, rules = facts_of(loan), rules_of(loan.product)
    for field, problem in rs.check_terms(terms, facts, rules, effective_on=today, methods=REPAYMENT_METHODS).items():
        errors.setdefault(field, problem)
    if pending_of(loan) is not None:
        errors["kind"] = (N_("A request for this loan is already waiting for a decision."), {})
    if errors:
        raise RestructureError(errors)
    levels = [[level, message, params] for level, message, params in rs.levels_needed(rules, terms, facts)]
    row = LoanRestructuring(loan_id=loan.id, kind=terms.kind, reason=terms.reason, note=terms.note,
                            term_months=terms.term_months, method=terms.method, grace_months=terms.grace_months,
                            capitalise=terms.capitalise, levels=levels, decisions=[], requested_by_id=user.id,
                            requested_at=now, carried={}, old_schedule=[])
    db.session.add(row)
    db.session.flush()
    audit.record("restructure_requested", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 request_id=row.id, kind=terms.kind, reason=terms.reason, term_months=terms.term_months,
                 method=terms.method, grace_months=terms.grace_months, capitalise=terms.capitalise,
                 levels=[lv[0] for lv in levels])
    db.session.commit()
    return row


def chain(row: LoanRestructuring) -> list[str]:
    return ["l1", *[lv[0] for lv in row.levels or []]]


def next_level(row: LoanRestructuring) -> str | None:
    done = {d["level"] for d in row.decisions or [] if d.get("approve")}
    return next((level for level in chain(row) if level not in done), None) if row.status == "pending" else None


def may_decide(row: LoanRestructuring, user: User) -> bool:
    """Whether the request's next level is this user's to decide (the page offers the form)."""
    level = next_level(row)
    return (level is not None and user.has_role(LEVEL_ROLES[level]) and user.id != row.requested_by_id
            and all(d["user_id"] != user.id for d in row.decisions or []))


def may_withdraw(row: LoanRestructuring, user: User) -> bool:
    return row.status == "pending" and row.requested_by_id == user.id


def waiting_for(user: User) -> list[LoanRestructuring]:
    """The pending requests whose next level this user's roles decide."""
    rows = db.session.scalars(select(LoanRestructuring).where(LoanRestructuring.status == "pending")
                              .options(selectinload(LoanRestructuring.loan)).order_by(LoanRestructuring.id))
    return [r for r in rows if (lv := next_level(r)) is not None and user.has_role(LEVEL_ROLES[lv])]


def decide(row: LoanRestructuring, user: User, *, approve: bool, comment: str, today: date, now: datetime,
           class_days: tuple[int, ...], ip: str = "") -> LoanRestructuring:
    """Approve or refuse the request's next level; the last approval applies it."""
    # Read again under a row lock: two deciders at once decide one after the other, the second
    # seeing the first's decision (the loan's version guards the application itself).
    row = db.session.scalar(select(LoanRestructuring).where(LoanRestructuring.id == row.id)
                            .with_for_update().execution_options(populate_existing=True))
    level = next_level(row)
    if level is None:
        raise RestructureError({"comment": (N_("This request has already been decided."), {})})
    if not user.has_role(LEVEL_ROLES[level]):
        raise RestructureError({"comment": (N_("This request waits for the %(level)s."), {"level": rs.LEVELS[level]})})
    if user.id == row.requested_by_id or any(d["user_id"] == user.id for d in row.decisions or []):
        raise RestructureError({"comment": (N_("You asked for or already decided this request; someone else must decide it."), {})})
    comment = comment.strip()
    if not approve and not comment:
        raise RestructureError({"comment": (N_("Please say why it is refused."), {})})
    if len(comment) > 200:
        raise RestructureError({"comment": (N_("At most %(limit)s characters."), {"limit": 200})})
    row.decisions = [*(row.decisions or []), {"level": level, "user_id": user.id, "at": now.isoformat(),
                                              "approve": approve, "comment": comment}]
    audit.record("restructure_decided", actor_id=user.id, object_type="loan", object_id=row.loan_id, ip=ip,
                 request_id=row.id, level=level, approve=approve, comment=comment)
    if not approve:
        row.status = "refused"
    elif next_level(row) is None:
        _apply(row, user, today=today, class_days=class_days, ip=ip)
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise RestructureError({"comment": (N_("Someone else changed this loan meanwhile; reload and decide again."), {})}) from None
    return row


def _apply(row: LoanRestructuring, user: User, *, today: date, class_days: tuple[int, ...], ip: str) -> None:
    loan = db.session.get(Loan, row.loan_id)
    terms = rs.Terms(kind=row.kind, reason=row.reason, note=row.note, term_months=row.term_months, method=row.method,
                     grace_months=row.grace_months, capitalise=row.capitalise)
    rules = rules_of(loan.product)
    # The loan may have moved since the request (paid, closed, a month older): checked again.
    problems = rs.check_terms(terms, facts_of(loan), rules, effective_on=today, methods=REPAYMENT_METHODS)
    if problems:
        db.session.rollback()
        raise RestructureError(problems)
    before = ledger_loans.figures(loan)
    loan_service.rebuild(loan, max(today, loan.accrued_through or today), class_days)  # owed as of today
    current = loan_service.current_schedule(loan)
    old = [rs.OldInstallment(
        seq=i.seq, due_date=i.due_date, accrues_from=i.accrues_from or loan.disbursed_on,
        principal_due=to_fen(i.principal_due), principal_paid=to_fen(i.principal_paid), interest_due=to_fen(i.interest_due),
        interest_paid=to_fen(i.interest_paid), interest_carried=to_fen(i.interest_carried),
        penalty_accrued=to_fen(i.penalty_accrued), penalty_paid=to_fen(i.penalty_paid),
        settled=i.paid_off_on is not None) for i in current]
    owed = rs.carry(old, today)
    row.old_schedule = [{"seq": i.seq, "due_date": i.due_date.isoformat(), "principal_due": str(i.principal_due),
                         "interest_due": str(i.interest_due), "principal_paid": str(i.principal_paid),
                         "interest_paid": str(i.interest_paid), "penalty_accrued": str(i.penalty_accrued),
                         "penalty_paid": str(i.penalty_paid),
                         "paid_off_on": i.paid_off_on.isoformat() if i.paid_off_on else None} for i in current]
    # The old installments are settled as they stand: each keeps what was paid on it.
    for i in current:
        if i.paid_off_on is None:
            i.principal_due, i.interest_due, i.penalty_accrued = i.principal_paid, i.interest_paid, i.penalty_paid
            i.paid_off_on = today
    for r in loan.repayments:
        if r.reversed_at is None and not (r.allocation or {}).get("restructured"):
            r.allocation = {**(r.allocation or {}), "restructured": row.id}
    unpaid = owed.interest + owed.penalty
    principal = owed.principal + (unpaid if row.capitalise else 0)
    first_seq = max(i.seq for i in loan.installments) + 1
    try:
        lines = rs.new_schedule(from_fen(principal), annual_rate=loan.annual_rate, term_months=row.term_months,
                                grace_months=row.grace_months, method=row.method, start=today,
                                frequency=loan.frequency, day_count=loan.day_count, first_seq=first_seq)
    except rs.ScheduleError as e:
        db.session.rollback()
        raise RestructureError({"term_months": (e.message, e.params)}) from None
    starts = [today, *(line.due_date for line in lines)]
    for k, line in enumerate(lines):
        carried = unpaid if (k == 0 and not row.capitalise) else 0
        loan.installments.append(Installment(
            seq=line.seq, due_date=line.due_date, principal_due=line.principal,
            interest_due=line.interest + from_fen(carried), interest_carried=from_fen(carried), accrues_from=starts[k]))
    if row.capitalise:
        loan.capitalized_interest = (loan.capitalized_interest or Decimal("0")) + from_fen(unpaid)
    loan.restructured_on, loan.restructure_count = today, (loan.restructure_count or 0) + 1
    loan.schedule_from_seq, loan.maturity_date, loan.repayment_method = first_seq, lines[-1].due_date, row.method
    loan.class_floor, loan.class_floor_until = rules.class_floor, rs.add_months(today, rules.floor_months)
    db.session.flush()
    loan_service.rebuild(loan, today, class_days)
    entry = ledger_loans.post_change(loan, before, "restructure", value_date=today, user_id=user.id,
                                     source_type="restructuring", source_id=row.id,
                                     memo=loan.contract_no or "")
    row.status, row.effective_on, row.first_new_seq = "approved", today, first_seq
    row.carried = {"principal": owed.principal, "interest": owed.interest, "penalty": owed.penalty,
                   "capitalised": unpaid if row.capitalise else 0}
    row.entry_id = entry.id if entry is not None else None
    audit.record("loan_restructured", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 request_id=row.id, kind=row.kind, effective_on=today.isoformat(), principal=str(from_fen(principal)),
                 carried=row.carried, installments=len(lines), maturity=loan.maturity_date.isoformat(),
                 class_floor=rules.class_floor)


@dataclass(frozen=True)
class Decision:
    level: str
    name: str
    approve: bool
    comment: str
    at: str


def deciders(row: LoanRestructuring) -> list[Decision]:
    """The decisions so far, with the deciders' names (the request's page)."""
    ids = {d["user_id"] for d in row.decisions or []}
    names = {u.id: u.full_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [Decision(d["level"], names.get(d["user_id"], "?"), bool(d.get("approve")), d.get("comment", ""), d["at"][:16])
            for d in row.decisions or []]


def withdraw(row: LoanRestructuring, user: User, *, ip: str = "") -> None:
    if row.status != "pending":
        raise RestructureError({"comment": (N_("This request has already been decided."), {})})
    if row.requested_by_id != user.id:
        raise RestructureError({"comment": (N_("Only whoever asked can withdraw a request."), {})})
    row.status = "withdrawn"
    audit.record("restructure_withdrawn", actor_id=user.id, object_type="loan", object_id=row.loan_id, ip=ip,
                 request_id=row.id)
    db.session.commit()


def get(request_id: int) -> LoanRestructuring | None:
    return db.session.get(LoanRestructuring, request_id)


__all__ = ["LEVEL_ROLES", "METHODS", "Decision", "may_decide", "may_withdraw", "RequestForm", "deciders", "RestructureError", "chain", "decide", "facts_of", "get",
           "history_of", "next_level", "pending_of", "request", "rules_of", "waiting_for", "withdraw"]
