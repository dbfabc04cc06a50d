"""The daily job's screen (issue 12 item 10b): last runs and their results, "run now" for the
administrator only, audited, and never two runs at once (a run holding the lease refuses another)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, JobLock, JobRun
from app.services import job_control, jobs
from tests.conftest import Auth


def _as(app, username: str) -> Auth:
    viewer = Auth(app.test_client())
    viewer.login(username)
    return viewer


def test_the_admin_runs_the_job_now_and_sees_its_result(app, demo):
    today = jobs.business_today()
    admin = _as(app, "admin")
    page = admin.client.get("/admin/jobs/").get_data(as_text=True)
    assert 'id="run-now"' in page and today.isoformat() in page
    r = admin.post("/admin/jobs/run")
    assert r.status_code == 303
    page = admin.client.get("/admin/jobs/").get_data(as_text=True)
    assert f"{today.isoformat()} 的每日任务已完成" in page
    runs = page.split('id="job-runs"', 1)[1]
    assert f"<td>{today.isoformat()}</td>" in runs
    # The books' part of the run: the days before today closed, the ledger agreeing with the loans.
    assert f"已日结至 {(today - timedelta(days=1)).isoformat()}" in runs and "对账相符" in runs
    with app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.job == "daily", JobRun.for_date == today))
        assert set(run.detail) == {"installments_accrued", "reminders", "tasks", "group_late", "books"}
        books = run.detail["books"]
        assert "refused" not in books and not books.get("differences")
        assert books["closed_through"] == (today - timedelta(days=1)).isoformat()  # never today
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "job.run_now")).all()
        assert [(a.actor_id, a.detail["day"]) for a in audit] == [(demo["admin"], today.isoformat())]
        lock = db.session.get(JobLock, "daily")
        assert lock.held_until is None  # released after the run


def test_run_now_refuses_while_a_run_holds_the_lease_and_overtakes_a_dead_one(app, demo):
    today = jobs.business_today()
    now = datetime.now(timezone.utc)
    admin = _as(app, "admin")
    with app.app_context():
        assert job_control.claim("daily", "cron@host2:4242", now=now)  # another run is going on
        assert not job_control.claim("daily", "someone-else", now=now)  # one holder at a time
    r = admin.post("/admin/jobs/run")
    assert r.status_code == 303
    page = admin.client.get("/admin/jobs/").get_data(as_text=True)
    assert "每日任务正在运行（由 cron@host2:4242 启动）" in page
    assert 'id="job-running"' in page
    with app.app_context():
        assert db.session.scalar(select(JobRun).where(JobRun.for_date == today)) is None  # nothing ran
        assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "job.run_now")).all()
        # The holder died: once its lease has run out, the next run takes over.
        db.session.get(JobLock, "daily").held_until = now - timedelta(seconds=1)
        db.session.commit()
    admin.post("/admin/jobs/run")
    with app.app_context():
        assert db.session.scalar(select(JobRun).where(JobRun.for_date == today)) is not None


def test_only_the_admin_sees_the_job_screen_or_runs_it(app, demo):
    for username in ("officer1", "director1", "auditor1", "cashier1"):
        viewer = _as(app, username)
        assert viewer.client.get("/admin/jobs/").status_code == 403, username
        assert viewer.post("/admin/jobs/run").status_code == 403, username
    with app.app_context():
        assert db.session.scalar(select(JobRun)) is None


def test_of_many_claims_at_the_same_moment_exactly_one_wins(app, demo):
    import threading

    now = datetime.now(timezone.utc)
    barrier = threading.Barrier(6)
    won: list[str] = []
    errors: list[BaseException] = []

    def claim(name: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                if job_control.claim("daily", name, now=now):
                    won.append(name)
            except BaseException as e:  # a loser must lose quietly, never fail (e.g. a deadlock)
                errors.append(e)

    threads = [threading.Thread(target=claim, args=(f"p{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1
    with app.app_context():
        assert db.session.get(JobLock, "daily").held_by == won[0]


def test_the_command_line_run_takes_the_same_lease(app, demo):
    now = datetime.now(timezone.utc)
    runner = app.test_cli_runner()
    with app.app_context():
        assert job_control.claim("daily", "admin@host1:77", now=now)  # the admin's run now is going on
    result = runner.invoke(args=["jobs", "daily"])
    assert result.exit_code == 1 and "already running (admin@host1:77)" in result.output
    with app.app_context():
        assert db.session.scalar(select(JobRun)) is None
        job_control.release("daily", "admin@host1:77")
    result = runner.invoke(args=["jobs", "daily"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(JobRun)) is not None
        assert db.session.get(JobLock, "daily").held_until is None
