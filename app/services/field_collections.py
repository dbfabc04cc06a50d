"""Field collection (上门收款), in two steps.

1. ``receive``: the officer's phone sends a repayment he took in the village (queued offline, a
   client-made UUID, the borrower's signature photo, GPS). It is recorded on the loan through
   ``loans.record_repayment`` with the internal channel "field" — the allocation, the ledger entry
   (Dr channel:field, the cash in transit) and this collection's row commit together, with the SMS
   receipt to the borrower queued in the outbox in the same transaction. A resend of the same UUID
   answers the same, nothing recorded twice. More than owed (plus the tolerance): refused, nothing
   written.
2. ``confirm_deposit``: at the branch the cashier counts what the officer hands over for a day's
   collections. Dr channel:cash / Cr channel:field for the amount handed; a shortfall goes to
   field_shortfall (an amount the officer owes) and the director of the officer's office is
   notified; more than the collections is refused (count again); the collecting officer may not
   confirm his own deposit.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.domain import dates
from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount, to_fen
from app.domain.phone import PhoneError, normalise_mobile
from app.extensions import db
from app.models import JournalEntry, JournalLine, Loan, Notification, SmsMessage, User, UserRole
from app.models.field import FieldCollection, FieldDeposit
from app.services import audit, ledger
from app.services import loans as loan_service
from app.services.errors import ServiceError
from app.services.scope import LOANS, office_reach, own_clause, owns
from app.storage import PhotoStore
from app.storage.validation import PhotoRejected, validate_image

CHANNEL = "field"
SMS_KIND = "field_receipt"
SHORTFALL_NOTICE = "field_shortfall"
# The source_type the repayment's own ledger entry carries (app/services/ledger_loans.py).
REPAYMENT_SOURCE = "repayment"
NOTHING_TO_DEPOSIT = N_("There are no collections of this officer on this day waiting for a deposit.")


class CollectionError(ServiceError):
    """A field collection or a deposit refused; ``fields`` names what to correct."""


def _invalid(fields: dict) -> CollectionError:
    return CollectionError("invalid_collection", N_("Some details of the collection need correcting."), fields=fields)


RECEIPT_LABELS = {"none": N_("not sent (no mobile number)"), "queued": N_("queued"), "sent": N_("sent"),
                  "failed": N_("failed")}


def receipt_state(c: FieldCollection) -> str:
    """The borrower's SMS receipt: "none" (no mobile number), "queued", "sent" or "failed"."""
    if c.receipt_sms is None:
        return "none"
    return {"sent": "sent", "failed": "failed"}.get(c.receipt_sms.status, "queued")


def answer(c: FieldCollection) -> dict:
    """What the phone keeps of a received collection (the same for a resend)."""
    return {"uuid": c.uuid, "status": "deposited" if c.deposit_id else "received", "loan_id": c.loan_id,
            "amount": f"{c.amount:.2f}", "collected_on": c.collected_on.isoformat(),
            "repayment_id": c.repayment_id, "receipt": receipt_state(c)}


