"""Disbursement, repayments and their reversal: each one transaction, audited.

The loan's installment figures are always rebuilt from its schedule and its non-reversed
repayments by ``app.domain.repayment.replay``; nothing is patched incrementally here, so a
reversal or a back-dated repayment re-allocates everything after it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.domain import dates
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount
from app.domain.restructure import floor_class
from app.domain.schedule import Schedule, ScheduleError, ScheduleRequest, build_schedule
from app.domain.workflow import Event, State
from app.extensions import db
from app.models import Application, FollowUpTask, Installment, Loan, Repayment, Transition, User
from app.models.loans import ContractCounter
from app.services import applications as app_service
from app.services import audit
from app.services import guarantees
from app.services import holidays
from app.services import ledger_loans
from app.services.errors import ServiceError
from app.storage import PhotoStore, sha256_of_file
from app.storage.validation import PhotoRejected, validate_image

CHANNELS: dict[str, str] = {
    "cash": N_("Cash"),
    "bank_transfer": N_("Bank transfer"),
    "mobile_payment": N_("Mobile payment"),
}
# Channels only the system records (never offered on the cashier's form): a repayment an officer
# took in the village (app/services/field_collections.py), its cash in transit until deposited.
INTERNAL_CHANNELS: dict[str, str] = {
    "field": N_("Field collection"),
}
# A repayment may exceed what is owed by this much (change not given back in coins).
OVERPAYMENT_TOLERANCE = Decimal("1.00")


class LoanError(ServiceError, ValueError):
    """Refused input; ``errors`` (= ``fields``) maps a form field to an N_ message and its parameters."""

    def __init__(self, errors: dict[str, tuple[str, dict]]) -> None:
        super().__init__("invalid_loan_input", N_("Some details need correcting."), fields=errors)
        self.errors = errors


@dataclass(frozen=True)
class DisbursementForm:
    amount: str
    disbursed_on: str
    channel: str
    reference: str
    due_dates: str = ""  # custom-frequency products (a harvest loan): the due date(s), comma separated


def _date(text: str, field: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = (N_("Enter the date as YYYY-MM-DD."), {})
        return None


@dataclass(frozen=True)
class LoanSettings:
    """What the institution configures for loan accounts (app/config.py), read once at the edge."""

    backdate_max_days: int = dates.DEFAULT_BACKDATE_MAX_DAYS
    class_days: tuple[int, ...] = rp.DEFAULT_CLASS_DAYS

    @classmethod
    def from_config(cls, config) -> LoanSettings:
        days = tuple(int(d) for d in (config.get("LOAN_CLASS_DAYS") or rp.DEFAULT_CLASS_DAYS))
        if len(days) != 4 or list(days) != sorted(days) or days[0] < 1:
            raise ValueError("LOAN_CLASS_DAYS needs four increasing days, the first at least 1")
        return cls(int(config.get("BACKDATE_MAX_DAYS", dates.DEFAULT_BACKDATE_MAX_DAYS)), days)


def approved_on(application: Application) -> date | None:
    """The business date of the application's last approval (it reached awaiting disbursement)."""
    at = db.session.scalar(
        select(Transition.at).where(Transition.application_id == application.id,
                                    Transition.to_state == State.AWAITING_DISBURSEMENT.value)
        .order_by(Transition.id.desc()).limit(1))
    return dates.business_date_of(at) if at is not None else None


def schedule_for(application: Application, amount: Decimal, start: date, due_dates: tuple[date, ...] = ()) -> Schedule:
    product = application.product
    return build_schedule(ScheduleRequest(
        principal=amount, annual_rate=product.annual_rate, term_months=application.term_months,
        method=product.repayment_method, start=start, frequency=product.frequency,
        day_count=product.day_count, due_dates=due_dates if product.frequency == "custom" else (),
        # The product may move due dates off holidays and weekends (app/services/holidays.py).
        working_days=holidays.working_days() if product.holiday_shift else None,
    ))


