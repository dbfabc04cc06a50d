"""Post-loan tasks over HTTP: the phone's plan and report, the director's list and reassignment."""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import Borrower, FollowUpTask, Loan, TaskPhoto
from app.services import jobs
from tests.conftest import Auth
from tests.sync_helpers import enrol, jpeg_bytes


def _feng_tasks(app) -> list[FollowUpTask]:
    """The demo's 冯十二 loan (officer1, 城关) is overdue: the daily job gives it tasks."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan.borrower.home_lat, loan.borrower.home_lon = 30.68, 104.10
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        rows = db.session.scalars(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id)).all()
        db.session.expunge_all()
        return rows


def test_the_phone_downloads_its_plan_and_reports_a_visit(app, client, demo):
    tasks = _feng_tasks(app)
    assert {t.kind for t in tasks} >= {"revisit", "collection"}
    headers = enrol(app, "officer1")
    plan = client.get("/api/v1/plan", headers=headers).get_json()
    assert {t["uuid"] for t in plan["tasks"]} <= {t.uuid for t in tasks} and plan["tasks"]
    first = plan["tasks"][0]
    assert first["kind_label"] and first["borrower"]["name"] == "冯十二" and first["loan"]["days_past_due"] > 0
    photo = jpeg_bytes(640, 480, seed=9)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()  # the phone's times must be recent
    body = {"report_uuid": str(uuid.uuid4()), "completed_at": now,
            "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                        "loan_use_verified": True, "notes": ""},
            "gps": {"lat": 30.6801, "lon": 104.1001, "accuracy_m": 20, "at": now, "is_mock": False},
            "photos": [{"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(photo).hexdigest(),
                        "content_base64": base64.b64encode(photo).decode()}]}
    r = client.post(f"/api/v1/tasks/{first['uuid']}/report", json=body, headers=headers)
    assert r.status_code == 200 and r.get_json()["on_site"] is True
    assert client.post(f"/api/v1/tasks/{first['uuid']}/report", json=body, headers=headers).get_json() == r.get_json()
    other = enrol(app, "officer3")
    assert client.post(f"/api/v1/tasks/{first['uuid']}/report", json=dict(body, report_uuid=str(uuid.uuid4())),
                       headers=other).status_code == 409
    bad = client.post(f"/api/v1/tasks/{plan['tasks'][-1]['uuid']}/report", json={"report_uuid": "x"}, headers=headers)
    assert bad.status_code in (409, 422)
    # The director of 城关 sees it verified, with the photo; the director of 河口 sees neither.
    director = Auth(app.test_client())
    director.login("director1")
    page = director.client.get("/tasks/?status=done").get_data(as_text=True)
    assert "冯十二" in page and "在现场" in page
    with app.app_context():
        photo_id = db.session.scalar(select(TaskPhoto.id))
    assert director.client.get(f"/tasks/photos/{photo_id}").status_code == 200
    outsider = Auth(app.test_client())
    outsider.login("director2")
    assert "冯十二" not in outsider.client.get("/tasks/?status=done").get_data(as_text=True)
    assert outsider.client.get(f"/tasks/photos/{photo_id}").status_code == 404


def test_the_director_reassigns_a_task_to_another_officer_of_his_office(app, demo):
    tasks = [t for t in _feng_tasks(app) if t.status == "open"]
    director = Auth(app.test_client())
    director.login("director1")
    with app.app_context():
        from app.models import User

        officer2 = db.session.scalar(select(User).where(User.username == "officer2"))
        officer3 = db.session.scalar(select(User).where(User.username == "officer3"))
    r = director.post(f"/tasks/{tasks[0].id}/reassign", {"officer_id": officer3.id})  # another office: refused
    assert r.status_code == 303
    director.post(f"/tasks/{tasks[0].id}/reassign", {"officer_id": officer2.id})
    with app.app_context():
        assert db.session.get(FollowUpTask, tasks[0].id).officer_id == officer2.id
    officer = Auth(app.test_client())
    officer.login("officer1")
    assert officer.post(f"/tasks/{tasks[0].id}/reassign", {"officer_id": officer2.id}).status_code == 403


def _report(app, client, headers, task_uuid: str, **outcome) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    body = {"report_uuid": str(uuid.uuid4()), "completed_at": now,
            "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                        "loan_use_verified": True, "notes": "", **outcome},
            "gps": {"lat": 30.6801, "lon": 104.1001, "accuracy_m": 20, "at": now, "is_mock": False}, "photos": []}
    r = client.post(f"/api/v1/tasks/{task_uuid}/report", json=body, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)


def test_the_directors_list_shows_what_was_paid_and_promised_in_yuan(app, client, demo):
    """Issue 12 item 11: "还款 0.00" — no ¥, and a zero the phone sends when nothing was paid."""
    tasks = _feng_tasks(app)
    headers = enrol(app, "officer1")
    plan = client.get("/api/v1/plan", headers=headers).get_json()["tasks"]
    assert len(plan) >= 2
    promise = (jobs.business_today() + __import__("datetime").timedelta(days=5)).isoformat()
    _report(app, client, headers, plan[0]["uuid"], paid_amount="1200.5", promise_amount="300", promise_date=promise)
    _report(app, client, headers, plan[1]["uuid"], paid_amount="0.00")
    director = Auth(app.test_client())
    director.login("director1")
    page = director.client.get("/tasks/?status=done").get_data(as_text=True)
    assert "还款 ¥1,200.50" in page and f"承诺 {promise} 前还 ¥300.00" in page
    assert "还款 0.00" not in page and "还款 ¥0.00" not in page
    assert len(tasks) >= 2


def test_a_plan_renewed_during_the_day_keeps_the_days_visits_done_with_their_verdict(app, client, demo):
    """The phone renews its plan every few minutes (issue 12 item 6): a visit reported this morning
    stays on it, done, with the server's verdict; yesterday's done visits do not come back."""
    _feng_tasks(app)
    headers = enrol(app, "officer1")
    first, second = client.get("/api/v1/plan", headers=headers).get_json()["tasks"][:2]
    _report(app, client, headers, first["uuid"])
    _report(app, client, headers, second["uuid"])
    with app.app_context():  # the second visit was made yesterday (China's date)
        task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == second["uuid"]))
        task.completed_at = datetime.now(timezone.utc) - __import__("datetime").timedelta(days=1)
        db.session.commit()
    renewed = {t["uuid"]: t for t in client.get("/api/v1/plan", headers=headers).get_json()["tasks"]}
    done = renewed[first["uuid"]]
    assert done["status"] == "done" and done["report_uuid"]
    assert done["result"]["on_site"] is True and done["result"]["flags"] == [] and done["result"]["distance_m"] is not None
    assert second["uuid"] not in renewed
    assert all(t["status"] == "open" for u, t in renewed.items() if u != first["uuid"])