def receive(data: dict, user: User, *, now: datetime, settings: loan_service.LoanSettings, store: PhotoStore,
            max_photo_bytes: int, max_photo_pixels: int, ip: str = "") -> dict:
    """``data`` as checked for shape at the API's edge (``schemas.FieldCollection``, dumped)."""
    known = db.session.scalar(select(FieldCollection).where(FieldCollection.uuid == data["uuid"]))
    if known is not None:
        if known.officer_id != user.id:
            raise CollectionError("not_yours", N_("This collection was sent by another officer."))
        return answer(known)  # a resend: the same answer, nothing recorded twice
    loan = db.session.get(Loan, data["loan_id"])
    if loan is None or not owns(user, loan):
        raise CollectionError("unknown_loan", N_("This loan is not one of your customers' loans."))
    fields: dict[str, tuple[str, dict]] = {}
    taken_at = dates.parse_device_time(data["taken_at"])
    if taken_at is None:
        fields["taken_at"] = (N_("The collection time is missing or not a time with a time zone."), {})
    elif problem := dates.check_device_time(taken_at, now=now, max_back_days=settings.backdate_max_days):
        fields["taken_at"] = problem
    photo = data["photo"]
    content = None
    try:
        content = base64.b64decode(photo["content_base64"], validate=True)
    except (ValueError, binascii.Error):
        pass
    if content is None or hashlib.sha256(content).hexdigest() != photo["sha256"]:
        fields["photo"] = (N_("The signature photo did not arrive intact; it will be sent again."), {})
    if fields:
        raise _invalid(fields)
    assert taken_at is not None and content is not None
    fd, name = tempfile.mkstemp(suffix=".jpg", dir=store.uploads_dir)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        try:
            validate_image(tmp, max_bytes=max_photo_bytes, max_pixels=max_photo_pixels)
        except PhotoRejected as e:
            raise _invalid({"photo": (e.message, dict(e.params))}) from None
        gps = data["gps"]
        collected_on = dates.business_date_of(taken_at)
        row = FieldCollection(
            uuid=data["uuid"], loan_id=loan.id, officer_id=user.id, office_id=loan.office_id,
            amount=Decimal("0"), collected_on=collected_on, taken_at=taken_at, confirmation="photo",
            photo_sha256=photo["sha256"], lat=gps["lat"] if gps else None, lon=gps["lon"] if gps else None,
            accuracy_m=round(gps["accuracy_m"]) if gps else None, received_at=now)

        def join(repayment) -> None:  # in record_repayment's transaction, before its one commit
            store.put_file(photo["sha256"], tmp)
            row.amount, row.repayment_id = repayment.amount, repayment.id
            db.session.add(row)
            row.receipt_sms = _queue_receipt(loan, repayment.amount, collected_on, now)
            audit.record("field_collection_received", actor_id=user.id, object_type="loan", object_id=loan.id,
                         ip=ip, uuid=row.uuid, amount=str(repayment.amount), repayment_id=repayment.id,
                         collected_on=collected_on.isoformat(), gps=bool(gps))

        try:
            loan_service.record_repayment(
                loan, amount=data["amount"], paid_on=collected_on.isoformat(), channel=CHANNEL,
                reference=f"FIELD-{data['uuid']}", user=user, today=dates.business_today(now), now=now,
                expected_version=loan.version, settings=settings, ip=ip, internal=True, before_commit=join)
        except loan_service.LoanError as e:
            db.session.rollback()
            raise _invalid({("taken_at" if k == "paid_on" else k): v for k, v in e.errors.items()}) from None
        except loan_service.LoanChanged:
            # The same UUID sent twice at once: the other request recorded it; answer as a resend.
            # Else a cashier changed the loan at that moment: the phone sends it again shortly.
            again = db.session.scalar(select(FieldCollection).where(FieldCollection.uuid == data["uuid"]))
            if again is not None and again.officer_id == user.id:
                return answer(again)
            raise CollectionError("changed_meanwhile", N_("This loan changed on the server meanwhile; the collection will be sent again.")) from None
    finally:
        tmp.unlink(missing_ok=True)
    return answer(row)


def receipt_text(name: str, amount: Decimal, on: date, contract_no: str) -> str:
    return (f"【贷贷通】{name}您好，{on.month}月{on.day}日客户经理上门收取您的还款{amount:,.2f}元"
            f"（合同{contract_no}）已入账。如有疑问请致电所属办事处。")


def _queue_receipt(loan: Loan, amount: Decimal, on: date, now: datetime) -> SmsMessage | None:
    """The borrower's SMS receipt, in the outbox (sent by ``flask jobs sms`` after this commits)."""
    b = loan.borrower
    try:
        phone = normalise_mobile(b.phone or "")
    except PhoneError:
        return None  # no mobile number to send to: the collection stands, without a receipt
    sms = SmsMessage(borrower_id=b.id, installment_id=None, kind=SMS_KIND, for_date=dates.business_date_of(now), phone=phone,
                              body=receipt_text(b.name, amount, on, loan.contract_no or str(loan.id)),
                              status="pending", next_attempt_at=now, created_at=now)
    db.session.add(sms)
    return sms


# --- the phone's list ---------------------------------------------------------------------


def own_states(user: User, uuids: list[str]) -> list[dict]:
    """The state of these collections of this officer (received / deposited), for the phone's list."""
    if not uuids:
        return []
    rows = db.session.scalars(select(FieldCollection).options(selectinload(FieldCollection.receipt_sms)).where(
        FieldCollection.uuid.in_(uuids[:200]), FieldCollection.officer_id == user.id))
    return [answer(c) for c in rows]


# --- the officer's loans on his phone -----------------------------------------------------


