"""Guarantors as people: registered or found at data entry, linked by a guarantee, checked against
the limit, refused without consent or in arrears, released when the loan ends."""
from __future__ import annotations

import os
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from sqlalchemy import func, select

from app import clock
from app.domain import idcard
from app.extensions import db
from app.models import Application, AuditLog, Borrower, CollectionItem, Loan, Photo, User
from app.models.credit import Guarantee
from app.services import guarantees
from app.services import loans as loan_service
from app.services import settlement
from app.services.demo import demo_entry, demo_id_number
from tests.conftest import Auth

GUARANTOR_ID = demo_id_number("513401", date(1970, 6, 1), 468)


def _by_name(name: str) -> Application:
    return db.session.scalar(select(Application).join(Borrower, Application.borrower_id == Borrower.id)
                             .where(Borrower.name == name))


def _complete(app, client, name: str = "王五", **changes: str):
    with app.app_context():
        a = _by_name(name)
        values = demo_entry(a)
        version, app_id = a.version, a.id
    values.update({"guarantor_name": "陈保人", "guarantor_id_number": GUARANTOR_ID, "guarantor_phone": "13990001111"})
    values.update(changes)
    return Auth(client).post(f"/applications/{app_id}/entry", {**values, "version": version, "action": "complete"}), app_id


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Borrower.id))),
                db.session.scalar(select(func.count(Guarantee.id))))


def test_a_new_guarantor_is_registered_and_linked_at_entry_completion(app, client, auth, demo):
    auth.login("clerk1")
    borrowers_before, _ = _counts(app)
    r, app_id = _complete(app, client)
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.state == "awaiting_l1"
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == app_id))
        assert g.status == "active" and g.amount == a.amount == Decimal("20000.00")
        assert g.guarantor.id_number == GUARANTOR_ID and g.guarantor.name == "陈保人"
        # Registered in the application's office, with its officer: visible like any borrower.
        assert (g.guarantor.office_id, g.guarantor.officer_id) == (a.office_id, a.officer_id)
        photo = db.session.get(Photo, g.consent_photo_id)
        assert photo.item.code == "guarantor_consent" and photo.received_at is not None
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.at >= a.created_at)))
        assert {"guarantee_given", "borrower_registered", "application_entry_complete"} <= actions
    assert _counts(app)[0] == borrowers_before + 1
    # The search finds him.
    page = client.get("/borrowers/?q=陈保人").get_data(as_text=True)
    assert "陈保人" in page


def test_an_existing_borrower_is_found_by_id_number_and_his_name_must_match(app, client, auth, demo):
    auth.login("clerk1")
    with app.app_context():
        zhang = db.session.scalar(select(Borrower).where(Borrower.name == "张三"))
        number, zhang_id = zhang.id_number, zhang.id
    before = _counts(app)
    r, app_id = _complete(app, client, guarantor_name="张叁", guarantor_id_number=number)
    assert r.status_code == 422 and "张三" in r.get_data(as_text=True)
    assert _counts(app) == before
    r, app_id = _complete(app, client, guarantor_name="张三", guarantor_id_number=number)
    assert r.status_code == 303
    with app.app_context():
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == app_id))
        assert g.guarantor_id == zhang_id
    assert _counts(app) == (before[0], before[1] + 1)


def test_over_the_limit_is_refused_with_the_figures_and_nothing_is_written(app, client, auth, demo):
    with app.app_context():
        # The guarantor already guarantees 90,000 yuan for another application.
        info = idcard.parse(GUARANTOR_ID, clock.business_today())
        other = _by_name("李四")
        person = Borrower(name="陈保人", id_number=GUARANTOR_ID, sex=info.sex, birth_date=info.birth_date,
                          office_id=other.office_id, officer_id=other.officer_id)
        db.session.add(person)
        db.session.flush()
        db.session.add(Guarantee(application_id=other.id, guarantor_id=person.id, amount=Decimal("90000")))
        db.session.commit()
    before = _counts(app)
    auth.login("clerk1")
    r, app_id = _complete(app, client)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    for figure in ("90,000.00", "20,000.00", "110,000.00", "100,000.00"):
        assert figure in page, figure
    assert "超过" in page  # in Chinese
    assert _counts(app) == before
    with app.app_context():
        assert db.session.get(Application, app_id).state == "awaiting_entry"
        assert not db.session.scalar(select(AuditLog.id).where(AuditLog.action == "guarantee_given"))


def test_no_consent_photo_no_guarantor(app, client, auth, demo):
    with app.app_context():
        a = _by_name("王五")
        for p in a.photos:
            if p.item.code == "guarantor_consent":
                p.received_at = None
        db.session.commit()
    before = _counts(app)
    auth.login("clerk1")
    r, app_id = _complete(app, client)
    assert r.status_code == 422 and "担保承诺书" in r.get_data(as_text=True)
    assert _counts(app) == before
    # The bare workflow event is refused the same way.
    with app.app_context():
        a = db.session.get(Application, app_id)
        version = a.version
    r = auth.post(f"/applications/{app_id}/act", {"event": "entry_complete", "version": version})
    with app.app_context():
        assert db.session.get(Application, app_id).state == "awaiting_entry"
    assert _counts(app) == before


