"""The restructuring screens: asked on the loan page by the loan's officer, decided by the reviewers
level by level, refused input told in Chinese with nothing written, out of reach = not found."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from app.models.restructuring import LoanRestructuring


def _officer1_loan(app) -> int:
    """The demo's active loan of officer1 (late: a restructuring is what it needs)."""
    with app.app_context():
        from app.models import User

        officer = db.session.scalar(select(User.id).where(User.username == "officer1"))
        return db.session.scalar(select(Loan.id).where(Loan.status == "active", Loan.officer_id == officer)
                                 .order_by(Loan.id))


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LoanRestructuring))


def _ask(auth, loan_id: int, **form):
    return auth.post(f"/loans/{loan_id}/restructure", {"kind": "extension", "reason": "harvest_failure",
                                                       "note": "冰雹，玉米绝收", "term_months": "12", **form})


def test_ask_and_decide_through_the_screens(app, client, auth, demo):
    loan_id = _officer1_loan(app)
    auth.login("officer1")
    page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
    assert f'href="/loans/{loan_id}/restructure"' in page
    form = client.get(f"/loans/{loan_id}/restructure").get_data(as_text=True)
    assert 'id="restructure-form"' in form and "冰雹" not in form
    with app.app_context():
        method = db.session.get(Loan, loan_id).repayment_method
    response = _ask(auth, loan_id, method=method)
    assert response.status_code == 303, response.get_data(as_text=True)
    detail = response.headers["Location"]
    assert "冰雹，玉米绝收" in client.get(detail).get_data(as_text=True)
    assert auth.post(detail + "/decide", {"decision": "approve"}).status_code == 403  # an officer does not decide
    auth.post("/logout")

    auth.login("reviewer1")
    queue = client.get("/restructurings").get_data(as_text=True)
    assert detail in queue
    page = client.get(detail).get_data(as_text=True)
    assert 'id="restructure-decision"' in page
    # Refusing needs a reason: told in Chinese, nothing decided.
    refused = auth.post(detail + "/decide", {"decision": "refuse", "comment": ""})
    assert refused.status_code == 422 and "请说明" in refused.get_data(as_text=True)
    done = auth.post(detail + "/decide", {"decision": "approve", "comment": "属实"})
    assert done.status_code == 303
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        row = db.session.scalar(select(LoanRestructuring))
        levels = ["l1", *[lv[0] for lv in row.levels]]
        assert (row.status == "approved") == (levels == ["l1"])
    if levels == ["l1"]:
        page = client.get(f"/loans/{loan_id}").get_data(as_text=True)
        assert 'id="restructuring-history"' in page and loan.restructure_count == 1
        assert 'id="old-schedule"' in client.get(detail).get_data(as_text=True)
        auth.post("/logout")
        auth.login("cashier1")  # the printed contract keeps the schedule it was signed with
        with app.app_context():
            first_new = db.session.get(Loan, loan_id).schedule_from_seq
        note = client.get(f"/loans/{loan_id}/note").get_data(as_text=True)
        assert f"<td>{first_new - 1}</td>" in note and f"<td>{first_new}</td>" not in note


def test_bad_input_is_told_in_chinese_and_nothing_is_written(app, client, auth, demo):
    loan_id = _officer1_loan(app)
    auth.login("officer1")
    response = _ask(auth, loan_id, reason="", term_months="abc", note="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请选择原因" in html and "整数" in html
    assert _count(app) == 0


def test_who_may_ask_and_who_may_not_see(app, client, auth, demo):
    loan_id = _officer1_loan(app)
    auth.login("cashier1")
    assert _ask(auth, loan_id).status_code == 403
    assert client.get("/restructurings").status_code == 403
    auth.post("/logout")
    auth.login("officer2")  # not his loan: the same answer as no loan at all
    assert client.get(f"/loans/{loan_id}/restructure").status_code == 404
    assert _ask(auth, loan_id).status_code == 404
    assert _count(app) == 0