def phone_loans(user: User) -> list[dict]:
    """The officer's own active loans for his phone (a collection is recorded offline against one):
    what is owed by the installments as last rebuilt (the server checks the exact figure)."""
    rows = db.session.scalars(
        select(Loan).where(own_clause(user, Loan), Loan.status == "active")
        .options(selectinload(Loan.borrower), selectinload(Loan.installments)).order_by(Loan.id))
    out = []
    for loan in rows:
        owed = sum((i.principal_due - i.principal_paid + i.interest_due - i.interest_paid + i.penalty_accrued - i.penalty_paid
                    for i in loan.installments), Decimal("0"))
        unpaid = [i for i in loan.installments if i.principal_paid < i.principal_due or i.interest_paid < i.interest_due]
        nxt = unpaid[0] if unpaid else None
        b = loan.borrower
        out.append({"id": loan.id, "contract_no": loan.contract_no or "", "borrower": b.name, "village": b.village,
                    "owed": f"{owed:.2f}", "days_past_due": loan.days_past_due,
                    "next_due_date": nxt.due_date.isoformat() if nxt else None,
                    "next_due_amount": f"{nxt.principal_due - nxt.principal_paid + nxt.interest_due - nxt.interest_paid:.2f}" if nxt else None})
    return out


# --- the deposit at the branch -----------------------------------------------------------


@dataclass
class OfficerDay:
    """One officer's collections of one day (for one office's loans) not yet deposited."""

    officer: User
    collected_on: date
    office_id: int
    collections: list[FieldCollection] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.collections), Decimal("0"))

    @property
    def key(self) -> str:
        """What the cashier's form sends back to name this day."""
        return f"{self.officer.id}:{self.office_id}:{self.collected_on.isoformat()}"


def pending(user: User) -> list[OfficerDay]:
    """Collections received and not yet deposited, per officer, day and office, in the user's reach."""
    reach = office_reach(user, LOANS)
    q = (select(FieldCollection).where(FieldCollection.deposit_id.is_(None))
         .options(selectinload(FieldCollection.officer), selectinload(FieldCollection.receipt_sms),
                  selectinload(FieldCollection.loan).selectinload(Loan.borrower))
         .order_by(FieldCollection.collected_on, FieldCollection.officer_id, FieldCollection.taken_at))
    if reach is not None:
        q = q.where(FieldCollection.office_id.in_(sorted(reach)))
    days: dict[tuple[int, int, date], OfficerDay] = {}
    for c in db.session.scalars(q):
        key = (c.officer_id, c.office_id, c.collected_on)
        if key not in days:
            days[key] = OfficerDay(officer=c.officer, collected_on=c.collected_on, office_id=c.office_id)
        days[key].collections.append(c)
    return list(days.values())


def recent_deposits(user: User, limit: int = 50) -> list[FieldDeposit]:
    """The latest confirmed deposits in the user's reach, shortfalls first (the director's flag)."""
    reach = office_reach(user, LOANS)
    q = (select(FieldDeposit).options(selectinload(FieldDeposit.officer), selectinload(FieldDeposit.confirmed_by))
         .order_by((FieldDeposit.shortfall > 0).desc(), FieldDeposit.confirmed_at.desc()).limit(limit))
    if reach is not None:
        q = q.where(FieldDeposit.office_id.in_(sorted(reach)))
    return list(db.session.scalars(q))


def entries(deposits: list[FieldDeposit], days: list[OfficerDay]) -> dict[str, list[JournalEntry]]:
    """The ledger entries these deposits and collections made, for the page to show: by deposit
    ("d<id>", its deposit and shortfall entries) and by collection ("c<id>", the repayment's)."""
    out: dict[str, list[JournalEntry]] = {}
    dep_ids = [d.id for d in deposits]
    rep_to_c = {c.repayment_id: c.id for day in days for c in day.collections if c.repayment_id}
    conds = []
    if dep_ids:
        conds.append((JournalEntry.source_type == "field_deposit") & JournalEntry.source_id.in_(dep_ids))
    if rep_to_c:
        conds.append((JournalEntry.source_type == REPAYMENT_SOURCE) & JournalEntry.source_id.in_(sorted(rep_to_c)))
    if not conds:
        return out
    rows = db.session.scalars(select(JournalEntry).where(or_(*conds))
                              .options(selectinload(JournalEntry.lines).selectinload(JournalLine.account))
                              .order_by(JournalEntry.id))
    for e in rows:
        key = f"d{e.source_id}" if e.source_type == "field_deposit" else f"c{rep_to_c[e.source_id]}"
        out.setdefault(key, []).append(e)
    return out


