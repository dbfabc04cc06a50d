"""``flask photos migrate --to s3://…`` for real: a local store of real JPEGs (the demo's photos, a
screenshot, a receipt, a visit photo) moved into SeaweedFS by the command run as an operator runs
it (a process of its own), interrupted half way (Ctrl-C, then a kill) with the store held by a real
proxy at a known object, resumed, and checked object by object with a client of the test's own."""
from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditLog, Borrower, FollowUpTask, Loan, Photo, Repayment, TaskPhoto, User
from app.storage import make_store
from tests.conftest import _empty_all_tables
from tests.support.store_proxy import S3_ENDPOINT, StoreProxy, needs_s3, s3_config
from tests.sync_helpers import jpeg_bytes

pytestmark = needs_s3

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(migrated, tmp_path):
    """The installation before the move: photos on the local disk, real rows naming them."""
    config = s3_config(migrated, tmp_path)
    config.PHOTO_STORE = "local"
    app = create_app(config)
    yield app
    with app.app_context():
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture()
def installation(app, demo):
    """Every kind of stored image the database names: the demo's photos, a screenshot, a receipt
    and a visit photo; returns {kind: sha256} of the extra three."""
    from app.services import jobs, loans
    from app.services import screenshots as screenshot_service

    store = make_store(app.config)
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.received_at.is_not(None)).order_by(Photo.id))
        clerk = db.session.scalar(select(User).where(User.username == "admin"))
        shot = screenshot_service.create(photo.application, photo, rotation=0, box=(0.1, 0.1, 0.6, 0.5), label="签名",
                                         user=clerk, store=store, now=datetime.now(timezone.utc))
        receipt = loans.store_receipt(_bytes_io(jpeg_bytes(800, 600, seed=31)), store, max_bytes=10**7, max_pixels=10**8)
        repayment = db.session.scalar(select(Repayment).order_by(Repayment.id))
        repayment.receipt_sha256 = receipt
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan.borrower.home_lat, loan.borrower.home_lon = 30.68, 104.10
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id))
        visit = jpeg_bytes(640, 480, seed=32)
        visit_sha = hashlib.sha256(visit).hexdigest()
        scratch = store.uploads_dir / "visit.jpg"
        scratch.write_bytes(visit)
        store.put_file(visit_sha, scratch)
        db.session.add(TaskPhoto(uuid=str(uuid.uuid4()), task_id=task.id, sha256=visit_sha,
                                 size_bytes=len(visit)))
        db.session.commit()
        return {"screenshot": shot.sha256, "receipt": receipt, "visit_photo": visit_sha}


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def _source(app) -> dict[str, bytes]:
    store = make_store(app.config)
    out = {}
    for sha in store.iter_objects():
        with store.open(sha) as f:
            out[sha] = f.read()
    return out


def _s3():
    return boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1",
                        aws_access_key_id=os.environ["TEST_S3_ACCESS_KEY_ID"],
                        aws_secret_access_key=os.environ["TEST_S3_SECRET_ACCESS_KEY"])


def _target(prefix: str) -> dict[str, str]:
    """{name: SHA-256 of its bytes} of every original in the bucket under ``prefix``, read back."""
    s3, bucket = _s3(), os.environ["TEST_S3_BUCKET"]
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/objects/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"].rsplit("/", 1)[-1]] = hashlib.sha256(body).hexdigest()
    return found


def _env(app, tmp_path, endpoint: str = "", readonly: bool = False) -> dict[str, str]:
    kind = "READONLY_" if readonly else ""
    return {
        **os.environ, "FLASK_APP": "app", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "migrate-test", "PHOTO_STORE": "local",
        "PHOTO_DIR": str(app.config["PHOTO_DIR"]), "S3_ENDPOINT_URL": endpoint or S3_ENDPOINT,
        "S3_ADDRESSING_STYLE": "path", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": os.environ[f"TEST_S3_{kind}ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ[f"TEST_S3_{kind}SECRET_ACCESS_KEY"],
        "S3_CONNECT_TIMEOUT": "2", "S3_READ_TIMEOUT": "60", "S3_MAX_ATTEMPTS": "2",
    }


def _migrate_argv(url: str) -> list[str]:
    return [sys.executable, "-m", "flask", "photos", "migrate", "--to", url]


