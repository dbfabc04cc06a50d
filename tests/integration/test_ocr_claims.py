"""OCR runs are claimed across app hosts (issue 16): a run handed to the workers of two hosts at once
is read once; a run whose host died while reading it is taken again after the lease, and not before.

Two Flask applications on the same database stand for two hosts (each process of a host has its
own worker thread); the engine is the real RapidOCR, counted on its way through."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock, create_app
from app.extensions import db
from app.models import OcrRun, Photo
from app.ocr.engines import make_engine
from app.services import ocr as ocr_service


class CountingEngine:
    """The real engine, counting the images it is given."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.reads = 0
        self._lock = threading.Lock()

    def read(self, image):
        with self._lock:
            self.reads += 1
        return self.inner.read(image)


@pytest.fixture(scope="module")
def rapidocr():
    engine = make_engine("rapidocr")
    assert engine is not None
    return engine


@pytest.fixture()
def counting(app, rapidocr, monkeypatch):
    engine = CountingEngine(rapidocr)
    settings = ocr_service.OcrSettings.from_config(app.config)
    monkeypatch.setitem(ocr_service._engines, ("rapidocr", settings.model_dir), engine)
    return engine


def _second_host(app):
    """Another application on the same database and photo store: the second host."""
    class Same:
        pass

    config = Same()
    for key, value in app.config.items():
        setattr(config, key, value)
    return create_app(config)


def _run(app, status: str = "pending", image: int = 0, **claim) -> int:
    """A run of the ``image``-th distinct stored photo."""
    with app.app_context():
        sha = db.session.scalars(select(Photo.sha256).where(Photo.received_at.is_not(None))
                                 .distinct().order_by(Photo.sha256).offset(image).limit(1)).one()
        run = OcrRun(sha256=sha, engine="rapidocr", status=status, requested_at=clock.now(), **claim)
        db.session.add(run)
        db.session.commit()
        return run.id


def _get(app, run_id: int) -> OcrRun:
    with app.app_context():
        run = db.session.get(OcrRun, run_id)
        db.session.expunge(run)
        return run


def test_two_hosts_handed_the_same_run_read_it_once(app, demo, counting):
    host_b = _second_host(app)
    run_id = _run(app)
    model_dir = ocr_service.OcrSettings.from_config(app.config).model_dir
    start = threading.Barrier(2)
    errors = []

    def worker(host):
        try:
            start.wait()
            ocr_service._work(host, run_id, model_dir)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(host,)) for host in (app, host_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert counting.reads == 1, "both hosts read the image"
    run = _get(app, run_id)
    assert run.status == "done" and run.lines and run.claimed_until is None and run.claimed_by
    with host_b.app_context():
        db.engine.dispose()


def test_only_one_of_many_simultaneous_claims_wins(app, demo):
    run_id = _run(app)
    hosts = [app] + [_second_host(app) for _ in range(3)]
    start = threading.Barrier(len(hosts))
    won = []

    def claimer(i, host):
        with host.app_context():
            start.wait()
            if ocr_service.claim(run_id, f"host-{i}", now=clock.now()):
                won.append(i)
            db.session.remove()

    threads = [threading.Thread(target=claimer, args=(i, h)) for i, h in enumerate(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    run = _get(app, run_id)
    assert run.status == "running" and run.claimed_by == f"host-{won[0]}"
    for host in hosts[1:]:
        with host.app_context():
            db.engine.dispose()


def test_a_run_whose_host_died_is_taken_again_after_the_lease_not_before(app, demo, counting):
    now = clock.now()
    alive = _run(app, "running", claimed_by="host-a:1:alive", claimed_until=now + timedelta(minutes=5))
    dead = _run(app, "running", image=1, claimed_by="host-a:1:dead", claimed_until=now - timedelta(seconds=1))
    with app.app_context():
        # Still held: nobody else may take it; the page's poll leaves it to its holder.
        assert not ocr_service.claim(alive, "host-b:2:x", now=now)
        settings = ocr_service.OcrSettings.from_config(app.config)
        with app.test_request_context():
            ocr_service.resume_if_overdue(db.session.get(OcrRun, alive), now=now, settings=settings)
            # The dead host's claim ran out: the poll hands it to this host's worker, which reads it.
            ocr_service.resume_if_overdue(db.session.get(OcrRun, dead), now=now, settings=settings)
    app.extensions["ocr_executor"].shutdown(wait=True)
    assert counting.reads == 1
    assert _get(app, alive).status == "running" and _get(app, alive).claimed_by == "host-a:1:alive"
    taken = _get(app, dead)
    assert taken.status == "done" and taken.claimed_by != "host-a:1:dead"


def test_a_host_of_the_previous_version_still_records_runs_after_the_upgrade(app, demo):
    """Rolling upgrade (docs/DEPLOY.md): migration 0022 ran, an old host inserts a run the old way,
    naming none of the new columns."""
    from sqlalchemy import text

    with app.app_context():
        sha = db.session.scalars(select(Photo.sha256).where(Photo.received_at.is_not(None))).first()
        lines = db.engine.dialect.identifier_preparer.quote("lines")  # a reserved word on MariaDB
        db.session.execute(text(
            f"INSERT INTO ocr_runs (sha256, engine, status, {lines}, fields, error, requested_at)"
            " VALUES (:sha, 'rapidocr', 'pending', '[]', '{}', '', :now)"), {"sha": sha, "now": clock.now().replace(tzinfo=None)})
        db.session.commit()
        run = db.session.scalar(select(OcrRun).where(OcrRun.sha256 == sha))
        assert run.claimed_by == "" and run.claimed_until is None
        assert ocr_service.claim(run.id, "new-host", now=clock.now())