def disburse(application: Application, form: DisbursementForm, user: User, *, today: date, now: datetime,
             settings: LoanSettings, ip: str = "") -> Loan:
    """Create the loan and its schedule and move the application to disbursed, in one commit."""
    errors: dict[str, tuple[str, dict]] = {}
    amount = None
    try:
        amount = parse_amount(form.amount)
    except AmountError as e:
        errors["amount"] = (e.message, e.params)
    if amount is not None and not Decimal("0") < amount <= application.amount:
        errors["amount"] = (N_("The amount must be more than zero and at most the approved %(approved)s yuan."),
                            {"approved": f"{application.amount:,.2f}"})
    on = _date(form.disbursed_on, "disbursed_on", errors)
    if on is not None:
        # Not ahead of today, not before the approval, not older than the back-dating window.
        problem = dates.check_business_date(on, today=today, max_back_days=settings.backdate_max_days,
                                            not_before=approved_on(application), not_before_what=N_("the approval"))
        if problem:
            errors["disbursed_on"] = problem
    if form.channel not in CHANNELS:
        errors["channel"] = (N_("Choose how the money was paid out."), {})
    reference = form.reference.strip()
    if form.channel != "cash" and not reference:
        errors["reference"] = (N_("Enter the bank or payment reference."), {})
    if len(reference) > 50:
        errors["reference"] = (N_("At most %(limit)s characters."), {"limit": 50})
    due_dates: tuple[date, ...] = ()
    if application.product.frequency == "custom":
        parsed = [_date(d, "due_dates", errors) for d in form.due_dates.replace("，", ",").split(",") if d.strip()]
        if not parsed:
            errors["due_dates"] = (N_("Enter the due date agreed with the borrower (e.g. after the harvest)."), {})
        due_dates = tuple(d for d in parsed if d is not None)
    schedule = None
    if not errors:
        try:
            schedule = schedule_for(application, amount, on, due_dates)
        except ScheduleError as e:
            errors["amount"] = (e.message, e.params)
    if errors:
        raise LoanError(errors)
    assert amount is not None and on is not None and schedule is not None
    from app.services import light_path

    try:  # a light-path application: its pre-approval must still hold the amount; it is used now
        light_path.use_preapproval(application, amount, today, user, ip=ip)
    except light_path.LightPathError as e:
        db.session.rollback()
        raise LoanError({"amount": (e.message, e.params)}) from None
    product = application.product
    loan = Loan(
        application=application, borrower_id=application.borrower_id, product_id=product.id,
        officer_id=application.officer_id, office_id=application.office_id, principal=amount,
        annual_rate=product.annual_rate, repayment_method=product.repayment_method,
        frequency=product.frequency, day_count=product.day_count, penalty_rate=product.penalty_rate,
        allocation_order=list(product.allocation_order or []), term_months=application.term_months,
        disbursed_on=on, maturity_date=schedule.lines[-1].due_date,
        channel=form.channel, reference=reference, disbursed_by_id=user.id, accrued_through=on,
        created_at=now, contract_no=next_contract_no(application.office, on.year),
    )
    starts = [on, *(line.due_date for line in schedule.lines)]  # each period runs from the due date before
    loan.installments = [
        Installment(seq=line.seq, due_date=line.due_date, principal_due=line.principal, interest_due=line.interest,
                    accrues_from=starts[k])
        for k, line in enumerate(schedule.lines)
    ]
    loan.accounting_basis = product.accounting_basis or "accrual"
    ledger_loans.mark_new(loan)
    db.session.add(loan)
    db.session.flush()
    ledger_loans.post_change(loan, {}, "disbursement", value_date=on, user_id=user.id, source_type="loan",
                             source_id=loan.id, memo=loan.contract_no or "")
    audit.record("loan_disbursed", actor_id=user.id, object_type="application", object_id=application.id, ip=ip,
                 amount=str(amount), on=on.isoformat(), channel=form.channel, reference=reference,
                 installments=len(schedule.lines), contract_no=loan.contract_no)
    try:
        app_service.act(application.id, Event.DISBURSE, user, now=now, ip=ip)
    except Exception:
        db.session.rollback()
        raise
    return loan


