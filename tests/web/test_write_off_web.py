"""The write-off screens: asked for on the loan page, decided by a second person, recoveries, the
early settlement quote and the loan's account — who may, and bad input told in Chinese with
nothing written."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import JournalEntry, Loan
from app.models.write_off import Recovery, WriteOffRequest


def _loan_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Loan.id).where(Loan.status == "active").order_by(Loan.id))


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _status(app, loan_id: int) -> str:
    with app.app_context():
        return db.session.get(Loan, loan_id).status


def _ask(auth, loan_id: int, **form):
    return auth.post(f"/loans/{loan_id}/write-off", {"basis": "decision", "reason": "贷审会第9号决议", **form})


def test_the_loan_page_offers_each_write_off_form_to_its_roles(app, client, auth, demo):
    loan_id = _loan_id(app)
    for username, asks in (("reviewer1", True), ("accountant1", True), ("cashier1", False), ("officer1", False)):
        auth.login(username)
        html = client.get(f"/loans/{loan_id}").get_data(as_text=True)
        assert (f'action="/loans/{loan_id}/write-off"' in html) == asks, username
        assert 'id="quote"' in html  # the settlement quote for everyone who sees the loan
        auth.post("/logout")


def test_ask_decide_and_recover_through_the_screens(app, client, auth, demo):
    loan_id = _loan_id(app)
    auth.login("reviewer1")
    response = _ask(auth, loan_id)
    assert response.status_code == 303
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert 'id="write-off-pending"' in page and "贷审会第9号决议" in page
    assert f'action="/loans/{loan_id}/write-off/decision"' not in page  # the requester is offered no decision
    # reviewer1 may not decide at all; the pending list is his to read.
    assert auth.post(f"/loans/{loan_id}/write-off/decision", {"decision": "approve"}).status_code == 403
    assert "贷审会第9号决议" in client.get("/write-offs").get_data(as_text=True)
    auth.post("/logout")

    auth.login("reviewer2")
    assert "贷审会第9号决议" in client.get("/write-offs").get_data(as_text=True)
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert f'action="/loans/{loan_id}/write-off/decision"' in page
    assert auth.post(f"/loans/{loan_id}/write-off/decision", {"decision": "approve", "note": "同意"}).status_code == 303
    assert _status(app, loan_id) == "written_off"
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert 'id="off-balance"' in page and "核销" in page
    assert 'id="quote"' not in page  # nothing to settle: what comes back is a recovery
    assert "已核销" in client.get("/loans").get_data(as_text=True)  # the loan list says so too
    auth.post("/logout")

    auth.login("cashier1")
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert f'action="/loans/{loan_id}/recoveries"' in page
    assert f'action="/loans/{loan_id}/repayments"' not in page
    response = auth.post(f"/loans/{loan_id}/recoveries", {"amount": "300", "received_on": "", "channel": "cash",
                                                            "reference": "HS-1"})
    assert response.status_code == 303 and _count(app, Recovery) == 0  # no date: refused
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "日期" in page
    from app import clock

    today = clock.business_today().isoformat()
    response = auth.post(f"/loans/{loan_id}/recoveries", {"amount": "300", "received_on": today, "channel": "cash",
                                                            "reference": "HS-1"})
    assert response.status_code == 303 and _count(app, Recovery) == 1
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert "HS-1" in page and "300.00" in page
    # The same reference twice: refused in Chinese, nothing written.
    response = auth.post(f"/loans/{loan_id}/recoveries", {"amount": "5", "received_on": today, "channel": "cash",
                                                            "reference": "HS-1"})
    assert "已" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _count(app, Recovery) == 1
    # The loan's account shows the write-off's and the recovery's entries.
    account = client.get(f"/loans/{loan_id}/account").get_data(as_text=True)
    assert "7001" in account and "6301" in account and "1303" in account


def test_only_the_cashier_records_a_recovery_and_only_approvers_decide(app, client, auth, demo):
    loan_id = _loan_id(app)
    auth.login("officer1")
    assert _ask(auth, loan_id).status_code == 403
    assert auth.post(f"/loans/{loan_id}/recoveries", {"amount": "1"}).status_code == 403
    assert client.get("/write-offs").status_code == 403
    assert client.get(f"/loans/{loan_id}/account").status_code == 403
    assert _count(app, WriteOffRequest) == 0


def test_bad_requests_are_told_in_chinese_and_write_nothing(app, client, auth, demo):
    loan_id = _loan_id(app)
    entries = _count(app, JournalEntry)
    auth.login("reviewer1")
    for form, words in (({"reason": " "}, "原因"), ({"basis": "loss_class"}, "损失"), ({"basis": "x"}, "依据")):
        response = _ask(auth, loan_id, **form)
        assert response.status_code == 303
        assert words in client.get(response.headers["Location"]).get_data(as_text=True), form
    assert _count(app, WriteOffRequest) == 0 and _count(app, JournalEntry) == entries
    auth.post("/logout")
    auth.login("reviewer2")
    response = auth.post(f"/loans/{loan_id}/write-off/decision", {"decision": "approve"})
    assert response.status_code == 303  # nothing pending: told so
    assert _status(app, loan_id) == "active" and _count(app, JournalEntry) == entries


def test_the_quote_screen(app, client, auth, demo):
    loan_id = _loan_id(app)
    auth.login("cashier1")
    html = client.get(f"/loans/{loan_id}/quote").get_data(as_text=True)
    assert 'id="quote-total"' in html
    partial = client.get(f"/loans/{loan_id}/quote?on=2020-01-01", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert "field-error" in partial.get_data(as_text=True)
    bad = client.get(f"/loans/{loan_id}/quote?on=yesterday").get_data(as_text=True)
    assert "年-月-日" in bad and 'id="quote-total"' not in bad
