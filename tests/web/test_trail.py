"""The GPS trail: idempotent, order-independent ingestion, and who may see an officer's day."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.extensions import db
from app.models import TrackPoint, User
from app.services import jobs
from tests.conftest import Auth
from tests.sync_helpers import enrol


def _points(n: int, start: datetime) -> list[dict]:
    # A walk north-east, one point every 5 minutes, about 110 m apart.
    return [{"uuid": str(uuid.uuid4()), "at": (start + timedelta(minutes=5 * i)).isoformat(),
             "lat": 30.66 + 0.001 * i, "lon": 104.09, "accuracy_m": 10, "is_mock": False} for i in range(n)]


def test_duplicate_and_out_of_order_batches_give_one_clean_trail(app, client, demo):
    headers = enrol(app, "officer1")
    day = jobs.business_today() - timedelta(days=1)  # yesterday's working day: all in the past
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=timezone.utc)  # 09:00 in China
    points = _points(12, start)
    late, early = points[6:], points[:6]
    r = client.post("/api/v1/track", json={"points": late}, headers=headers)
    assert sorted(r.get_json()["confirmed"]) == sorted(p["uuid"] for p in late)
    client.post("/api/v1/track", json={"points": early}, headers=headers)
    again = client.post("/api/v1/track", json={"points": points[4:9]}, headers=headers)  # a resend, overlapping
    assert len(again.get_json()["confirmed"]) == 5
    bad = client.post("/api/v1/track", json={"points": [{"uuid": "x"}, dict(points[0], lat=123)]}, headers=headers)
    assert [b["index"] for b in bad.get_json()["rejected"]] == [0, 1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrackPoint)) == 12
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        from app.services import trail

        trail_day = trail.day_of(officer, day)
    assert [p["at"] for p in trail_day["points"]] == sorted(p["at"] for p in trail_day["points"])
    assert len(trail_day["points"]) == 12
    assert 1150 < trail_day["distance_m"] < 1300  # 11 steps of ~111 m


def test_only_the_officer_his_director_and_the_auditor_see_his_day(app, client, demo):
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer1"))
    # Headquarters roles without post-loan duties (reviewers, admin) do not: app/services/scope.py.
    for username, status in (("officer1", 200), ("director1", 200), ("auditor1", 200), ("reviewer1", 404),
                             ("admin", 404), ("officer2", 404), ("director2", 404)):
        viewer = Auth(app.test_client())
        viewer.login(username)
        r = viewer.client.get(f"/tasks/trail/{officer_id}")
        assert r.status_code == status, username
        if status == 200:
            assert 'id="trail-map"' in r.get_data(as_text=True)