def next_contract_no(office, year: int) -> str:
    """The next contract number of an office and year, e.g. ``CG-2026-00017``, in the caller's
    transaction. The year's counter row is made if missing by an INSERT that ignores a duplicate,
    then bumped by one UPDATE, which holds the row's lock until commit: two cashiers never get the
    same number (``loans.contract_no`` is unique besides). A number whose disbursement is undone is
    not given again."""
    where = (ContractCounter.office_id == office.id, ContractCounter.year == year)
    new_row = insert(ContractCounter).values(office_id=office.id, year=year, last_no=0)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(new_row.prefix_with("OR IGNORE"))  # SQLite serialises writers: no lock to fear
    elif db.session.execute(select(ContractCounter.last_no).where(*where)).first() is None:
        # InnoDB: inserted in our transaction, two first disbursements of a year would deadlock on
        # the gap and duplicate-key locks; made and committed on its own connection, they just queue.
        with db.engine.begin() as conn:
            conn.execute(new_row.prefix_with("IGNORE"))
    db.session.execute(
        update(ContractCounter).where(*where)
        .values(last_no=ContractCounter.last_no + 1).execution_options(synchronize_session=False)
    )
    n = db.session.scalar(select(ContractCounter.last_no).where(*where))
    return f"{office.code}-{year}-{n:05d}"


def calculate(product, raw: dict[str, str]) -> Schedule:
    """The repayment calculator: the product's method and limits, the rate given in percent."""
    errors: dict[str, tuple[str, dict]] = {}
    try:
        rate_percent = Decimal(raw.get("rate_percent", "").strip())
        if not rate_percent.is_finite():
            raise ArithmeticError
    except ArithmeticError:
        rate_percent = None
        errors["rate_percent"] = (N_("Enter the annual rate in percent, e.g. 9.6."), {})
    if rate_percent is not None and not product.min_rate * 100 <= rate_percent <= product.max_rate * 100:
        errors["rate_percent"] = (N_("The rate must be between %(min)s %% and %(max)s %% for this loan type."),
                                  {"min": f"{product.min_rate * 100:.2f}", "max": f"{product.max_rate * 100:.2f}"})
    term = raw.get("term_months", "").strip()
    if not term.isdecimal() or not product.min_term_months <= int(term) <= product.max_term_months:
        errors["term_months"] = (N_("The term must be between %(min)s and %(max)s months for this loan type."),
                                 {"min": product.min_term_months, "max": product.max_term_months})
    amount = None
    try:
        amount = parse_amount(raw.get("amount", ""))
    except AmountError as e:
        errors["amount"] = (e.message, e.params)
    if amount is not None and not product.min_amount <= amount <= product.max_amount:
        errors["amount"] = (N_("The amount must be between %(min)s and %(max)s yuan for this loan type."),
                            {"min": f"{product.min_amount:,.2f}", "max": f"{product.max_amount:,.2f}"})
    start = _date(raw.get("start", ""), "start", errors)
    due_dates: tuple[date, ...] = ()
    if product.frequency == "custom":
        parsed = [_date(d, "due_dates", errors) for d in raw.get("due_dates", "").replace("，", ",").split(",") if d.strip()]
        if not parsed and "due_dates" not in errors:
            errors["due_dates"] = (N_("Enter the due date agreed with the borrower (e.g. after the harvest)."), {})
        due_dates = tuple(d for d in parsed if d is not None)
    if errors:
        raise LoanError(errors)
    assert rate_percent is not None and amount is not None and start is not None
    try:
        return build_schedule(ScheduleRequest(
            principal=amount, annual_rate=rate_percent / 100, term_months=int(term), method=product.repayment_method,
            start=start, frequency=product.frequency, day_count=product.day_count, due_dates=due_dates,
            working_days=holidays.working_days() if product.holiday_shift else None,
        ))
    except ScheduleError as e:
        raise LoanError({"amount": (e.message, e.params)}) from None


