"""Field collection from end to end in real Chromium: the officer (phone, 360 px) records a
repayment offline — loan, amount, the signed slip photographed, GPS — it waits in the phone's
queue, goes when the signal is back, the borrower's SMS receipt is queued and then shown as sent;
the cashier (desktop) counts the cash, confirms the deposit and sees the entries it made."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FieldCollection, JournalEntry, Loan, Repayment, SmsMessage, User
from tests.e2e.conftest import FITS, login, wait_for_state
from tests.e2e.officer import enrol_phone, phone_photos

pytestmark = pytest.mark.e2e


def test_an_offline_collection_is_sent_and_deposited(app, live_server, officer_phone, desktop, tmp_path):
    (slip,) = phone_photos(tmp_path, count=1, size=(1600, 1200))
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        loan_id = db.session.scalar(select(Loan.id).where(Loan.officer_id == officer.id, Loan.status == "active").order_by(Loan.id))
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    wait_for_state(page, "Store.getMeta('bootstrap').then((b) => !!b && (b.loans || []).length > 0)")

    officer_phone.set_offline(True)
    page.click("#new-collection")
    page.wait_for_selector("#view-collect:not([hidden])")
    page.select_option("#collect-loan", str(loan_id))
    page.fill("#collect-amount", "99999999")  # more than the phone knows is owed: said beside the amount
    page.wait_for_selector("#collect-amount-hint.field-error")
    page.fill("#collect-amount", "200")
    page.wait_for_selector("#collect-amount-hint:not(.field-error)", state="attached")
    page.set_input_files("#collect-photo-input", str(slip))
    page.wait_for_selector("#collect-thumbs .thumb img[src^='blob:']")
    page.click("#collect-gps")
    wait_for_state(page, "document.querySelector('#collect-gps-info').textContent.includes('104.09')")
    page.wait_for_selector("#collect-missing li.ok")
    assert page.evaluate(FITS)
    page.click("#collect-finish")
    page.wait_for_selector("#view-home:not([hidden]) #list-collections li[data-state='queued']")
    (queued,) = page.evaluate("Store.allCollections()")
    assert queued["status"] == "queued" and queued["amount"] == "200.00" and queued["gps"]["lat"] == pytest.approx(30.6612)
    with app.app_context():
        assert db.session.scalar(select(FieldCollection)) is None

    officer_phone.set_offline(False)  # the "online" event runs the queue
    page.wait_for_selector("#list-collections li[data-state='sent']", timeout=30000)
    with app.app_context():
        row = db.session.scalar(select(FieldCollection).where(FieldCollection.uuid == queued["uuid"]))
        assert row is not None and row.amount == Decimal("200.00") and row.lat == pytest.approx(30.6612)
        assert db.session.get(Repayment, row.repayment_id).channel == "field"
        sms = db.session.get(SmsMessage, row.receipt_sms_id)
        assert sms.status == "pending" and "200.00" in sms.body
        sms.status = "sent"  # the sending run delivered it
        db.session.commit()
    page.evaluate("Sync.run({ sendNow: true })")
    page.wait_for_selector("#list-collections li[data-state='receipt_sent']")
    assert page.evaluate(f"Store.getBlob('{queued['photos'][0]['uuid']}').then((b) => b === undefined)")  # freed after the 200

    cashier = desktop.new_page()
    login(cashier, live_server, "cashier1")
    cashier.goto(f"{live_server}/collections/")
    # The repayment already put the cash in transit: Dr 1009 beside the collection.
    assert "1009" in cashier.inner_text(f"#collections-pending tr[data-collection='{queued['uuid']}'] [data-entry-kind='repayment']")
    cashier.fill(".deposit-form input[name=handed]", "200")
    cashier.click(".deposit-form button[type=submit]")
    cashier.wait_for_selector("#collections-deposits [data-entry-kind='field_deposit']")
    deposits = cashier.inner_text("#collections-deposits")
    assert "1001" in deposits and "1009" in deposits and "200.00" in deposits
    assert cashier.locator("#collections-pending .officer-day").count() == 0
    with app.app_context():
        kinds = set(db.session.scalars(select(JournalEntry.kind).where(JournalEntry.source_type == "field_deposit")))
        assert kinds == {"field_deposit"}
