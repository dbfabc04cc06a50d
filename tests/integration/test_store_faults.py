"""The photo store failing under a sync, with the real store behind a real socket: SeaweedFS behind
a TCP proxy (tests/support/store_proxy.py) that is cut, held or told to drop the writes of
originals. Every time: a retryable 503 with a code and Retry-After, the photo not marked received,
nothing recorded; then the store back and the same upload completes once."""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Application, AuditLog, Borrower, FollowUpTask, Loan, Photo
from app.services import jobs
from app.storage import StoreMisconfigured, StoreUnavailable, make_store
from tests.support.store_proxy import app_behind_proxy_fixture, needs_s3, proxy_fixture, s3_config  # noqa: F401 (fixtures app, proxy)
from tests.sync_helpers import enrol, jpeg_bytes, manifest, upload

pytestmark = needs_s3

CHUNK = 64 * 1024


def _sent_application(app, client, headers):
    """An application whose photos all arrived but the last, whose bytes are returned to send."""
    body, blobs = manifest(app, [jpeg_bytes(seed=s, width=800, height=600) for s in range(5)])
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    for entry, data in zip(body["photos"][:-1], blobs[:-1]):
        assert upload(client, headers, entry["uuid"], data).status_code == 204
    last = body["photos"][-1]
    data = blobs[-1]
    assert len(data) > 2 * CHUNK
    # All but the last chunk of the last photo.
    cut = (len(data) - 1) // CHUNK * CHUNK
    assert upload(client, headers, last["uuid"], data[:cut], chunk=CHUNK).status_code == 204
    return body, last, data, cut


def _patch(client, headers, photo_uuid, offset, piece):
    return client.patch(f"/api/v1/uploads/{photo_uuid}", data=piece, headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream"})


def _received(app, photo_uuid) -> tuple[bool, int]:
    """Whether the photo is marked received, and how many photo_received audit rows it has."""
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.uuid == photo_uuid))
        rows = db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "photo_received", AuditLog.object_id == photo.id))
        return photo.received_at is not None, rows


def _state(app, application_uuid) -> tuple[str, list[str]]:
    with app.app_context():
        a = db.session.scalar(select(Application).where(Application.uuid == application_uuid))
        return a.state, [t.event for t in a.transitions]


def _store_refusal(response, code="store_unavailable"):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    if response.request.method != "HEAD":
        body = response.get_json()
        assert body["error"] == code
        assert "照片存储" in body["message"]  # the officer's language
    assert "X-Photo-Verified" not in response.headers


def _resume(client, headers, photo_uuid, data):
    """What the phone's tus client does after a failed chunk: ask where to resume, send the rest."""
    head = client.head(f"/api/v1/uploads/{photo_uuid}", headers=headers)
    assert head.status_code == 200
    offset = int(head.headers["Upload-Offset"])
    if offset == len(data):
        return head
    return upload(client, headers, photo_uuid, data, chunk=CHUNK, start=offset)


def test_store_down_at_the_last_chunk_answers_503_and_the_same_upload_completes_later(app, client, demo, proxy):
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)

    proxy.down()  # the gateway is gone: every connection refused or cut
    _store_refusal(_patch(client, headers, last["uuid"], cut, data[cut:]))
    _store_refusal(client.head(f"/api/v1/uploads/{last['uuid']}", headers=headers))
    assert _received(app, last["uuid"]) == (False, 0)
    assert _state(app, body["uuid"]) == ("uploading", [])

    proxy.up()
    done = _resume(client, headers, last["uuid"], data)
    assert done.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)
    assert _state(app, body["uuid"]) == ("awaiting_director", ["photos_complete"])
    with app.app_context():
        store = make_store(app.config)
        with store.open(last["sha256"]) as f:
            assert f.read() == data
        # The staged chunks are gone: nothing left half-way.
        assert list(store.list_keys(f"{store.prefix}uploads/", "list")) == []
    # Sent once more (a phone that never saw the answer): nothing is added.
    again = _resume(client, headers, last["uuid"], data)
    assert again.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)


def test_original_not_written_is_not_received_even_with_every_chunk_staged(app, client, demo, proxy):
    """The store takes the staged chunks and the proof note but drops the write of the original
    (sync's _finish: store first, then record): 503, not received; the next HEAD finishes it."""
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)

    proxy.drop(lambda method, path: method == "PUT" and "/objects/" in path)
    _store_refusal(_patch(client, headers, last["uuid"], cut, data[cut:]))
    assert proxy.matched >= 1
    assert _received(app, last["uuid"]) == (False, 0)
    with app.app_context():
        assert not make_store(app.config).exists(last["sha256"])
    assert _state(app, body["uuid"]) == ("uploading", [])

    proxy.drop(None)
    head = client.head(f"/api/v1/uploads/{last['uuid']}", headers=headers)
    # Every byte was staged: the HEAD settles the photo from them, the phone sends nothing again.
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(data))
    assert head.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)
    assert _state(app, body["uuid"]) == ("awaiting_director", ["photos_complete"])