def undo_disbursement(loan: Loan, user: User, reason: str, *, now: datetime, ip: str = "") -> None:
    """A second cashier undoes a mistaken disbursement before any repayment; the loan goes, audited."""
    if loan.repayments:
        raise LoanError({"reason": (N_("A repayment has been recorded on this loan: the disbursement can no longer be undone."), {})})
    if loan.status != "active":
        raise LoanError({"reason": (N_("Only an active loan's disbursement can be undone."), {})})
    if loan.restructure_count:
        raise LoanError({"reason": (N_("This loan has been restructured: the disbursement can no longer be undone."), {})})
    if any(t.status == "done" for t in _tasks_of(loan)):
        raise LoanError({"reason": (N_("A visit has been reported on this loan: the disbursement can no longer be undone."), {})})
    snapshot = {
        "principal": str(loan.principal), "disbursed_on": loan.disbursed_on.isoformat(), "channel": loan.channel,
        "reference": loan.reference, "disbursed_by": loan.disbursed_by_id, "contract_no": loan.contract_no,
        "installments": [[i.seq, i.due_date.isoformat(), str(i.principal_due), str(i.interest_due)] for i in loan.installments],
    }
    application_id = loan.application_id
    from app.services import light_path

    light_path.release_preapproval(loan.application, user, ip=ip)  # a light path's pre-approval is given back
    # The books: the disbursement's entry mirrored, and any interest accrued since taken back.
    ledger_loans.post_undo(loan, ledger_loans.figures(loan), {}, ledger_loans.source_entry("disbursement", "loan", loan.id),
                           "disbursement_undone", "disbursement_undone", value_date=loan.disbursed_on, user_id=user.id,
                           memo=reason.strip()[:200], source_type="loan", source_id=loan.id)
    for task in _tasks_of(loan):  # open or cancelled, nothing done: moot with the loan
        db.session.delete(task)
    db.session.delete(loan)
    audit.record("loan_disbursement_undone", actor_id=user.id, object_type="application", object_id=application_id,
                 ip=ip, reason=reason.strip(), loan=snapshot)
    try:
        app_service.act(application_id, Event.UNDO_DISBURSEMENT, user, now=now, comment=reason, ip=ip)
    except Exception:
        db.session.rollback()
        raise


def _tasks_of(loan: Loan) -> list[FollowUpTask]:
    return list(db.session.scalars(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id)))


def position(loan: Loan, as_of: date) -> rp.Position:
    """The loan's current schedule replayed with its repayments up to ``as_of``. After a
    restructuring, the current schedule is the new one, replayed from the day it took effect with
    the repayments since; the old schedule and the repayments it took stay as they were."""
    schedule = [(i.seq, i.due_date, i.principal_due, i.interest_due) for i in current_schedule(loan)]
    payments = [rp.Payment(r.id, r.paid_on, r.amount) for r in replayed_repayments(loan)]
    return rp.replay(schedule, payments, penalty_rate=loan.penalty_rate, as_of=as_of,
                     start=loan.restructured_on or loan.disbursed_on, order=rp.validate_order(loan.allocation_order or ()))


def replayed_repayments(loan: Loan) -> list[Repayment]:
    """The standing repayments the current schedule takes (not those an earlier schedule kept)."""
    return [r for r in loan.repayments if r.reversed_at is None and not (r.allocation or {}).get("restructured")]


@dataclass(frozen=True)
class Segment:
    """One schedule a loan ran on: from ``start`` until ``end`` (the restructuring that replaced it;
    None for the schedule now), its lines, and which repayments it took."""

    start: date
    end: date | None
    lines: list[tuple[int, date, Decimal, Decimal]]
    restructuring_id: int | None  # the mark its repayments carry (None: the schedule now)

    def takes(self, r: Repayment) -> bool:
        return (r.allocation or {}).get("restructured") == self.restructuring_id


