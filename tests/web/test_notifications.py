"""Every decision reaches the officer and the director; the menu badge counts the user's queue."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, Borrower, Notification, User
from app.services import applications as app_service
from tests.conftest import Auth

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _inbox(app, username: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.user_id == _user(username).id)).all()
        return [(n.kind, n.message) for n in rows]


def test_a_decision_reaches_the_officer_and_the_director_but_not_the_actor(app, demo):
    with app.app_context():
        db.session.execute(Notification.__table__.delete())
        db.session.commit()
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "李四"))
        app_service.act(a.id, Event.L1_RETURN_TO_OFFICER, _user("reviewer1"), now=NOW, comment="缺少收入证明")
    assert [k for k, _ in _inbox(app, "officer1")] == ["l1_return_to_officer"]
    assert "李四" in _inbox(app, "officer1")[0][1]
    assert [k for k, _ in _inbox(app, "director1")] == ["l1_return_to_officer"]
    assert _inbox(app, "reviewer1") == [] and _inbox(app, "director2") == []


def test_the_menu_badge_counts_the_queue_and_unread_notifications(app, demo):
    with app.app_context():
        db.session.execute(Notification.__table__.delete())
        db.session.commit()
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "张三"))
        director = _user("director1")
        # 张三 and the demo's joint-liability group of three (and whatever else the demo sends him)
        queue = db.session.scalar(select(db.func.count()).select_from(Application).where(
            Application.state == "awaiting_director", Application.office_id == director.office_id))
    client = app.test_client()
    auth = Auth(client)
    auth.login("director1")
    counts = client.get("/nav/counts").get_data(as_text=True)
    assert queue >= 4 and f'data-count="{queue}"' in counts  # they wait for his preliminary review
    auth.post(f"/applications/{a.id}/act", {"event": "director_approve", "version": a.version, "comment": "同意"})
    officer = app.test_client()
    Auth(officer).login("officer1")
    page = officer.get("/nav/counts").get_data(as_text=True)
    assert "通知" in page and 'data-count="1"' in page
    assert "张三" in officer.get("/notifications").get_data(as_text=True)
    Auth(officer).post("/notifications/read")
    assert 'data-count' not in officer.get("/nav/counts").get_data(as_text=True).split("通知")[1]
    # The clerks' badge now counts it.
    clerk = app.test_client()
    Auth(clerk).login("clerk1")
    with app.app_context():
        waiting = db.session.scalar(select(db.func.count()).select_from(Application).where(Application.state == "awaiting_entry"))
    assert f'data-count="{waiting}"' in clerk.get("/nav/counts").get_data(as_text=True)
