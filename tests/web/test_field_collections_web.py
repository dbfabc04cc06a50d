"""Field collection through the phone's API and the cashier's page: sent twice and recorded once,
refused in Chinese when more than owed or not the officer's loan, the deposit confirmed on
/collections/ (never by the officer who collected), a shortfall flagged, the entries shown."""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import FieldCollection, FieldDeposit, JournalEntry, Loan, Notification, User, UserRole
from tests.sync_helpers import enrol, jpeg_bytes


def _loan_of(app, username: str) -> int:
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.username == username))
        return db.session.scalar(select(Loan.id).where(Loan.officer_id == officer.id, Loan.status == "active").order_by(Loan.id))


def _body(loan_id: int, amount: str) -> dict:
    photo = jpeg_bytes(320, 240, seed=7)
    return {"uuid": str(uuid.uuid4()), "loan_id": loan_id, "amount": amount,
            "taken_at": (clock.now() - timedelta(minutes=5)).isoformat(),
            "gps": {"lat": 30.66, "lon": 104.09, "accuracy_m": 12.0, "at": None, "is_mock": False},
            "photo": {"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(photo).hexdigest(),
                      "content_base64": base64.b64encode(photo).decode()}}


def test_the_phone_sends_a_collection_and_the_cashier_confirms_it(app, client, auth, demo):
    headers = enrol(app, "officer1")
    loan_id = _loan_of(app, "officer1")
    body = _body(loan_id, "120.00")
    first = client.post("/api/v1/collections", json=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "received" and first.get_json()["receipt"] == "queued"
    again = client.post("/api/v1/collections", json=body, headers=headers)
    assert again.get_json() == first.get_json()  # a resend: nothing twice
    status = client.get(f"/api/v1/collections/status?uuid={body['uuid']}", headers=headers).get_json()
    assert status["collections"][0]["uuid"] == body["uuid"]
    boot = client.get("/api/v1/bootstrap", headers=headers).get_json()
    assert loan_id in {x["id"] for x in boot["loans"]}

    # More than everything owed: 422, the reason in Chinese beside the amount.
    too_much = client.post("/api/v1/collections", json=_body(loan_id, "99999999.00"), headers={**headers, "Accept-Language": "zh"})
    assert too_much.status_code == 422
    assert "超过" in too_much.get_json()["fields"]["amount"], too_much.get_json()
    # Another officer's loan: looks like no loan at all.
    other = client.post("/api/v1/collections", json=_body(loan_id, "10.00"), headers=enrol(app, "officer2"))
    assert other.status_code == 404 and other.get_json()["error"] == "unknown_loan", other.get_json()

    auth.login("cashier1")
    assert "<td>上门收款</td>" in client.get(f"/loans/{loan_id}").get_data(as_text=True)  # the channel in words
    page = client.get("/collections/").get_data(as_text=True)
    assert body["uuid"] in page and 'name="handed"' in page
    with app.app_context():
        day = db.session.scalar(select(FieldCollection).where(FieldCollection.uuid == body["uuid"]))
        key = f"{day.officer_id}:{day.office_id}:{day.collected_on.isoformat()}"
    r = auth.post("/collections/deposits", {"day": key, "handed": "100", "expected": "120.00"})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "20.00" in page and 'data-entry-kind="field_shortfall"' in page and 'data-entry-kind="field_deposit"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FieldDeposit)) == 1
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.source_type == "field_deposit")) == 2
        assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "field_shortfall")) >= 1


def test_the_collecting_officer_cannot_confirm_his_own_deposit(app, client, auth, demo):
    headers = enrol(app, "officer1")
    body = _body(_loan_of(app, "officer1"), "80.00")
    assert client.post("/api/v1/collections", json=body, headers=headers).status_code == 200
    with app.app_context():
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        officer.role_rows.append(UserRole(role="cashier"))
        db.session.commit()
        c = db.session.scalar(select(FieldCollection))
        key = f"{c.officer_id}:{c.office_id}:{c.collected_on.isoformat()}"
    auth.login("officer1")
    page = client.get("/collections/").get_data(as_text=True)
    assert "另一位出纳" in page or "another cashier" in page
    r = auth.post("/collections/deposits", {"day": key, "handed": "80", "expected": "80.00"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "另一位出纳" in html or "another cashier" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FieldDeposit)) == 0
