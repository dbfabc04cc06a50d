"""One scoping helper decides what each user sees: officer his own, director his office's, HQ all."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower


def _rows(app):
    from app.models import User

    with app.app_context():
        apps = db.session.execute(
            select(Application.id, Application.borrower_id, Application.officer_id, Application.office_id)
        ).all()
        offices = dict(db.session.execute(select(User.id, User.office_id)).all())
    return apps, offices


# Who should see an application, written out independently of app.services.scope.
EXPECTED = {
    "officer1": lambda a, uid, office: a.officer_id == uid,
    "officer3": lambda a, uid, office: a.officer_id == uid,
    "director1": lambda a, uid, office: a.office_id == office,
    "director2": lambda a, uid, office: a.office_id == office,
    "reviewer1": lambda a, uid, office: True,
    "cashier1": lambda a, uid, office: True,
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_detail_pages_follow_scope(app, client, auth, demo, username):
    apps, offices = _rows(app)
    uid = demo[username]
    sees = EXPECTED[username]
    visible = [a for a in apps if sees(a, uid, offices[uid])]
    hidden = [a for a in apps if not sees(a, uid, offices[uid])]
    assert visible, "every demo user should see something"
    auth.login(username)
    for a in visible:
        assert client.get(f"/applications/{a.id}").status_code == 200
        assert client.get(f"/borrowers/{a.borrower_id}").status_code == 200
    for a in hidden:
        r = client.get(f"/applications/{a.id}")
        assert r.status_code == 404
        assert "不存在或不在您的查看范围内" in r.get_data(as_text=True)
        assert client.get(f"/borrowers/{a.borrower_id}").status_code == 404


def test_lists_and_search_only_show_scope(app, client, auth, demo):
    auth.login("officer3")
    with app.app_context():
        names = dict(db.session.execute(select(Borrower.name, Borrower.officer_id)).all())
    html = client.get("/applications/").get_data(as_text=True)
    for name, officer_id in names.items():
        assert (name in html) == (officer_id == demo["officer3"]), name
    # Searching for someone else's borrower by name finds nothing.
    other = next(n for n, o in names.items() if o != demo["officer3"])
    rows = client.get("/borrowers/", query_string={"q": other}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="borrower-rows"' in rows and other not in rows
    own = names_of(names, demo["officer3"])[0]
    rows = client.get("/borrowers/", query_string={"q": own}, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert own in rows and "<html" not in rows  # htmx gets the partial alone


def names_of(names, officer_id):
    return [n for n, o in names.items() if o == officer_id]


def test_a_missing_object_looks_the_same_as_a_hidden_one(client, auth, demo):
    auth.login("officer1")
    r = client.get("/applications/999999")
    assert r.status_code == 404
    assert "不存在或不在您的查看范围内" in r.get_data(as_text=True)
