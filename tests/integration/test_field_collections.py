"""Field collection on the real database: the phone's collection recorded once per UUID as a
repayment on the loan with its SMS receipt, refused when more than owed (nothing written), and the
cashier's deposit: exact, short (flagged to the director), too much or his own (refused)."""
from __future__ import annotations

import base64
import hashlib
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from app import clock
from app.extensions import db, photo_store
from app.models import (Account, AuditLog, FieldCollection, FieldDeposit, JournalEntry, JournalLine, Loan, Notification,
                        Repayment, SmsMessage, User, UserRole)
from app.services import field_collections as fc
from app.services import loans as loan_service

SETTINGS = loan_service.LoanSettings()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 160)).save(out, "JPEG")
    return out.getvalue()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _loan() -> Loan:
    """The demo's loan (冯十二, officer1's customer, late)."""
    return db.session.scalar(select(Loan).where(Loan.status == "active").order_by(Loan.id))


def _owed(loan: Loan) -> Decimal:
    today = clock.business_today()
    return loan_service.position(loan, max(today, loan.accrued_through or today)).outstanding(loan.penalty_rate)


def _body(loan: Loan, amount: str, *, key: str | None = None, photo: bytes | None = None) -> dict:
    content = photo if photo is not None else _jpeg()
    return {"uuid": key or str(uuid.uuid4()), "loan_id": loan.id, "amount": amount,
            "taken_at": (clock.now() - timedelta(minutes=30)).isoformat(),
            "gps": {"lat": 30.1, "lon": 114.2, "accuracy_m": 20.0, "at": None, "is_mock": False},
            "photo": {"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(content).hexdigest(),
                      "content_base64": base64.b64encode(content).decode()}}


def _receive(body: dict, who: str = "officer1") -> dict:
    cfg = current_app.config
    return fc.receive(body, _user(who), now=clock.now(), settings=SETTINGS, store=photo_store(),
                      max_photo_bytes=cfg["MAX_PHOTO_BYTES"], max_photo_pixels=cfg["MAX_PHOTO_PIXELS"])


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _entries(kind: str) -> list[JournalEntry]:
    return list(db.session.scalars(select(JournalEntry).where(JournalEntry.kind == kind)))


def _balanced(entry: JournalEntry) -> bool:
    lines = db.session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id)).all()
    return sum(x.debit for x in lines) == sum(x.credit for x in lines) > 0


def test_a_collection_is_recorded_once_with_its_receipt(app, demo):
    with app.app_context():
        loan = _loan()
        body = _body(loan, "300")
        first = _receive(body)
        assert first["status"] == "received" and first["amount"] == "300.00"
        rep = db.session.get(Repayment, first["repayment_id"])
        assert rep.channel == "field" and rep.amount == Decimal("300.00") and rep.recorded_by_id == _user("officer1").id
        assert rep.allocation["parts"]  # allocated like any repayment
        row = db.session.scalar(select(FieldCollection).where(FieldCollection.uuid == body["uuid"]))
        assert row.lat == 30.1 and row.photo_sha256 == body["photo"]["sha256"]
        assert photo_store().exists(row.photo_sha256)
        sms = db.session.scalars(select(SmsMessage).where(SmsMessage.kind == fc.SMS_KIND)).all()
        assert len(sms) == 1 and "300.00元" in sms[0].body and sms[0].status == "pending"
        assert _count(AuditLog, AuditLog.action == "field_collection_received") == 1
        # The phone did not hear the answer and sends it again: the same answer, nothing twice.
        assert _receive(body) == first
        assert _count(Repayment, Repayment.channel == "field") == 1
        assert _count(SmsMessage, SmsMessage.kind == fc.SMS_KIND) == 1
        # Someone else's phone cannot claim it.
        with pytest.raises(fc.CollectionError) as refused:
            _receive(body, "officer2")
        assert refused.value.code in ("not_yours", "unknown_loan")


def test_more_than_owed_is_refused_and_nothing_is_written(app, demo):
    with app.app_context():
        loan = _loan()
        too_much = _owed(loan) + loan_service.OVERPAYMENT_TOLERANCE + Decimal("0.01")
        photo = _jpeg() + b"\x00"  # its own bytes: the store must not get it
        with pytest.raises(fc.CollectionError) as refused:
            _receive(_body(loan, f"{too_much:.2f}", photo=photo))
        assert refused.value.code == "invalid_collection" and "amount" in refused.value.fields
        db.session.rollback()
        assert _count(FieldCollection) == 0 and _count(Repayment, Repayment.channel == "field") == 0
        assert _count(SmsMessage, SmsMessage.kind == fc.SMS_KIND) == 0
        assert not photo_store().exists(hashlib.sha256(photo).hexdigest())