def confirm_deposit(key: str, handed: str, expected_seen: str, user: User, *, now: datetime,
                    ip: str = "") -> FieldDeposit:
    """The cashier confirms what an officer handed over for one day's collections (``key`` from
    ``OfficerDay.key``); ``expected_seen`` is the total his page showed, so a collection that
    arrived meanwhile is not booked as a shortfall of cash he never had in front of him."""
    try:
        officer_part, office_part, day_part = key.split(":")
        officer_id, office_id, collected_on = int(officer_part), int(office_part), date.fromisoformat(day_part)
    except ValueError:
        raise CollectionError("nothing_to_deposit", NOTHING_TO_DEPOSIT) from None
    if officer_id == user.id:
        raise CollectionError("own_deposit", N_("You collected this money yourself; another cashier must confirm its deposit."))
    day = next((d for d in pending(user) if (d.officer.id, d.office_id, d.collected_on) == (officer_id, office_id, collected_on)), None)
    if day is None:
        raise CollectionError("nothing_to_deposit", NOTHING_TO_DEPOSIT)
    try:
        value = parse_amount(handed)
    except AmountError as e:
        raise _invalid({"handed": (e.message, dict(e.params))}) from None
    expected = day.total
    if value < 0:
        raise _invalid({"handed": (N_("The amount cannot be negative."), {})})
    if f"{expected:.2f}" != expected_seen.strip():
        raise CollectionError("changed_meanwhile", N_("New collections of this officer arrived meanwhile: the day's total is now %(expected)s yuan. Count again against it."),
                              expected=f"{expected:,.2f}")
    if value > expected:
        raise _invalid({"handed": (N_("This is more than the day's collections (%(expected)s yuan); count the cash again."),
                                   {"expected": f"{expected:,.2f}"})})
    shortfall = expected - value
    deposit = FieldDeposit(officer_id=officer_id, office_id=office_id, collected_on=collected_on,
                           expected=expected, handed=value, shortfall=shortfall, confirmed_by_id=user.id,
                           confirmed_at=now)
    db.session.add(deposit)
    db.session.flush()
    # Only collections nobody deposited meanwhile: a second cashier at the same moment finds them
    # taken (the rows are locked until the first commits) and is refused, nothing booked twice.
    ids = [c.id for c in day.collections]
    taken = db.session.execute(update(FieldCollection).where(FieldCollection.id.in_(ids), FieldCollection.deposit_id.is_(None))
                               .values(deposit_id=deposit.id).execution_options(synchronize_session=False))
    if taken.rowcount != len(ids):
        db.session.rollback()
        raise CollectionError("changed_meanwhile", N_("Someone else confirmed these collections meanwhile; reload the page."))
    memo = f"{day.officer.full_name} {collected_on.isoformat()}"
    common = dict(value_date=collected_on, memo=memo, office_id=office_id, source_type="field_deposit",
                  source_id=deposit.id, user_id=user.id)
    try:
        if value > 0:
            fen = to_fen(value)
            ledger.post("field_deposit", [books.Line("channel:cash", fen, 0), books.Line("channel:field", 0, fen)], **common)
        if shortfall > 0:
            fen = to_fen(shortfall)
            ledger.post("field_shortfall", [books.Line("field_shortfall", fen, 0), books.Line("channel:field", 0, fen)], **common)
    except ledger.LedgerError:
        db.session.rollback()
        raise
    if shortfall > 0:
        text = f"{day.officer.full_name} · {collected_on.isoformat()} · 短款 ¥{shortfall:,.2f}"
        for director_id in _directors(office_id):
            db.session.add(Notification(user_id=director_id, kind=SHORTFALL_NOTICE, message=text[:300],
                                        link="/collections/", created_at=now))
    audit.record("field_deposit_confirmed", actor_id=user.id, object_type="user", object_id=officer_id, ip=ip,
                 deposit_id=deposit.id, office_id=office_id, collected_on=collected_on.isoformat(), expected=str(expected),
                 handed=str(value), shortfall=str(shortfall), collections=[c.uuid for c in day.collections])
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CollectionError("changed_meanwhile", N_("Someone else confirmed these collections meanwhile; reload the page.")) from None
    return deposit


def _directors(office_id: int) -> list[int]:
    return list(db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(User.office_id == office_id, UserRole.role == "director", User.is_enabled.is_(True))))
