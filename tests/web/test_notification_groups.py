"""Notifications grouped by kind and business day (issue 12 item 7): one line for "3 approved today"
on the desk page and in the phone's API answer, each one still reachable, and mark all read."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import clock
from app.domain.dates import business_date_of
from app.extensions import db
from app.models import Notification, User
from app.services.notifications import group
from tests.conftest import Auth
from tests.support.today import moments_today
from tests.sync_helpers import enrol


def _inbox(app, username: str) -> int:
    """officer1's inbox: 3 approvals today, 2 yesterday, 1 return today (newest last)."""
    now = clock.now()
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.execute(Notification.__table__.delete())
        # Today's within today's business day whatever the hour (a fixed "30 minutes ago" is yesterday
        # just after midnight in Beijing); yesterday's a day before today's first.
        first, *later = moments_today(now, 4)
        rows = [("director_approve", first - timedelta(days=1, minutes=m), f"昨天{m}") for m in (2, 1)]
        rows += [("director_approve", at, f"今天{m}") for at, m in zip([first] + later[:2], (30, 20, 10))]
        rows += [("director_return", later[2], "退回的一件")]
        for kind, at, message in rows:
            db.session.add(Notification(user_id=user_id, kind=kind, message=message, link="/applications/1", created_at=at))
        db.session.commit()
        return user_id


def test_the_desk_page_shows_one_line_per_kind_and_day_and_marks_all_read(app, client, demo):
    _inbox(app, "officer1")
    auth = Auth(client)
    auth.login("officer1")
    page = client.get("/notifications").get_data(as_text=True)
    groups = re.findall(r'<li class="row notice-group unread" data-kind="(\w+)" data-count="(\d+)">', page)
    assert groups == [("director_approve", "3"), ("director_approve", "2")]
    # The single return stands on its own line, first (newest); today's approvals say so, and open to each one.
    assert page.index("退回的一件") < page.index("3 条 · 今天") < page.index("2 条")
    assert all(f"今天{m}" in page for m in (10, 20, 30)) and "3 条未读" in page
    assert page.count("<li class=\"row") == 1 + 2 + 5  # the single line, two groups, their five rows
    assert "全部标为已读" in page
    auth.post("/notifications/read")
    page = client.get("/notifications").get_data(as_text=True)
    assert "unread" not in page and "全部标为已读" not in page and "3 条 · 今天" in page


def test_the_phone_gets_the_groups(app, client, demo):
    _inbox(app, "officer1")
    headers = enrol(app, "officer1")
    answer = client.get("/api/v1/notifications", headers=headers).get_json()
    assert answer["unread"] == 6
    shape = [(g["kind"], g["count"], g["unread"], [n["message"] for n in g["items"]]) for g in answer["groups"]]
    assert shape == [("director_return", 1, 1, ["退回的一件"]),
                     ("director_approve", 3, 3, ["今天10", "今天20", "今天30"]),
                     ("director_approve", 2, 2, ["昨天1", "昨天2"])]
    assert answer["groups"][1]["day"] == clock.business_today().isoformat()
    assert answer["groups"][1]["label"] and len(answer["items"]) == 6  # the flat list stays for older phones


START = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)  # 23:00 in Beijing: the day turns within the hour


# Pure: no database. The machine may be busy with browser tests, hence no time limits.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3 * 24 * 60)), max_size=40))
def test_grouping_keeps_every_notification_once_by_kind_and_day_newest_first(raw):
    rows = sorted((SimpleNamespace(kind=k, created_at=START + timedelta(minutes=m), read_at=None) for k, m in raw),
                  key=lambda n: n.created_at, reverse=True)
    groups = group(rows)
    assert sorted(map(id, (n for g in groups for n in g.items))) == sorted(map(id, rows))
    for g in groups:
        assert all(n.kind == g.kind and business_date_of(n.created_at) == g.day for n in g.items)
        assert g.items == sorted(g.items, key=lambda n: n.created_at, reverse=True)
    keys = [(g.day, g.kind) for g in groups]
    assert len(keys) == len(set(keys))
    newest = [g.latest.created_at for g in groups]
    assert newest == sorted(newest, reverse=True)
