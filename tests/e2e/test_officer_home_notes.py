"""The phone's home at 360 px (issue 12 item 7): the officer's own work first, notifications below it,
grouped by kind and day, opened to see each one, and all marked read at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Notification, User
from tests.e2e.officer import enrol_phone, wait_until
from tests.support.today import moments_today

pytestmark = pytest.mark.e2e


def test_own_work_comes_first_and_notifications_are_grouped(app, live_server, officer_phone):
    now = clock.now()
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer1"))
        db.session.execute(Notification.__table__.delete())
        moments = moments_today(now, 13)  # within today's business day whatever the hour
        for i in range(12):  # a busy day of decisions
            db.session.add(Notification(user_id=officer_id, kind="director_approve", message=f"农户{i} · 农户小额信用贷款",
                                        link="/applications/1", created_at=moments[i]))
        db.session.add(Notification(user_id=officer_id, kind="director_return", message="张三 · 农户小额信用贷款",
                                    link="/applications/1", created_at=moments[12]))
        db.session.commit()
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.wait_for_selector("#notes-card:not([hidden]) #list-notes .unread")
    rows = page.locator("#list-notes > li")
    assert rows.count() == 2  # thirteen notifications, two lines
    assert "张三" in rows.nth(0).inner_text()
    assert "12 条" in rows.nth(1).inner_text() and "今天" in rows.nth(1).inner_text()
    assert "农户3" not in rows.nth(1).inner_text()  # closed: only the newest is named
    # The drafts, the outbox and the plan come before the notifications.
    top = page.evaluate("""(() => {
        const y = (sel) => document.querySelector(sel).closest('section, .card').getBoundingClientRect().top + scrollY;
        return {drafts: y('#list-drafts'), outbox: y('#list-outbox'), plan: y('#list-plan'), notes: y('#list-notes')};
    })()""")
    assert top["drafts"] < top["outbox"] < top["plan"] < top["notes"], top
    assert top["drafts"] < 740  # the officer's drafts on the first screen
    # Opened, the group lists each one.
    rows.nth(1).locator("summary").click()
    assert all(f"农户{i}" in rows.nth(1).inner_text() for i in range(12))
    # The home drawn again after a sync (the plan is renewed every few minutes) keeps it open.
    page.evaluate("document.querySelector('#list-notes > li').dataset.old = '1'")
    page.evaluate("Sync.run({ sendNow: true })")
    wait_until(page, "document.querySelector('#list-notes > li') && !document.querySelector('#list-notes > li[data-old]')")
    assert page.locator("#list-notes details[open]").count() == 1
    assert all(f"农户{i}" in rows.nth(1).inner_text() for i in range(12))
    page.click("#notes-read")
    wait_until(page, "Store.getMeta('notifications').then(n => n.unread === 0)")
    page.wait_for_selector("#list-notes .unread", state="detached")
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Notification)
                                 .where(Notification.user_id == officer_id, Notification.read_at.is_(None))) == 0
