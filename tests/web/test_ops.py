"""/healthz, /readyz and /metrics (app/web/ops.py) answering for real: a database that does not
answer, a photo store that cannot be written or reached, a database behind the migration scripts,
a scraper without or with a wrong token, and the counts of real requests, logins and uploads, also
added up across two real gunicorn workers."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import PROJECT_ROOT
from app.config import TestConfig as AppTestConfig
from app.extensions import db
from tests.conftest import csrf_token, fresh_mariadb_database
from tests.sync_helpers import enrol, jpeg_bytes, manifest, upload

TOKEN = "scrape-me-0123456789abcdef"


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition ``text`` (0 when it is absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def scrape(client) -> str:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.status_code
    assert r.content_type.startswith("text/plain")
    return r.get_data(as_text=True)


@pytest.fixture()
def metrics_app(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app


def _local_config(database_url: str, photo_dir: Path) -> AppTestConfig:
    config = AppTestConfig(database_url, photo_dir)
    config.PHOTO_STORE = "local"  # whatever the phase's store, these tests break a folder of their own
    return config


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(tmp_path):
    app = create_app(_local_config(f"mysql+pymysql://ddt:pw@127.0.0.1:{closed_port()}/nothing", tmp_path / "photos"))
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"


# --- /readyz ------------------------------------------------------------------------------------


def test_readyz_is_ready_on_a_migrated_database_and_a_working_store(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"status": "ready", "checks": {"database": "ok", "photo_store": "ok", "migrations": "ok"}}


def test_readyz_fails_when_the_database_does_not_answer(tmp_path):
    url = f"mysql+pymysql://ddt:hunter2-secret@127.0.0.1:{closed_port()}/daidaitong"
    app = create_app(_local_config(url, tmp_path / "photos"))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unready"
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["photo_store"] == "ok"
    assert body["checks"]["migrations"].startswith("unknown")
    assert "hunter2" not in r.get_data(as_text=True) and "127.0.0.1" not in r.get_data(as_text=True)


def test_readyz_fails_when_the_photo_folder_cannot_be_written(migrated, tmp_path):
    app = create_app(_local_config(migrated, tmp_path / "photos"))
    uploads = app.extensions["photo_store"].uploads_dir
    assert app.test_client().get("/readyz").status_code == 200
    # Break the folder the store writes into (chmod alone does not stop root, who runs CI here).
    uploads.rmdir()
    uploads.write_text("not a folder")
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    checks = r.get_json()["checks"]
    assert checks["photo_store"].startswith("StoreMisconfigured: photo folder") and "not writable" in checks["photo_store"]
    assert checks["database"] == "ok" and checks["migrations"] == "ok"


def test_readyz_fails_when_the_object_store_does_not_answer(app):
    from app.storage.s3 import S3PhotoStore

    # The store went away after the start (create_app checked the one it was given).
    app.extensions["photo_store"] = S3PhotoStore.from_config("s3://photos/ddt", {
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "very-secret-key", "AWS_DEFAULT_REGION": "us-east-1",
        "S3_CONNECT_TIMEOUT": 0.5, "S3_READ_TIMEOUT": 1, "S3_MAX_ATTEMPTS": 1, "INSTANCE_DIR": str(app.instance_path),
    })
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    checks = r.get_json()["checks"]
    assert checks["photo_store"].startswith("StoreUnavailable")
    assert checks["database"] == "ok"
    assert "very-secret-key" not in r.get_data(as_text=True)


def test_readyz_fails_when_the_database_is_behind_the_migrations(tmp_path):
    from flask_migrate import downgrade, upgrade

    base = os.environ.get("TEST_DATABASE_URL", "")
    url = fresh_mariadb_database(base, "ddt_ops_scratch") if base else f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
    app = create_app(_local_config(url, tmp_path / "photos"))
    with app.app_context():
        upgrade()
        assert app.test_client().get("/readyz").status_code == 200
        downgrade(revision="-1")
        db.engine.dispose()
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    checks = r.get_json()["checks"]
    assert checks["database"] == "ok" and checks["photo_store"] == "ok"
    assert checks["migrations"].startswith("database at ") and "flask db upgrade" in checks["migrations"]
    with app.app_context():
        upgrade()  # back at the head: ready again, the head read once and kept
        db.engine.dispose()
    assert app.test_client().get("/readyz").status_code == 200


def test_ops_endpoints_run_no_daily_job_and_need_no_login(migrated, tmp_path):
    config = _local_config(migrated, tmp_path / "photos")
    config.DAILY_JOB_ON_FIRST_REQUEST = True
    app = create_app(config)
    client = app.test_client()
    for path in ("/healthz", "/readyz"):
        assert client.get(path).status_code == 200
    assert "daily_job_done" not in app.extensions  # a load balancer's poll did not run the day
    client.get("/login")
    assert "daily_job_done" in app.extensions  # the first real request did


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_do_not_exist_without_a_token(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(metrics_app):
    client = metrics_app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Basic {TOKEN}"}):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "daidaitong_" not in r.get_data(as_text=True)


def test_metrics_count_a_real_request_by_endpoint_not_path(metrics_app, demo):
    client = metrics_app.test_client()
    before = scrape(client)
    key = dict(endpoint="auth.login", method="GET", status="2xx")
    assert client.get("/login").status_code == 200
    assert client.get("/no/such/page/raw-path-mark").status_code == 302  # to the login page, as every closed path
    after = scrape(client)
    name = "daidaitong_http_request_duration_seconds_count"
    assert sample(after, name, **key) == sample(before, name, **key) + 1
    assert sample(after, name, endpoint="unmatched", method="GET", status="3xx") >= 1
    assert "raw-path-mark" not in after and "/no/such" not in after  # never a raw path
    assert sample(after, "daidaitong_database_up") == 1
    assert sample(after, "daidaitong_sms_outbox_backlog") == 0 and sample(after, "daidaitong_ocr_queue_depth") == 0


def test_metrics_count_a_real_login_failure(metrics_app, demo):
    client = metrics_app.test_client()
    name = "daidaitong_login_failures_total"
    before = scrape(client)
    token = csrf_token(client)
    r = client.post("/login", data={"username": "officer1", "password": "wrong-password", "csrf_token": token})
    assert r.status_code == 401  # the login page again, with the refusal
    r = client.post("/login", data={"username": "nobody-here", "password": "wrong-password", "csrf_token": token})
    after = scrape(client)
    assert sample(after, name, why="password") == sample(before, name, why="password") + 1
    assert sample(after, name, why="unknown") == sample(before, name, why="unknown") + 1


def test_metrics_count_an_uploads_bytes(metrics_app, demo):
    client = metrics_app.test_client()
    headers = enrol(metrics_app, "officer1")
    body, blobs = manifest(metrics_app, [jpeg_bytes(seed=s) for s in range(5)])
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    before = scrape(client)
    assert upload(client, headers, body["photos"][0]["uuid"], blobs[0]).status_code == 204
    after = scrape(client)
    name = "daidaitong_sync_upload_bytes_total"
    assert sample(after, name) == sample(before, name) + len(blobs[0])
    assert sample(after, "daidaitong_sync_uploads_in_progress") == 0  # none left counted once answered
    patch = dict(endpoint="api_v1.upload_patch", method="PATCH", status="2xx")
    chunks = -(-len(blobs[0]) // (64 * 1024))
    count = "daidaitong_http_request_duration_seconds_count"
    assert sample(after, count, **patch) == sample(before, count, **patch) + chunks


def test_metrics_report_the_sms_outbox_and_ocr_queue_from_the_database(metrics_app, demo):
    from datetime import date

    from app.models import OcrRun, SmsMessage

    with metrics_app.app_context():
        db.session.add_all([
            SmsMessage(phone="13800000000", body="t", kind="due", for_date=date(2026, 1, 1), status=status)
            for status in ("pending", "pending", "sending", "sent", "failed")
        ] + [OcrRun(sha256=f"{i:064x}", engine="none", status="pending") for i in range(3)])
        db.session.commit()
    text = scrape(metrics_app.test_client())
    assert sample(text, "daidaitong_sms_outbox_backlog") == 3
    assert sample(text, "daidaitong_ocr_queue_depth") == 3


# --- across gunicorn's workers ------------------------------------------------------------------


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, r.read().decode()


def _counts_by_worker(folder: Path) -> dict[int, float]:
    """/healthz requests counted in each worker process's own file (histogram buckets are stored
    one by one in multiprocess mode; their sum is the count)."""
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in folder.glob("histogram_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        counts[pid] = sum(value for key, value, *_rest in MmapedDict.read_all_values_from_file(str(path))
                          if '"ops.healthz"' in key and '_bucket"' in key)
    return counts


def test_metrics_add_up_every_gunicorn_worker(migrated, tmp_path):
    port = closed_port()
    folder = tmp_path / "prometheus"
    env = {
        **os.environ, "DATABASE_URL": migrated, "SECRET_KEY": "t", "INSTANCE_DIR": str(tmp_path / "instance"),
        "PHOTO_STORE": "local", "PHOTO_DIR": str(tmp_path / "photos"), "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder), "DAILY_JOB_ON_FIRST_REQUEST": "0", "LOG_LEVEL": "WARNING",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(gunicorn), "-c", str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--worker-class", "sync", "--threads", "1", "app:create_app()"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to a minute for the workers to start
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                threading.Event().wait(0.1)
        sent = 1
        # Hold one worker (a sync worker serves one request at a time) with a request whose headers
        # are not finished, so the other worker answers the next ones; then finish it.
        with socket.create_connection(("127.0.0.1", port)) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(5):
                assert _get(base + "/healthz")[0] == 200
            sent += 5
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.makefile("rb").readline().startswith(b"HTTP/1.1 200")
            sent += 1
        counts = _counts_by_worker(folder)
        assert len(counts) == 2 and min(counts.values()) >= 1 and sum(counts.values()) == sent, counts
        for _ in range(4):  # whichever worker answers the scrape, it reports the sum
            status, text = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            assert sample(text, "daidaitong_http_request_duration_seconds_count",
                          endpoint="ops.healthz", method="GET", status="2xx") == sent
        # A worker dies: gunicorn's child_exit (deploy/gunicorn.conf.py) forgets its live gauges,
        # while what it counted still counts.
        dead = min(counts)
        assert (folder / f"gauge_livesum_{dead}.db").exists()
        os.kill(dead, 9)
        for _ in range(600):
            if not (folder / f"gauge_livesum_{dead}.db").exists():
                break
            threading.Event().wait(0.1)
        assert not (folder / f"gauge_livesum_{dead}.db").exists()
        status, text = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert sample(text, "daidaitong_http_request_duration_seconds_count",
                      endpoint="ops.healthz", method="GET", status="2xx") == sent
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


# --- the jobs' metrics --------------------------------------------------------------------------


def test_metrics_time_the_daily_job_and_count_its_result(metrics_app, demo):
    from datetime import date

    from app.services import jobs

    client = metrics_app.test_client()
    before = scrape(client)
    with metrics_app.app_context():
        jobs.run_daily(date(2026, 12, 1))
    after = scrape(client)
    assert sample(after, "daidaitong_daily_job_runs_total", result="ok") == sample(
        before, "daidaitong_daily_job_runs_total", result="ok") + 1
    assert sample(after, "daidaitong_daily_job_duration_seconds_count") == sample(
        before, "daidaitong_daily_job_duration_seconds_count") + 1
    # Read from the database: what any host or a cron run did.
    assert sample(after, "daidaitong_daily_job_last_business_day_seconds") == (date(2026, 12, 1) - date(1970, 1, 1)).days * 86400
    assert sample(after, "daidaitong_daily_job_last_finished_seconds") > 0


def test_metrics_count_sms_sending_failures(metrics_app, demo):
    from app.services import sms
    from app.sms import make_gateway
    from tests.integration.test_sms import NOW, SIGN, _enqueue, _portfolio

    gateway = make_gateway({"SMS_GATEWAY": "http", "SMS_HTTP_URL": f"http://127.0.0.1:{closed_port()}/sms/send",
                            "SMS_SIGN": SIGN, "SMS_HTTP_TIMEOUT": 2})
    client = metrics_app.test_client()
    before = scrape(client)
    with metrics_app.app_context():
        _portfolio(demo, only={"张三"})
        _enqueue()
        assert sms.send_due(NOW, gateway, max_attempts=5)["retrying"] == 1  # the provider is down: retried later
    middle = scrape(client)
    with metrics_app.app_context():  # the next try, after the back-off, is the last one allowed
        assert sms.send_due(NOW + sms.backoff_after(1), gateway, max_attempts=2)["failed"] == 1
    after = scrape(client)
    name = "daidaitong_sms_send_failures_total"
    assert sample(middle, name, final="false") == sample(before, name, final="false") + 1
    assert sample(middle, "daidaitong_sms_outbox_backlog") == 1
    assert sample(after, name, final="true") == sample(before, name, final="true") + 1
    assert sample(after, "daidaitong_sms_outbox_backlog") == 0


def test_metrics_count_ocr_runs_and_time_the_reading(metrics_app, demo, tmp_path):
    from app import clock
    from app.models import OcrRun
    from app.services import ocr as ocr_service
    from tests.sync_helpers import sha256

    data = jpeg_bytes(320, 240, seed=9)
    digest = sha256(data)
    (tmp_path / "p.jpg").write_bytes(data)
    with metrics_app.app_context():
        metrics_app.extensions["photo_store"].put_file(digest, tmp_path / "p.jpg")
        runs = [OcrRun(sha256=digest, engine=engine, status="pending", requested_at=clock.now())
                for engine in ("rapidocr", "none")]
        db.session.add_all(runs)
        db.session.commit()
        ids = [r.id for r in runs]
    client = metrics_app.test_client()
    before = scrape(client)
    assert sample(before, "daidaitong_ocr_queue_depth") == 2
    for run_id in ids:  # what the worker thread does with a run it is handed
        ocr_service._work(metrics_app, run_id, None)
    after = scrape(client)
    assert sample(after, "daidaitong_ocr_queue_depth") == 0
    runs_total = "daidaitong_ocr_runs_total"
    assert sample(after, runs_total, result="done") == sample(before, runs_total, result="done") + 1
    assert sample(after, runs_total, result="failed") == sample(before, runs_total, result="failed") + 1  # engine off
    assert sample(after, "daidaitong_ocr_run_seconds_count") == sample(before, "daidaitong_ocr_run_seconds_count") + 1


@pytest.mark.parametrize(("token", "warned"), [("CHANGE-ME", True), ("short", True), ("0123456789abcdef0123", False)])
def test_a_weak_metrics_token_is_said_at_start(migrated, tmp_path, caplog, token, warned):
    config = _local_config(migrated, tmp_path / "photos")
    config.METRICS_TOKEN = token
    with caplog.at_level(logging.WARNING, logger="app.web.ops"):
        create_app(config)
    assert ("METRICS_TOKEN is short or a placeholder" in caplog.text) == warned