def _run(app, tmp_path, url: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(_migrate_argv(url), env=_env(app, tmp_path, **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _runs(app) -> list[dict]:
    with app.app_context():
        return [row.detail for row in db.session.scalars(
            select(AuditLog).where(AuditLog.action == "photos.migrate").order_by(AuditLog.id))]


def _held_at(proxy: StoreProxy, nth: int):
    """Hold the write of the nth original (and every one after it)."""
    seen = [0]

    def rule(method: str, path: str) -> bool:
        if method == "PUT" and "/objects/" in path:
            seen[0] += 1
        return seen[0] >= nth and method == "PUT" and "/objects/" in path
    proxy.hold(rule)


def test_migrate_copies_every_photo_verified_and_says_what_to_set(app, installation, tmp_path):
    before = _source(app)
    assert len(before) > 40 and set(installation.values()) <= set(before)
    prefix = f"mig-{secrets.token_hex(5)}"
    url = f"s3://{os.environ['TEST_S3_BUCKET']}/{prefix}"

    done = _run(app, tmp_path, url)
    assert done.returncode == 0, done.stderr
    assert _target(prefix) == {sha: sha for sha in before}  # every original, its bytes its name
    assert _source(app) == before  # nothing deleted or changed in the source
    assert f"PHOTO_STORE={url}" in done.stdout and f"S3_ENDPOINT_URL={S3_ENDPOINT}" in done.stdout
    assert _runs(app)[-1]["outcome"] == "done" and _runs(app)[-1]["copied"] == len(before)

    # The app switched to the new store serves every photo the database names.
    switched = s3_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "after", prefix=prefix)
    store = create_app(switched).extensions["photo_store"]
    for sha in installation.values():
        with store.open(sha) as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha

    again = _run(app, tmp_path, url)  # nothing left to do
    assert again.returncode == 0, again.stderr
    assert _runs(app)[-1]["copied"] == 0 and _runs(app)[-1]["already"] == len(before)


def _ctrl_c_as_at_a_terminal() -> None:
    # A suite started in the background (CI under a non-interactive shell) inherits SIGINT ignored,
    # and so would the command: give it the terminal's default, as an operator's shell does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_and_killed_runs_resume_and_lose_nothing(app, installation, tmp_path):
    before = _source(app)
    prefix = f"mig-{secrets.token_hex(5)}"
    url = f"s3://{os.environ['TEST_S3_BUCKET']}/{prefix}"
    with StoreProxy(S3_ENDPOINT) as proxy:
        # Ctrl-C while the 4th original is on its way (and every later one): three are in the target.
        _held_at(proxy, 4)
        run = subprocess.Popen(_migrate_argv(url), env=_env(app, tmp_path, endpoint=proxy.url), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_ctrl_c_as_at_a_terminal)
        assert proxy.held.wait(120), run.communicate(timeout=5)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 130, err
        assert "interrupted" in err and "run the same command again" in err
        assert len(_target(prefix)) == 3  # every write after the 3rd was held (the copies run 4 at once)
        # Of those, what was verified before the signal is counted; the rest is verified next time.
        assert _runs(app)[-1]["outcome"] == "interrupted" and _runs(app)[-1]["copied"] <= 3
        proxy.release(forward=False)  # the dead run's held write never lands

        # Killed outright while the 3rd original of the next run is on its way: no goodbye at all.
        _held_at(proxy, 3)
        run = subprocess.Popen(_migrate_argv(url), env=_env(app, tmp_path, endpoint=proxy.url), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proxy.held.wait(120), run.communicate(timeout=5)
        run.kill()
        run.communicate(timeout=60)
        proxy.release(forward=False)
    partial = _target(prefix)
    # The three of the first run are there; the killed run's earlier writes may or may not have
    # landed (a kill can cut one still on its way), but never the held one nor anything wrong.
    assert 3 <= len(partial) < len(before)
    assert all(name == digest for name, digest in partial.items())

    done = _run(app, tmp_path, url)
    assert done.returncode == 0, done.stderr
    last = _runs(app)[-1]
    assert last["outcome"] == "done"
    assert last["already"] == len(partial) and last["copied"] == len(before) - len(partial)
    assert _target(prefix) == {sha: sha for sha in before}
    assert _source(app) == before


def test_photos_the_database_names_but_the_store_lacks_are_listed_and_the_exit_is_not_zero(app, installation, tmp_path):
    store = make_store(app.config)
    lost = installation["receipt"]
    store.delete(lost)  # lost from the disk before the move
    with app.app_context():
        photo = db.session.scalar(select(Photo).where(Photo.received_at.is_not(None)).order_by(Photo.id.desc()))
        photo_id, photo_sha = photo.id, photo.sha256
        # A photo whose file is gone too (shared by no other row).
        others = db.session.scalar(select(db.func.count()).select_from(Photo).where(Photo.sha256 == photo_sha))
    if others == 1:
        store.delete(photo_sha)
    prefix = f"mig-{secrets.token_hex(5)}"

    done = _run(app, tmp_path, f"s3://{os.environ['TEST_S3_BUCKET']}/{prefix}")
    assert done.returncode == 1
    with app.app_context():
        repayment_id = db.session.scalar(select(Repayment.id).where(Repayment.receipt_sha256 == lost))
    assert f"receipt {repayment_id} {lost} (not in the source either)" in done.stderr
    if others == 1:
        assert f"photo {photo_id} {photo_sha}" in done.stderr
    assert "NOT complete" in done.stderr and "PHOTO_STORE=" not in done.stdout
    run = _runs(app)[-1]
    assert run["outcome"] == "incomplete" and run["missing"] >= 1
    assert any(lost in entry for entry in run["missing_first"])
    # Everything the source does hold was copied all the same.
    assert set(_target(prefix)) == set(_source(app))


def test_a_target_that_refuses_writes_stops_before_copying(app, installation, tmp_path):
    prefix = f"mig-{secrets.token_hex(5)}"
    done = _run(app, tmp_path, f"s3://{os.environ['TEST_S3_BUCKET']}/{prefix}", readonly=True)
    assert done.returncode == 1
    assert "目标存储不可用" in done.stderr and "AccessDenied" in done.stderr
    assert _target(prefix) == {}


def test_the_references_walk_finds_every_kind_and_skips_purged(app, installation):
    from app.services.photo_migration import referenced_hashes

    with app.app_context():
        refs = list(referenced_hashes())
        assert [r.sha256 for r in refs] == sorted(r.sha256 for r in refs)
        kinds = {r.kind: r.sha256 for r in refs}
        assert {k: kinds[k] for k in ("screenshot", "receipt", "visit_photo")} == installation
        received = db.session.scalars(select(Photo).where(Photo.received_at.is_not(None))).all()
        assert sum(1 for r in refs if r.kind == "photo") == len(received)
        received[0].purged_at = datetime.now(timezone.utc)
        db.session.commit()
        assert sum(1 for r in referenced_hashes() if r.kind == "photo") == len(received) - 1
        # Not received yet: the bytes were never stored, so nothing is missing.
        assert all(r.row_id != p.id for r in referenced_hashes() for p in
                   db.session.scalars(select(Photo).where(Photo.received_at.is_(None))).all())


def test_a_damaged_source_file_is_not_copied_and_a_wrong_object_in_the_target_is_replaced(app, demo, tmp_path):
    from app.services import photo_migration

    source = make_store(app.config)
    names = list(source.iter_objects())
    damaged, wrong = names[0], names[1]
    source.object_path(damaged).write_bytes(b"not the bytes named")  # rotted on the disk
    prefix = f"mig-{secrets.token_hex(5)}"
    # An object under a photo's name with other bytes (written by some other tool, unchecked).
    _s3().put_object(Bucket=os.environ["TEST_S3_BUCKET"], Key=f"{prefix}/objects/{wrong[:2]}/{wrong[2:4]}/{wrong}",
                     Body=b"other bytes")
    target = create_app(s3_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "t", prefix=prefix)) \
        .extensions["photo_store"]
    with app.app_context():
        result = photo_migration.migrate(source, target, describe=("disk", prefix))
    assert result.damaged_in_source == [damaged] and result.replaced == 1 and not result.failed
    assert not result.ok  # the damaged photo is named by the database and missing in the target
    assert {ref.sha256 for ref in result.missing} == {damaged} and result.missing_in_source == set()
    copied = _target(prefix)
    assert damaged not in copied and copied[wrong] == wrong
    assert all(name == digest for name, digest in copied.items()) and len(copied) == len(names) - 1
