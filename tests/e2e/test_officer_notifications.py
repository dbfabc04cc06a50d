"""Decisions on his applications reach the officer's phone app, and stay readable offline."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, User
from tests.e2e.officer import enrol_phone, wait_until

pytestmark = pytest.mark.e2e


def test_the_phone_shows_new_notifications_offline_and_marks_them_read(app, live_server, officer_phone):
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer1"))
        db.session.add(Notification(user_id=officer_id, kind="director_return", message="张三 · 农户小额信用贷款",
                                    link="/applications/1", created_at=datetime.now(timezone.utc)))
        db.session.commit()
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.click("#send-now")
    page.wait_for_selector("#notes-card:not([hidden]) #list-notes .unread")
    assert "退回客户经理" in page.inner_text("#list-notes") and "张三" in page.inner_text("#list-notes")
    officer_phone.set_offline(True)
    page.reload()
    page.wait_for_selector("#list-notes .unread")  # kept on the phone
    officer_phone.set_offline(False)
    page.click("#notes-read")
    wait_until(page, "Store.getMeta('notifications').then(n => n.unread === 0)")
    with app.app_context():
        assert db.session.scalar(select(Notification.read_at).where(Notification.user_id == officer_id)
                                 .order_by(Notification.id.desc())) is not None