def schedule_segments(loan: Loan) -> list[Segment]:
    """The schedules the loan ran on, oldest first: each restructuring kept the one it replaced."""
    from app.models.restructuring import LoanRestructuring

    segments, start = [], loan.disbursed_on
    if loan.restructure_count:
        for row in db.session.scalars(select(LoanRestructuring).where(
                LoanRestructuring.loan_id == loan.id, LoanRestructuring.status == "approved")
                .order_by(LoanRestructuring.effective_on, LoanRestructuring.id)):
            lines = [(x["seq"], date.fromisoformat(x["due_date"]), Decimal(x["principal_due"]), Decimal(x["interest_due"]))
                     for x in row.old_schedule]
            segments.append(Segment(start, row.effective_on, lines, row.id))
            start = row.effective_on
    segments.append(Segment(start, None, [(i.seq, i.due_date, i.principal_due, i.interest_due)
                                          for i in current_schedule(loan)], None))
    return segments


def current_schedule(loan: Loan) -> list[Installment]:
    """The installments of the loan's schedule now (after a restructuring, the new one)."""
    return [i for i in _scheduled(loan) if i.seq >= (loan.schedule_from_seq or 1)]


def schedule_rows(loan: Loan) -> list[rp.ScheduleRow]:
    """The loan page's schedule: each installment's total (principal + interest + penalty accrued)
    and the principal still owed after it."""
    current = current_schedule(loan)
    return rp.schedule_rows(sum((i.principal_due for i in current), Decimal("0")),
                            [(i.seq, i.principal_due, i.interest_due, i.penalty_accrued) for i in current])


def repayment_splits(loan: Loan, pos: rp.Position) -> dict[int, rp.RepaymentSplit]:
    """How each standing repayment was allocated: the split stored with it when the loan was last
    rebuilt, else (a repayment stored before splits were kept) the same replay's allocation."""
    return {r.id: rp.split_allocation((r.allocation or {}).get("parts") or pos.allocations.get(r.id, []))
            for r in loan.repayments if r.reversed_at is None}


def _scheduled(loan: Loan) -> list[Installment]:
    return sorted(loan.installments, key=lambda i: i.seq)


def store_receipt(upload: BinaryIO, store: PhotoStore, *, max_bytes: int, max_pixels: int) -> str:
    """Keep a photo of the paper receipt, checked by Pillow; returns its SHA-256."""
    fd, name = tempfile.mkstemp(suffix=".upload", dir=store.uploads_dir)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(upload, out, 1024 * 1024)
        try:
            validate_image(tmp, max_bytes=max_bytes, max_pixels=max_pixels)
        except PhotoRejected as e:
            raise LoanError({"receipt": (e.message, dict(e.params))}) from None
        digest = sha256_of_file(tmp)
        store.put_file(digest, tmp)
        return digest
    finally:
        tmp.unlink(missing_ok=True)


