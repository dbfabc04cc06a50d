"""The daily job with several app hosts (issue 16): cron starts ``flask jobs daily --if-not-done``
(the line of deploy/cron) on two hosts at once and the day is done once; a later cron run on either host finds it done; the
embedded default's first-request run stands back while another host runs the day.

The two "hosts" are two real processes of the command line (each its own INSTANCE_DIR) on the
test's database: MariaDB in the MariaDB phase, where the lease is a row both servers' connections
race for."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from app import clock
from app.config import PROJECT_ROOT
from app.extensions import db
from app.models import JobLock, JobRun
from app.services import job_control

FLASK = str(Path(sys.executable).with_name("flask"))
# What a host is told about the shared parts: the database and the photo store.
SHARED = ("PHOTO_STORE", "PHOTO_DIR", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
          "AWS_DEFAULT_REGION")


def _host_env(app, folder: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.update({"FLASK_APP": "app", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": app.config["SECRET_KEY"], "INSTANCE_DIR": str(folder)})
    for key in SHARED + tuple(k for k in app.config if k.startswith("S3_")):
        value = app.config.get(key)
        if value:
            env[key] = str(value)
    return env


def _cron_line(command: str) -> list[str]:
    """The arguments of ``flask COMMAND …`` as the deployment's deploy/cron runs it."""
    for line in (PROJECT_ROOT / "deploy" / "cron").read_text().splitlines():
        if not line.startswith("#") and f"flask {command}" in line:
            return line.split("flask ", 1)[1].split(">>", 1)[0].split()
    raise AssertionError(f"deploy/cron runs no `flask {command}`")


def _cron(app, folder: Path) -> subprocess.Popen:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([FLASK, *_cron_line("jobs daily")], cwd=PROJECT_ROOT, env=_host_env(app, folder),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def test_cron_on_two_hosts_at_once_does_the_day_once(app, demo, tmp_path):
    today = clock.business_today().isoformat()
    outputs = [_finish(p) for p in [_cron(app, tmp_path / "host-a"), _cron(app, tmp_path / "host-b")]]
    ran = [o for o in outputs if "installments_accrued" in o]
    assert len(ran) == 1, outputs
    other = next(o for o in outputs if o is not ran[0])
    assert f"daily job for {today}: already done" in other or f"daily job for {today}: being run by cli@" in other
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
        finished = db.session.scalar(select(JobRun.finished_at))
        assert db.session.get(JobLock, "daily").held_until is None
    # The next cron run, on either host: the day is done, nothing is run again.
    assert f"daily job for {today}: already done" in _finish(_cron(app, tmp_path / "host-b"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
        assert db.session.scalar(select(JobRun.finished_at)) == finished


def test_two_hosts_released_onto_the_lease_at_the_same_instant_do_the_day_once(app, demo, tmp_path):
    """Truly at once, on MariaDB: the test holds the lease row's lock until both processes wait
    on it, then lets them go together."""
    import time

    import pytest
    from sqlalchemy import text

    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("row locks to wait on: the MariaDB phase")
        job_control.claim("daily", "setup", now=datetime.now(timezone.utc))  # the row exists, free
        job_control.release("daily", "setup")
        gate = db.engine.connect()
        gate.execute(text("SELECT job FROM job_locks WHERE job = 'daily' FOR UPDATE"))
        procs = [_cron(app, tmp_path / "host-a"), _cron(app, tmp_path / "host-b")]
        deadline = time.monotonic() + 180
        with db.engine.connect() as watch:
            while watch.execute(text("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
                                     " AND trx_query LIKE '%job_locks%'")).scalar() < 2:
                assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "both never waited"
                time.sleep(0.1)
        gate.rollback()  # both go at the same instant
        gate.close()
    outputs = [_finish(p) for p in procs]
    assert sum("installments_accrued" in o for o in outputs) == 1, outputs
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_cron_beside_a_run_in_progress_exits_quietly_and_runs_nothing(app, demo, tmp_path):
    now = datetime.now(timezone.utc)
    with app.app_context():
        assert job_control.claim("daily", "cli@host-a:4242:abc", now=now)  # host A's run is going on
    out = _finish(_cron(app, tmp_path / "host-b"))
    assert "being run by cli@host-a:4242:abc" in out
    with app.app_context():
        assert db.session.scalar(select(JobRun)) is None


def test_the_first_request_stands_back_while_another_host_runs_the_day(app, client, demo):
    from app.web import daily

    app.config["DAILY_JOB_ON_FIRST_REQUEST"] = True
    daily.init_app(app)
    now = datetime.now(timezone.utc)
    with app.app_context():
        assert job_control.claim("daily", "cli@host-a:4242:abc", now=now)
    client.get("/login")
    with app.app_context():
        assert db.session.scalar(select(JobRun)) is None  # not run beside host A's run
        job_control.release("daily", "cli@host-a:4242:abc")
    app.extensions.pop("daily_job_busy_until", None)  # as BUSY_RETRY_S later
    client.get("/login")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
        assert db.session.get(JobLock, "daily").held_until is None