def test_only_the_officers_own_loans(app, demo):
    with app.app_context():
        with pytest.raises(fc.CollectionError) as refused:
            _receive(_body(_loan(), "100"), "officer3")
        assert refused.value.code == "unknown_loan"
        db.session.rollback()
        assert _count(FieldCollection) == 0


def _collect(*amounts: str) -> list[dict]:
    return [_receive(_body(_loan(), a)) for a in amounts]


def test_an_exact_deposit_moves_the_cash_in_transit_to_the_till(app, demo):
    with app.app_context():
        _collect("100", "250.50")
        day = fc.pending(_user("cashier1"))
        assert len(day) == 1 and day[0].total == Decimal("350.50") and day[0].officer.username == "officer1"
        deposit = fc.confirm_deposit(day[0].key, "350.50", "350.50", _user("cashier1"), now=clock.now())
        assert deposit.shortfall == 0 and fc.pending(_user("cashier1")) == []
        assert {c.deposit_id for c in db.session.scalars(select(FieldCollection))} == {deposit.id}
        (entry,) = _entries("field_deposit")
        assert _balanced(entry) and not _entries("field_shortfall")
        codes = {code: (debit, credit) for code, debit, credit in db.session.execute(
            select(Account.code, JournalLine.debit, JournalLine.credit).join(Account, Account.id == JournalLine.account_id)
            .where(JournalLine.entry_id == entry.id))}
        assert codes == {"1001": (Decimal("350.50"), 0), "1009": (0, Decimal("350.50"))}
        # Each collection's repayment put its cash in transit (Dr 1009); the deposit took it all out.
        transit = db.session.execute(
            select(func.sum(JournalLine.debit), func.sum(JournalLine.credit)).join(Account, Account.id == JournalLine.account_id)
            .where(Account.code == "1009")).one()
        assert transit == (Decimal("350.50"), Decimal("350.50"))
        shown = fc.entries(fc.recent_deposits(_user("cashier1")), [])
        assert [e.kind for e in shown[f"d{deposit.id}"]] == ["field_deposit"]
        assert _count(Notification, Notification.kind == fc.SHORTFALL_NOTICE) == 0
        assert fc.own_states(_user("officer1"), [c.uuid for c in db.session.scalars(select(FieldCollection))])[0]["status"] == "deposited"


def test_a_shortfall_is_booked_and_flagged_to_the_director(app, demo):
    with app.app_context():
        _collect("400")
        (day,) = fc.pending(_user("cashier1"))
        deposit = fc.confirm_deposit(day.key, "380", "400.00", _user("cashier1"), now=clock.now())
        assert deposit.shortfall == Decimal("20.00") and deposit.handed == Decimal("380.00")
        (short,) = _entries("field_shortfall")
        assert _balanced(short) and _balanced(_entries("field_deposit")[0])
        told = db.session.scalars(select(Notification).where(Notification.kind == fc.SHORTFALL_NOTICE)).all()
        assert [n.user_id for n in told] == [_user("director1").id] and "20.00" in told[0].message
        flagged = fc.recent_deposits(_user("director1"))
        assert flagged[0].id == deposit.id and flagged[0].shortfall > 0
        assert fc.recent_deposits(_user("director2")) == []  # another office's director does not see it
        assert _count(AuditLog, AuditLog.action == "field_deposit_confirmed") == 1


@pytest.mark.parametrize("handed,code", [("500.01", "invalid_collection"), ("abc", "invalid_collection"),
                                         ("-1", "invalid_collection")])
def test_a_wrong_count_is_refused_and_nothing_written(app, demo, handed, code):
    with app.app_context():
        _collect("500")
        (day,) = fc.pending(_user("cashier1"))
        with pytest.raises(fc.CollectionError) as refused:
            fc.confirm_deposit(day.key, handed, "500.00", _user("cashier1"), now=clock.now())
        assert refused.value.code == code and "handed" in refused.value.fields
        db.session.rollback()
        assert _count(FieldDeposit) == 0 and not _entries("field_deposit") and len(fc.pending(_user("cashier1"))) == 1


def test_the_collecting_officer_may_not_confirm_his_own_deposit(app, demo):
    with app.app_context():
        _collect("100")
        officer = _user("officer1")
        officer.role_rows.append(UserRole(role="cashier"))  # even with the role
        db.session.commit()
        (day,) = fc.pending(_user("cashier1"))
        with pytest.raises(fc.CollectionError) as refused:
            fc.confirm_deposit(day.key, "100", "100.00", officer, now=clock.now())
        assert refused.value.code == "own_deposit"
        db.session.rollback()
        assert _count(FieldDeposit) == 0 and not _entries("field_deposit")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cents=st.lists(st.integers(min_value=1, max_value=30_000), min_size=1, max_size=3), short=st.integers(0, 10_000))
