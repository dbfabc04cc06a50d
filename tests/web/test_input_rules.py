"""The input rules on the web screens: business dates in their window (disbursement, repayment,
reversal) and the one name rule (borrower form, phone manifest). Nothing is written when refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.idcard import check_digit
from app.extensions import db
from app.models import Application, Borrower, Loan, Repayment
from app.services import jobs
from tests.support.staff import second_cashier
from tests.sync_helpers import enrol, jpeg_bytes, manifest


def _qian_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "钱七"))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_disbursement_dates_outside_the_window_are_refused(app, client, auth, demo):
    app_id = _qian_id(app)
    auth.login("cashier1")
    today = jobs.business_today()
    for on, text in (("1900-01-01", "审批通过日"),                         # long ago, before the approval too
                     ((today + timedelta(days=1)).isoformat(), "晚于今天"),   # tomorrow
                     ((today - timedelta(days=10)).isoformat(), "审批通过日")):  # before the approval (5 days ago)
        r = auth.post(f"/applications/{app_id}/disburse", {"amount": "15000", "disbursed_on": on,
                                                            "channel": "bank_transfer", "reference": "BT-9"})
        assert r.status_code == 422 and text in r.get_data(as_text=True), on
    assert _count(app, Loan) == 1  # the demo's one loan only
    r = auth.post(f"/applications/{app_id}/disburse", {"amount": "15000", "disbursed_on": today.isoformat(),
                                                        "channel": "bank_transfer", "reference": "BT-9"})
    assert r.status_code == 303


def test_repayment_dates_outside_the_window_are_refused_and_old_ones_are_not_reversed(app, client, auth, demo):
    with app.app_context():
        # The demo's loan, paid out about 70 days ago with its first installment repaid then.
        loan = db.session.scalar(select(Loan))
        loan_id, version, disbursed = loan.id, loan.version, loan.disbursed_on
        old = loan.repayments[0]
        old_id = old.id
    auth.login("cashier1")
    for on, text in (("1900-01-01", "放款"), ((disbursed + timedelta(days=1)).isoformat(), "天前")):
        r = auth.post(f"/loans/{loan_id}/repayments", {"amount": "100", "paid_on": on, "channel": "cash",
                                                       "reference": "R-old", "version": version})
        assert r.status_code == 422 and text in r.get_data(as_text=True), on
    assert _count(app, Repayment) == 1
    with app.app_context():
        from app.services import loans as loan_service

        with pytest.raises(loan_service.LoanError) as refused:
            loan_service.reverse_repayment(db.session.get(Repayment, old_id), second_cashier(), "录错了",
                                           now=datetime.now(timezone.utc), settings=loan_service.LoanSettings())
        assert "reason" in refused.value.errors
        assert db.session.get(Repayment, old_id).reversed_at is None


@pytest.mark.parametrize("name,text", [
    ("刘\u202e一", "不可见"), ("刘\u200b一", "不可见"), ("刘一1", "只能包含"), ("刘", "至少"), ("·刘一", "间隔号"),
])
def test_the_borrower_form_applies_the_name_rule(app, client, auth, demo, name, text):
    auth.login("officer1")
    first17 = "51340119800101123"
    before = _count(app, Borrower)
    r = auth.post("/borrowers/new", data={"name": name, "id_number": first17 + check_digit(first17)})
    assert r.status_code == 422 and text in r.get_data(as_text=True)
    assert _count(app, Borrower) == before


def test_the_borrower_form_stores_the_normalised_name(app, client, auth, demo):
    auth.login("officer1")
    first17 = "51340119800101123"
    r = auth.post("/borrowers/new", data={"name": " 阿卜杜拉・买买提 ", "id_number": first17 + check_digit(first17)})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Borrower.name).where(Borrower.id_number.like("513401198001011%"))) == "阿卜杜拉·买买提"


def test_the_phone_manifest_applies_the_name_rule(app, client, demo):
    headers = enrol(app, "officer1")
    body, _ = manifest(app, [jpeg_bytes()])
    body["borrower"]["name"] = "陈\u202e小春"
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 422 and "不可见" in r.get_json()["fields"]["borrower.name"]


def test_the_trail_of_a_day_out_of_range_is_a_400_not_a_500(app, client, auth, demo):
    with app.app_context():
        from app.models import User

        officer_id = db.session.scalar(select(User.id).where(User.username == "officer1"))
    auth.login("director1")
    for day in ("0001-01-01", "9999-12-31"):  # before year 1 in UTC / the day after overflows
        assert client.get(f"/tasks/trail/{officer_id}?date={day}").status_code == 400
    assert client.get(f"/tasks/trail/{officer_id}?date=2026-11-30").status_code == 200
