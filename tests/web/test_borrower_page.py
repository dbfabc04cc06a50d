"""The borrower page answers "can we lend to this person again": the demo's late borrower's loan
with its balances, repayment behaviour and the verdict; masked identity; reach and grants."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Borrower, Loan
from app.models.audit import IdentityView
from app.services import loans as loan_service
from tests.conftest import Auth


def _feng(app) -> dict:
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        today = clock.business_today()
        pos = loan_service.position(loan, max(today, loan.accrued_through or today))
        return {"borrower_id": loan.borrower_id, "loan_id": loan.id, "id_number": loan.borrower.id_number,
                "outstanding": pos.outstanding(loan.penalty_rate), "days": pos.days_past_due(),
                "principal_balance": loan.principal - loan.installments[0].principal_due}


def test_late_borrower_page_shows_balances_behaviour_and_says_not_now(app, client, auth, demo):
    d = _feng(app)
    assert d["days"] > 0, "the demo's borrower with a loan is late on his second installment"
    auth.login("director1")
    r = client.get(f"/borrowers/{d['borrower_id']}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"{d['outstanding']:,.2f}" in html and f"{d['principal_balance']:,.2f}" in html
    assert "暂不" in html and f"逾期 {d['days']} 天" in html  # the verdict and its reason
    assert "50.0 %" in html  # one of two installments fallen due paid on time
    assert f"/loans/{d['loan_id']}/statement" in html
    assert d["id_number"] not in html  # masked
    assert "家庭人口" in html or "People in the household" not in html
    with app.app_context():
        assert db.session.scalar(select(IdentityView).where(IdentityView.borrower_id == d["borrower_id"]))


def test_borrower_without_loans_and_an_application_in_progress(app, client, auth, demo):
    auth.login("director1")
    with app.app_context():
        zhang = db.session.scalar(select(Borrower.id).where(Borrower.name == "张三"))
    html = client.get(f"/borrowers/{zhang}").get_data(as_text=True)
    assert "谨慎" in html and "申请正在办理" in html


def test_reach_and_grants_on_the_borrower_page(app, client, auth, demo):
    d = _feng(app)
    auth.login("officer3")  # another office's officer
    assert client.get(f"/borrowers/{d['borrower_id']}").status_code == 404
    clerk = app.test_client()
    Auth(clerk).login("clerk1")  # borrowers and applications, not loans
    html = clerk.get(f"/borrowers/{d['borrower_id']}").get_data(as_text=True)
    assert "borrower-loans" not in html and f"{d['outstanding']:,.2f}" not in html