def test_deposit_entries_always_balance_and_clear_the_transit(app, demo, cents, short):
    with app.app_context():
        loan = _loan()
        if loan is None or _owed(loan) < Decimal(sum(cents)) / 100:
            return
        _collect(*[f"{Decimal(c) / 100:.2f}" for c in cents])
        (day,) = fc.pending(_user("cashier1"))
        handed = max(Decimal(0), day.total - Decimal(short) / 100)
        deposit = fc.confirm_deposit(day.key, f"{handed:.2f}", f"{day.total:.2f}", _user("cashier1"), now=clock.now())
        moved = db.session.scalars(select(JournalLine).where(
            JournalLine.entry_id.in_(select(JournalEntry.id).where(JournalEntry.source_id == deposit.id,
                                                                  JournalEntry.source_type == "field_deposit")))).all()
        assert sum(x.debit for x in moved) == sum(x.credit for x in moved) == day.total
        assert deposit.handed + deposit.shortfall == day.total


def test_a_closed_loan_is_refused_with_its_reason(app, demo):
    with app.app_context():
        loan = _loan()
        loan.status = "closed"
        db.session.commit()
        with pytest.raises(fc.CollectionError) as refused:
            _receive(_body(loan, "100"))
        assert refused.value.code == "invalid_collection"
        assert refused.value.fields["amount"][0] == "This loan is closed; nothing is owed."
        db.session.rollback()
        assert _count(FieldCollection) == 0 and _count(Repayment, Repayment.channel == "field") == 0


def test_the_receipt_state_follows_the_outbox(app, demo):
    with app.app_context():
        (first,) = _collect("100")
        assert first["receipt"] == "queued"
        sms = db.session.scalar(select(SmsMessage).where(SmsMessage.kind == fc.SMS_KIND))
        sms.status = "sent"
        db.session.commit()
        (state,) = fc.own_states(_user("officer1"), [first["uuid"]])
        assert state["receipt"] == "sent" and state["status"] == "received"
        assert fc.own_states(_user("officer2"), [first["uuid"]]) == []  # another officer's phone learns nothing


def test_a_collection_arriving_meanwhile_is_not_booked_as_a_shortfall(app, demo):
    with app.app_context():
        _collect("100")
        (seen,) = fc.pending(_user("cashier1"))
        seen_total = f"{seen.total:.2f}"
        _collect("50")  # reaches the server while the cashier counts
        with pytest.raises(fc.CollectionError) as refused:
            fc.confirm_deposit(seen.key, "100", seen_total, _user("cashier1"), now=clock.now())
        assert refused.value.code == "changed_meanwhile" and refused.value.params["expected"] == "150.00"
        db.session.rollback()
        assert _count(FieldDeposit) == 0
        fc.confirm_deposit(seen.key, "150", "150.00", _user("cashier1"), now=clock.now())
        # Confirmed once: the same day again finds nothing waiting, nothing booked twice.
        with pytest.raises(fc.CollectionError) as again:
            fc.confirm_deposit(seen.key, "150", "150.00", _user("cashier1"), now=clock.now())
        assert again.value.code == "nothing_to_deposit"
        db.session.rollback()
        assert _count(FieldDeposit) == 1 and len(_entries("field_deposit")) == 1


def test_the_phone_gets_only_its_officers_active_loans(app, demo):
    with app.app_context():
        officer = _user("officer1")
        mine = fc.phone_loans(officer)
        owned = set(db.session.scalars(select(Loan.id).where(Loan.officer_id == officer.id, Loan.status == "active")))
        assert {x["id"] for x in mine} == owned and owned
        assert all(Decimal(x["owed"]) >= 0 and x["borrower"] for x in mine)


def test_two_cashiers_at_once_book_the_deposit_once(app, demo, monkeypatch):
    """The second cashier read the day before the first committed (his page was open): the
    conditional UPDATE finds the collections taken and refuses; one deposit, one entry."""
    with app.app_context():
        _collect("100")
        stale = fc.pending(_user("cashier1"))
        fc.confirm_deposit(stale[0].key, "100", "100.00", _user("cashier1"), now=clock.now())
        monkeypatch.setattr(fc, "pending", lambda user: stale)  # what the second request had read
        with pytest.raises(fc.CollectionError) as refused:
            fc.confirm_deposit(stale[0].key, "100", "100.00", _user("cashier1"), now=clock.now())
        assert refused.value.code == "changed_meanwhile"
        assert _count(FieldDeposit) == 1 and len(_entries("field_deposit")) == 1