def record_repayment(
    loan: Loan, *, amount: str, paid_on: str, channel: str, reference: str, user: User,
    today: date, now: datetime, expected_version: int, settings: LoanSettings, ip: str = "",
    receipt: BinaryIO | None = None,
    store: PhotoStore | None = None, max_photo_bytes: int = 0, max_photo_pixels: int = 0,
    internal: bool = False, before_commit: Callable[[Repayment], None] | None = None,
) -> Repayment:
    """Record one repayment; ``receipt`` (a photo of the paper receipt) is stored only once the
    repayment itself checks out, so a refused one leaves no file behind.
    ``internal`` admits INTERNAL_CHANNELS (a field collection); ``before_commit`` is called with the
    flushed repayment just before the one commit (the caller's own rows join the transaction)."""
    errors: dict[str, tuple[str, dict]] = {}
    value = None
    try:
        value = parse_amount(amount)
    except AmountError as e:
        errors["amount"] = (e.message, e.params)
    if value is not None and value <= 0:
        errors["amount"] = (N_("The amount must be more than zero."), {})
    on = _date(paid_on, "paid_on", errors)
    if on is not None and on > today:
        errors["paid_on"] = (N_("The date cannot be in the future."), {})
    elif on is not None and on < loan.disbursed_on:
        errors["paid_on"] = (N_("The loan was disbursed on %(date)s; a repayment cannot be earlier."),
                             {"date": loan.disbursed_on.isoformat()})
    elif on is not None and loan.restructured_on is not None and on < loan.restructured_on:
        errors["paid_on"] = (N_("The loan was restructured on %(date)s; a repayment cannot be dated before it."),
                             {"date": loan.restructured_on.isoformat()})
    elif on is not None and (problem := dates.check_business_date(on, today=today, max_back_days=settings.backdate_max_days)):
        errors["paid_on"] = problem
    if channel not in CHANNELS and not (internal and channel in INTERNAL_CHANNELS):
        errors["channel"] = (N_("Choose how the money was paid."), {})
    reference = reference.strip()
    if not reference:
        errors["reference"] = (N_("Enter the receipt or payment reference."), {})
    elif len(reference) > 50:
        errors["reference"] = (N_("At most %(limit)s characters."), {"limit": 50})
    elif db.session.scalar(select(func.count()).select_from(Repayment).where(
            Repayment.loan_id == loan.id, Repayment.reference == reference)):
        errors["reference"] = (N_("A repayment with this reference is already recorded on this loan."), {})
    if loan.status != "active":
        errors["amount"] = (N_("This loan is closed; nothing is owed."), {})
    elif value is not None and on is not None and "amount" not in errors:
        owed = position(loan, max(on, loan.accrued_through or on)).outstanding(loan.penalty_rate)
        if value > owed + OVERPAYMENT_TOLERANCE:
            errors["amount"] = (N_("This is more than everything owed (%(owed)s yuan)."), {"owed": f"{owed:,.2f}"})
    if errors:
        raise LoanError(errors)
    if loan.version != expected_version:
        raise LoanChanged()
    assert value is not None and on is not None
    before = ledger_loans.figures(loan)
    receipt_sha256 = ""
    if receipt is not None:
        assert store is not None
        receipt_sha256 = store_receipt(receipt, store, max_bytes=max_photo_bytes, max_pixels=max_photo_pixels)
    repayment = Repayment(loan=loan, amount=value, paid_on=on, channel=channel, reference=reference,
                          recorded_by_id=user.id, recorded_at=now, receipt_sha256=receipt_sha256)
    db.session.add(repayment)
    db.session.flush()
    _rebuild(loan, max(on, loan.accrued_through or on), settings.class_days)
    audit.record("repayment_recorded", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 repayment_id=repayment.id, amount=str(value), paid_on=on.isoformat(), reference=reference,
                 allocation=repayment.allocation)
    ledger_loans.post_change(loan, before, "repayment", value_date=on, user_id=user.id, source_type="repayment",
                             source_id=repayment.id, memo=reference)
    if before_commit is not None:
        before_commit(repayment)
    _commit(loan)
    return repayment


def reverse_repayment(repayment: Repayment, user: User, reason: str, *, now: datetime, settings: LoanSettings,
                      ip: str = "") -> None:
    """A second person reverses a mistaken repayment; everything after it is re-allocated."""
    if repayment.reversed_at is not None:
        raise LoanError({"reason": (N_("This repayment is already reversed."), {})})
    if repayment.recorded_by_id == user.id:
        raise LoanError({"reason": (N_("You recorded this repayment, so a second person must reverse it."), {})})
    if not reason.strip():
        raise LoanError({"reason": (N_("Please give a reason to reverse it."), {})})
    if (repayment.allocation or {}).get("restructured"):
        raise LoanError({"reason": (N_("The loan was restructured after this repayment; it can no longer be reversed."), {})})
    if repayment.loan.status == "written_off":  # off the books: what it owes is fixed at the write-off
        raise LoanError({"reason": (N_("The loan was written off after this repayment; it can no longer be reversed."), {})})
    # A reversal rewrites the loan's history from the repayment's date: the same window as back-dating one.
    if dates.check_business_date(repayment.paid_on, today=max(dates.business_today(now), repayment.paid_on),
                                 max_back_days=settings.backdate_max_days):
        raise LoanError({"reason": (N_("This repayment is older than %(days)s days; it can no longer be reversed here."),
                                    {"days": settings.backdate_max_days})})
    loan = repayment.loan
    before = ledger_loans.figures(loan)
    repayment.reversed_at, repayment.reversed_by_id, repayment.reversal_reason = now, user.id, reason.strip()[:200]
    if loan.status == "closed":
        loan.status, loan.closed_on = "active", None
        guarantees.reopen_for_loan(loan, user.id)
        # Closing cancelled these (and nothing else cancels a task): the loan needs them again.
        db.session.execute(update(FollowUpTask).where(FollowUpTask.loan_id == loan.id,
                                                      FollowUpTask.status == "cancelled").values(status="open"))
    _rebuild(loan, loan.accrued_through or repayment.paid_on, settings.class_days)
    # The books: the repayment's entry mirrored, then what the later repayments' new allocation moved.
    ledger_loans.sync_recognition(loan)
    db.session.flush()
    ledger_loans.post_undo(loan, before, ledger_loans.figures(loan),
                           ledger_loans.source_entry("repayment", "repayment", repayment.id),
                           "repayment_reversal", "reallocation", value_date=repayment.paid_on, user_id=user.id,
                           memo=reason.strip()[:200], source_type="repayment", source_id=repayment.id)
    audit.record("repayment_reversed", actor_id=user.id, object_type="loan", object_id=loan.id, ip=ip,
                 repayment_id=repayment.id, amount=str(repayment.amount), reason=reason.strip())
    _commit(loan)