def test_a_guarantor_in_arrears_is_refused_where_the_product_says_so(app, client, auth, demo):
    with app.app_context():
        loan = db.session.scalar(select(Loan))
        loan.days_past_due = 12
        number = loan.borrower.id_number
        name = loan.borrower.name
        db.session.commit()
    auth.login("clerk1")
    r, _ = _complete(app, client, guarantor_name=name, guarantor_id_number=number)
    assert r.status_code == 422 and "12" in r.get_data(as_text=True)
    # Only flagged where the rules say "flag".
    with app.app_context():
        product = _by_name("王五").product
        product.credit_rules = {**product.credit_rules, "guarantor": {**product.credit_rules["guarantor"],
                                                                      "arrears": "flag"}}
        db.session.commit()
    r, app_id = _complete(app, client, guarantor_name=name, guarantor_id_number=number)
    assert r.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "reviewer1"))
        a = db.session.get(Application, app_id)
        (view,) = guarantees.for_application(user, a)
        assert view.standing.in_arrears and view.facts.worst_dpd == 12
        loan = db.session.scalar(select(Loan))
        assert Decimal(0) < view.facts.outstanding <= loan.principal  # yuan, not fen


def test_released_when_rejected_and_when_the_loan_is_repaid(app, client, auth, demo):
    auth.login("clerk1")
    r, app_id = _complete(app, client)
    assert r.status_code == 303
    client2 = app.test_client()
    Auth(client2).login("reviewer1")
    with app.app_context():
        version = db.session.get(Application, app_id).version
    r = Auth(client2).post(f"/applications/{app_id}/act", {"event": "l1_reject", "version": version,
                                                           "comment": "担保不足"})
    with app.app_context():
        assert db.session.get(Application, app_id).state == "rejected"
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == app_id))
        assert g.status == "released"
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "guarantees_released")).detail["reason"] \
            == "l1_reject"
    # A loan repaid in full frees its guarantor; a reversal of that repayment binds him again.
    with app.app_context():
        loan = db.session.scalar(select(Loan))
        person = db.session.scalar(select(Borrower).where(Borrower.id_number == GUARANTOR_ID))
        db.session.add(Guarantee(application_id=loan.application_id, guarantor_id=person.id, amount=loan.principal))
        db.session.commit()
        cashier = db.session.scalar(select(User).where(User.username == "cashier1"))
        today = clock.business_today()
        quote = settlement.quote(loan, today)
        repayment = loan_service.record_repayment(
            loan, amount=str(quote.yuan(quote.total)), paid_on=today.isoformat(), channel="cash", reference="SETTLE",
            user=cashier, today=today, now=clock.now(), expected_version=loan.version,
            settings=loan_service.LoanSettings())
        loan = db.session.get(Loan, loan.id)
        assert loan.status == "closed"
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == loan.application_id))
        assert g.status == "released"
        other = db.session.scalar(select(User).where(User.username == "accountant1"))  # a second person
        loan_service.reverse_repayment(repayment, other, "录错了", now=clock.now(), settings=loan_service.LoanSettings())
        loan = db.session.get(Loan, loan.id)
        assert loan.status == "active"
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == loan.application_id))
        assert g.status == "active"
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "guarantees_reopened"))


MARIADB_ONLY = pytest.mark.skipif("mysql" not in os.environ.get("TEST_DATABASE_URL", ""),
                                  reason="row locks and InnoDB's snapshots: MariaDB only")


@MARIADB_ONLY
def test_two_entries_naming_one_guarantor_at_once_are_checked_one_after_the_other(app, demo, monkeypatch):
    """Each guarantee alone is within the limit, both together are not: exactly one completes."""
    from app.domain.workflow import Event, State
    from app.services import applications as app_service

    with app.app_context():
        zhang = db.session.scalar(select(Borrower).where(Borrower.name == "张三"))
        first, second = _by_name("王五"), _by_name("李四")
        second.state = State.AWAITING_ENTRY.value
        pairs = []
        for a in (first, second):
            values = demo_entry(a)
            values.update(guarantor_name="张三", guarantor_id_number=zhang.id_number, amount="60000.00",
                          amount_in_capitals="陆万元整", product_id=str(first.product_id), term_months="6")
            a.entry_data = {"values": values}
            a.amount = Decimal("60000")
            for p in a.photos:
                p.received_at = p.received_at or clock.now()
            if not any(p.item.code == "guarantor_consent" for p in a.photos):
                item = next(i for i in a.product.items if i.code == "guarantor_consent")
                db.session.add(Photo(application=a, collection_item_id=item.id, sequence=1, sha256="0" * 64,
                                     size_bytes=1, received_at=clock.now()))
            pairs.append(a.id)
        db.session.commit()
        clerk_id = db.session.scalar(select(User.id).where(User.username == "clerk1"))
    barrier = threading.Barrier(2, timeout=30)
    real = guarantees._find_or_register

    def both_read_first(*args, **kwargs):
        barrier.wait()  # both transactions have read his guarantees (none) before either writes
        return real(*args, **kwargs)

    monkeypatch.setattr(guarantees, "_find_or_register", both_read_first)
    results: dict[int, str] = {}

    def complete(app_id: int) -> None:
        with app.app_context():
            try:
                app_service.act(app_id, Event.ENTRY_COMPLETE, db.session.get(User, clerk_id), now=clock.now())
                results[app_id] = "done"
            except guarantees.GuaranteeRefused as e:
                db.session.rollback()
                results[app_id] = e.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=complete, args=(i,)) for i in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    outcomes = sorted(results.values(), key=lambda v: v != "done")
    assert outcomes[0] == "done" and "over the limit" in outcomes[1], results
    with app.app_context():
        assert db.session.scalar(select(func.count(Guarantee.id)).where(Guarantee.status == "active")) == 1
