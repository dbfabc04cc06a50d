"""Acting on an application through the web: allowed moves, refused ones explained, races caught."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, AuditLog, Borrower, Transition


def _app(app, borrower_name):
    with app.app_context():
        return db.session.scalar(
            select(Application).join(Borrower).where(Borrower.name == borrower_name)
        )


def _counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Transition, AuditLog))


def test_director_approves_from_his_queue(app, client, auth, demo):
    auth.login("director1")
    home = client.get("/").get_data(as_text=True)
    assert "张三" in home and "等待我初审" in home
    a = _app(app, "张三")
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert 'value="director_approve"' in page
    r = auth.post(f"/applications/{a.id}/act", data={"event": "director_approve", "version": a.version, "comment": "属实"})
    assert r.status_code == 303
    after = _app(app, "张三")
    assert after.state == "awaiting_entry" and after.director_id == demo["director1"]
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "属实" in page and "待录入" in page
    # Now it waits in the clerk's queue.
    auth.post("/logout")
    auth.login("clerk1")
    assert "张三" in client.get("/").get_data(as_text=True)


def test_return_without_comment_is_refused_with_a_reason(app, client, auth, demo):
    auth.login("director1")
    a = _app(app, "张三")
    before = _counts(app)
    r = auth.post(f"/applications/{a.id}/act", data={"event": "director_return", "version": a.version, "comment": " "})
    assert r.status_code == 303
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "请填写" in html
    assert _app(app, "张三").state == "awaiting_director"
    assert _counts(app) == before


def test_stale_version_tells_who_changed_it(app, client, auth, demo):
    a = _app(app, "李四")  # awaiting first-level review
    auth.login("reviewer1")
    r = auth.post(f"/applications/{a.id}/act", data={"event": "l1_pass", "version": a.version - 1})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "孙丽" in html and "重新" in html  # the clerk made the last change
    assert _app(app, "李四").state == "awaiting_l1"


def test_no_buttons_for_someone_who_may_not_act(app, client, auth, demo):
    a = _app(app, "李四")
    auth.login("reviewer2")  # awaiting L1: not the second-level reviewer's turn
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert not re.search(r'name="event"', page)
    r = auth.post(f"/applications/{a.id}/act", data={"event": "l1_pass", "version": a.version})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert _app(app, "李四").state == "awaiting_l1"
    assert "flash-error" in html


def test_routing_reasons_are_shown_after_first_level_review(app, client, auth, demo):
    a = _app(app, "赵六")  # 69 years old, no home GPS, 25,000 — waiting for special review
    auth.login("special1")
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "25,000.00" in page
    assert "GPS" in page
    assert "69" in page


def test_detail_shows_distance_from_the_office_and_duplicate_id_numbers(app, client, auth, demo):
    from sqlalchemy import select as sa_select

    from app.models import Borrower as B

    a = _app(app, "张三")
    auth.login("director1")
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "距城关办事处" in page and "km" in page
    assert "另有" not in page
    # Another application in flight for the same person (same ID number) is flagged.
    with app.app_context():
        from app.models import Application as A

        original = db.session.get(A, a.id)
        borrower = db.session.scalar(sa_select(B).where(B.name == "张三"))
        db.session.add(A(borrower=borrower, product_id=original.product_id, officer_id=original.officer_id,
                         office_id=original.office_id, amount=original.amount, term_months=6, purpose="x",
                         state="awaiting_entry"))
        db.session.commit()
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "另有1笔在途申请" in page


def test_the_applications_list_finds_by_the_search_keys_not_by_any_substring(app, client, auth, demo):
    """A typed ``%`` was taken as "anyone" and a fragment of an ID number matched anywhere in it:
    the list now finds by the search box's keys (name by its beginning, ID number's last six)."""
    zhang = _app(app, "张三")
    with app.app_context():
        id_number = db.session.get(Borrower, zhang.borrower_id).id_number
    auth.login("reviewer1")

    def names(q):
        page = client.get("/applications/", query_string={"q": q}).get_data(as_text=True)
        return page.count("张三")

    assert names("张") >= 1 and names(id_number[-6:]) >= 1 and names(id_number) >= 1
    assert names("%") == 0 and names("三") == 0 and names(id_number[3:9]) == 0