def test_slow_store_fails_the_request_fast_with_503_then_works_when_it_answers(app, client, demo, proxy):
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)

    # The store takes every request and never answers: the request ends on the client's timeout
    # (S3_READ_TIMEOUT 2 s, 2 attempts) with a 503 instead of hanging the phone and a worker.
    proxy.hold()
    _store_refusal(_patch(client, headers, last["uuid"], cut, data[cut:]))
    assert proxy.held.is_set()
    assert _received(app, last["uuid"]) == (False, 0)

    proxy.release()  # answers again (the held requests reach it late, as a slow store's would)
    done = _resume(client, headers, last["uuid"], data)
    assert done.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)
    assert _state(app, body["uuid"]) == ("awaiting_director", ["photos_complete"])


def test_bucket_without_permission_answers_503_logs_an_error_and_records_nothing(app, client, demo, caplog):
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)
    # The write permission is taken away while the app runs: the same bucket and prefix, reached
    # with the identity that may only read and list.
    app.extensions["photo_store"] = make_store({
        **app.config, "AWS_ACCESS_KEY_ID": os.environ["TEST_S3_READONLY_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["TEST_S3_READONLY_SECRET_ACCESS_KEY"]})

    with caplog.at_level(logging.WARNING):
        _store_refusal(_patch(client, headers, last["uuid"], cut, data[cut:]), code="store_misconfigured")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "AccessDenied" in errors[0].getMessage()
    assert _received(app, last["uuid"]) == (False, 0)
    head = client.head(f"/api/v1/uploads/{last['uuid']}", headers=headers)
    assert head.headers["Upload-Offset"] == str(cut)  # the refused chunk was not kept
    assert _state(app, body["uuid"]) == ("uploading", [])

    app.extensions["photo_store"] = make_store(app.config)  # the permission given back
    done = _resume(client, headers, last["uuid"], data)
    assert done.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)


def test_visit_report_with_the_store_down_answers_503_records_nothing_and_is_taken_later(app, client, demo, proxy):
    """The visit photos are stored before the report is recorded: with the store down nothing of
    the report is kept, and the phone's retry of the same report is taken once."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))  # overdue: visits due
        loan.borrower.home_lat, loan.borrower.home_lon = 30.68, 104.10
        db.session.commit()
        jobs.run_daily(jobs.business_today())
    headers = enrol(app, "officer1")
    task = client.get("/api/v1/plan", headers=headers).get_json()["tasks"][0]
    photo = jpeg_bytes(640, 480, seed=9)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    report = {"report_uuid": str(uuid.uuid4()), "completed_at": now,
              "outcome": {"met_borrower": True, "paid_amount": "", "promise_date": None, "promise_amount": None,
                          "loan_use_verified": True, "notes": ""},
              "gps": {"lat": 30.6801, "lon": 104.1001, "accuracy_m": 20, "at": now, "is_mock": False},
              "photos": [{"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(photo).hexdigest(),
                          "content_base64": base64.b64encode(photo).decode()}]}

    proxy.down()
    _store_refusal(client.post(f"/api/v1/tasks/{task['uuid']}/report", json=report, headers=headers))
    with app.app_context():
        t = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == task["uuid"]))
        assert t.status != "done" and t.report_uuid in (None, "") and not t.photos
        assert not db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit_reported"))

    proxy.up()
    r = client.post(f"/api/v1/tasks/{task['uuid']}/report", json=report, headers=headers)
    assert r.status_code == 200, r.get_json()
    with app.app_context():
        t = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == task["uuid"]))
        assert t.status == "done" and len(t.photos) == 1
        assert make_store(app.config).exists(report["photos"][0]["sha256"])


# -- refused at start ------------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["secret", "access key"])
def test_wrong_credentials_refuse_to_start_with_a_clear_message(migrated, tmp_path, wrong):
    config = s3_config(migrated, tmp_path)
    if wrong == "secret":
        config.AWS_SECRET_ACCESS_KEY = "not-the-secret"
    else:
        config.AWS_ACCESS_KEY_ID = "nobody"
    with pytest.raises(StoreMisconfigured) as refused:
        create_app(config)
    said = str(refused.value)
    assert config.PHOTO_STORE.split("/")[2] in said  # the bucket
    assert "AWS_ACCESS_KEY_ID" in said and "AWS_SECRET_ACCESS_KEY" in said  # what to fix


def test_identity_that_may_not_write_refuses_to_start(migrated, tmp_path):
    with pytest.raises(StoreMisconfigured) as refused:
        create_app(s3_config(migrated, tmp_path, readonly=True))
    assert "AccessDenied" in str(refused.value)


def test_missing_bucket_refuses_to_start(migrated, tmp_path):
    config = s3_config(migrated, tmp_path)
    config.PHOTO_STORE = "s3://no-such-bucket-ddt/photos"
    with pytest.raises(StoreMisconfigured) as refused:
        create_app(config)
    assert "no-such-bucket-ddt" in str(refused.value) and "does not exist" in str(refused.value)


def test_store_unreachable_at_start_refuses_to_start(migrated, tmp_path, proxy):
    proxy.down()
    with pytest.raises(StoreUnavailable) as refused:
        create_app(s3_config(migrated, tmp_path, endpoint=proxy.url))
    assert "S3_ENDPOINT_URL" in str(refused.value)


def test_a_real_start_with_wrong_credentials_exits_with_the_message(migrated, tmp_path):
    """As an operator starts it: the process ends, non-zero, saying what to fix."""
    import subprocess
    import sys

    config = s3_config(migrated, tmp_path)
    env = {**os.environ, "DATABASE_URL": migrated, "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x",
           "PHOTO_STORE": config.PHOTO_STORE, "S3_ENDPOINT_URL": config.S3_ENDPOINT_URL,
           "AWS_ACCESS_KEY_ID": config.AWS_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": "not-the-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "S3_MAX_ATTEMPTS": "1"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "routes"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "StoreMisconfigured" in done.stderr and "AWS_SECRET_ACCESS_KEY" in done.stderr


# -- the database restarting during a sync (MariaDB) -------------------------------------------------


MARIADB_ONLY = pytest.mark.skipif("mysql" not in os.environ.get("TEST_DATABASE_URL", ""),
                                  reason="kills the app's database connections with KILL: MariaDB only")


def _last_chunk_with_connections_killed(app, headers, proxy, migrated, last, data, cut, which: str):
    """Send the last chunk, hold it at the write of the original (the request is then inside sync's
    _finish, holding its upload lock's connection and its session's transaction), KILL the app's
    connections (``which``: "all", or "lock": only the one holding the upload's GET_LOCK), let the
    write go on; the answer."""
    import threading

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    proxy.hold(lambda method, path: method == "PUT" and "/objects/" in path)
    answer: dict = {}
    worker = threading.Thread(target=lambda: answer.update(
        r=_patch(app.test_client(), headers, last["uuid"], cut, data[cut:])))
    worker.start()
    assert proxy.held.wait(30)
    killer = create_engine(migrated, poolclass=NullPool)
    with killer.connect() as conn:
        if which == "lock":
            ids = [conn.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": f"upload:{last['uuid']}"}).scalar()]
        else:
            ids = conn.execute(text("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db AND ID <> CONNECTION_ID()"),
                               {"db": make_url(migrated).database}).scalars().all()
        assert ids and all(ids)  # the request's connections
        for connection_id in ids:
            conn.execute(text(f"KILL {int(connection_id)}"))
    killer.dispose()
    proxy.release()
    worker.join(60)
    return answer["r"]


@MARIADB_ONLY
def test_database_connections_killed_during_the_last_chunk_lose_nothing(app, client, demo, proxy, migrated):
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)
    r = _last_chunk_with_connections_killed(app, headers, proxy, migrated, last, data, cut, "all")
    # Either it finished on fresh connections or it failed retryably; never a 500.
    assert r.status_code in (204, 503), r.get_data(as_text=True)
    if r.status_code == 503:
        assert r.get_json()["error"] in ("database_unavailable", "store_unavailable") and r.headers["Retry-After"]

    done = _resume(client, headers, last["uuid"], data)  # the phone's retry
    assert done.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)
    assert _state(app, body["uuid"]) == ("awaiting_director", ["photos_complete"])


@MARIADB_ONLY
def test_the_upload_lock_connection_killed_under_the_work_does_not_fail_a_finished_upload(app, client, demo, proxy,
                                                                                          migrated):
    """The lock's own connection dies (the server releases the lock with it) while the session's
    connection carries the work through: the photo is recorded, so the answer is the success, not a
    failure from releasing a lock the server already dropped."""
    headers = enrol(app, "officer1")
    body, last, data, cut = _sent_application(app, client, headers)
    r = _last_chunk_with_connections_killed(app, headers, proxy, migrated, last, data, cut, "lock")
    assert r.status_code == 204, r.get_data(as_text=True)
    assert r.headers["X-Photo-Verified"] == last["sha256"]
    assert _received(app, last["uuid"]) == (True, 1)
    assert _state(app, body["uuid"]) == ("awaiting_director", ["photos_complete"])