def rebuild(loan: Loan, as_of: date, class_days: tuple[int, ...]) -> None:
    """Replay the loan's standing repayments onto it (repayments added by the book import)."""
    _rebuild(loan, as_of, class_days)


def _rebuild(loan: Loan, as_of: date, class_days: tuple[int, ...]) -> None:
    """Write the replayed position onto the installments, repayments and the loan."""
    pos = position(loan, as_of)
    by_seq = {i.seq: i for i in loan.installments}
    for p in pos.installments:
        row = by_seq[p.seq]
        row.principal_paid, row.interest_paid = Decimal(p.principal_paid) / 100, Decimal(p.interest_paid) / 100
        row.penalty_basis, row.penalty_paid = p.penalty_basis, Decimal(p.penalty_paid) / 100
        row.penalty_accrued = rp.penalty_from_basis(p.penalty_basis, loan.penalty_rate)
        row.interest_due = Decimal(p.interest_due) / 100  # a fully prepaid installment owes none
        row.paid_off_on = p.paid_off_on
    for r in loan.repayments:
        if (r.allocation or {}).get("restructured"):
            continue  # allocated by an earlier schedule, kept as it was
        r.allocation = {"parts": pos.allocations.get(r.id, [])} if r.reversed_at is None else {"parts": []}
    loan.accrued_through = as_of
    loan.days_past_due = pos.days_past_due()
    loan.classification = rp.classify(loan.days_past_due, class_days)
    if loan.class_floor_until is not None and as_of <= loan.class_floor_until:
        loan.classification = floor_class(loan.classification, loan.class_floor)
    if pos.closed_on is not None:
        if loan.status != "closed":  # repaid in full: the guarantors are free
            guarantees.release_for_loan(loan, None)
        loan.status, loan.closed_on = "closed", pos.closed_on
        # Repaid in full: no more visits. (A reversal that reopens the loan reopens them.)
        db.session.execute(update(FollowUpTask).where(FollowUpTask.loan_id == loan.id, FollowUpTask.status == "open")
                           .values(status="cancelled"))


class LoanChanged(ServiceError):
    """Someone else recorded or reversed a repayment on this loan first; reload and check."""

    def __init__(self) -> None:
        super().__init__("loan_changed", N_("Someone else changed this loan meanwhile; check it and try again."))


def _commit(loan: Loan) -> None:
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        # Two cashiers at once (version), or the same reference twice in a race (unique).
        db.session.rollback()
        raise LoanChanged() from None


LIST_LIMIT = 200


def in_reach(user: User) -> list[Loan]:
    """The loans in the user's reach, the most days past due first (the loan list)."""
    from app.services.scope import scoped

    return list(db.session.scalars(
        scoped(user, Loan).options(selectinload(Loan.borrower), selectinload(Loan.product))
        .order_by(Loan.days_past_due.desc(), Loan.id.desc()).limit(LIST_LIMIT)
    ))
