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


# Reach by kind of data: the administrator reaches borrowers (masked, for the view log) and no
# application or loan; the internal auditor reads every office's; a second role widens nothing.
@pytest.mark.parametrize("username,applications,loans", [
    ("admin", False, False), ("auditor1", True, True), ("clerk1", True, False), ("cashier1", True, True),
])
def test_hq_roles_reach_only_the_kinds_their_work_needs(app, client, auth, demo, username, applications, loans):
    from app.models import Loan, User
    from app.services.scope import scoped

    apps, _offices = _rows(app)
    with app.app_context():
        user = db.session.get(User, demo[username])
        counts = {m: len(db.session.scalars(scoped(user, m)).all()) for m in (Application, Borrower, Loan)}
        total = {m: db.session.scalar(select(db.func.count()).select_from(m)) for m in (Application, Borrower, Loan)}
    assert counts[Borrower] == total[Borrower]
    assert counts[Application] == (total[Application] if applications else 0)
    assert counts[Loan] == (total[Loan] if loans else 0)
    auth.login(username)
    for a in apps[:3]:
        assert client.get(f"/applications/{a.id}").status_code == (200 if applications else 404)
        assert client.get(f"/borrowers/{a.borrower_id}").status_code == 200


def test_an_admin_who_is_also_an_officer_reaches_only_his_own_customers(app, demo):
    from app.models import User, UserRole
    from app.services.scope import PHOTOS, may, scoped

    with app.app_context():
        admin = db.session.get(User, demo["admin"])
        admin.role_rows.append(UserRole(role="officer"))
        db.session.commit()
        own = db.session.scalars(select(Application.id).where(Application.officer_id == admin.id)).all()
        assert db.session.scalars(scoped(admin, Application).with_only_columns(Application.id)).all() == own == []
        assert len(db.session.scalars(scoped(admin, Borrower)).all()) > 0  # borrowers: admin's reach
        assert may(admin, PHOTOS)  # granted by his officer role, reaching only his own (none)


def test_the_trail_and_post_loan_tasks_follow_the_grants(app, client, auth, demo):
    # Officers' GPS trails: the officer, his director, the auditor; not the administrator or a reviewer.
    for username, status in (("officer1", 200), ("director1", 200), ("auditor1", 200),
                             ("director2", 404), ("admin", 404), ("reviewer1", 404), ("cashier1", 404)):
        c = app.test_client()
        from tests.conftest import Auth

        Auth(c).login(username)
        assert c.get(f"/tasks/trail/{demo['officer1']}").status_code == status, username


def test_the_auditor_is_offered_no_decision_and_cannot_act(app, client, auth, demo):
    from app.domain import workflow
    from app.models import User
    from app.services import applications as app_service

    with app.app_context():
        auditor = db.session.get(User, demo["auditor1"])
        rows = db.session.scalars(select(Application)).all()
        assert all(not workflow.allowed_events(a.facts(), app_service.actor_for(auditor)) for a in rows)
        target = next(a for a in rows if a.state == "awaiting_l1")
        target_id, version = target.id, target.version
    auth.login("auditor1")
    r = auth.post(f"/applications/{target_id}/act", {"event": "l1_pass", "version": str(version)})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(Application, target_id).state == "awaiting_l1"
