"""OCR for data entry, off the request thread, cached by image hash.

A request only records an ``OcrRun`` (pending) and hands its id to this process's single OCR
worker thread; the page polls the run until it is done. One image content is read once per
engine, whoever asks: the row is unique on (sha256, engine). Several app hosts may be handed the
same run (two clerks at once, a retry after a failure, a poll of a stale run): a worker reads it
only after taking it with a conditional UPDATE (pending -> running, ``claimed_by`` and
``claimed_until``) committed at once, so exactly one worker of all hosts runs it, and it writes
its result only while the claim is still its own. A run left pending by a process that died
before taking it, or left running by a host that died while reading, is handed to a worker again
once ``LEASE`` has passed, by the next request for it or the page's next poll.

What is proposed depends on what the image is: the collection item of the photo (or of the
photo a screenshot was cut from) names the document (``app.domain.documents``), and only the
fields that document can hold are extracted and proposed.

Stored results (``OcrRun``): ``lines`` is ``[[text, confidence], ...]`` in reading order;
``fields`` maps an extracted field (``name``, ``id_number``, ``amount``, ``amount_in_capitals``,
``date`` — the IOU date — and from an ID card ``sex``, ``birth_date``, ``address``) to
``{"value": str, "confidence": float, "source": str, "document": kind}`` (capitals also carry
``"text"``, the words as read); ``value`` is normalised (amounts ``"39800.00"``, dates ISO,
sex ``男``/``女``).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app
from PIL import Image
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import metrics
from app.clock import business_today
from app.clock import now as clock_now
from app.domain.documents import DocumentKind, kind_of_item, may_propose
from app.domain.i18n import N_
from app.extensions import db, photo_store
from app.models import CollectionItem, OcrRun, Photo, Screenshot
from app.ocr.engines import OcrEngine, OcrUnavailable, make_engine
from app.ocr.fields import extract_fields
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

# How long a worker's claim holds (a reading takes seconds: docs/MEASUREMENTS.md), and how long a
# run may wait unclaimed before it is handed to a worker again (its host died with it queued).
LEASE = timedelta(minutes=10)
STALE_AFTER = LEASE
# Which form field each recognised OCR field proposes a value for, and which part of it.
FORM_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "value"),
    "id_number": ("id_number", "value"),
    "amount": ("amount", "value"),
    "amount_in_capitals": ("amount_in_capitals", "text"),
    "date": ("signed_on", "value"),
    "address": ("address", "value"),
}
# Read off an ID card but with no form field of their own: shown beside the ID number.
INFO_FIELDS: tuple[str, ...] = ("sex", "birth_date")
INFO_BESIDE = "id_number"

_start_lock = threading.Lock()


class OcrOff(ServiceError):
    """OCR is switched off, or the configured engine cannot run here; ``message`` is N_."""

    def __init__(self, message: str, params: dict | None = None) -> None:
        super().__init__("ocr_off", message, **(params or {}))


@dataclass(frozen=True)
class OcrSettings:
    """Which engine reads the photos, and where its local models are (app/config.py), read at the edge."""

    engine: str = "rapidocr"
    model_dir: str | None = None

    @classmethod
    def from_config(cls, config) -> OcrSettings:
        return cls((config.get("OCR_ENGINE") or "rapidocr").strip().lower(), config.get("OCR_MODEL_DIR") or None)

    @property
    def available(self) -> bool:
        return self.engine != "none"


def request_run(sha256: str, *, now: datetime, settings: OcrSettings) -> OcrRun:
    """The run for this image: the cached one, or a new one started in the background."""
    if not settings.available:
        raise OcrOff(N_("OCR is switched off on this server."))
    name = settings.engine
    run = db.session.scalar(select(OcrRun).where(OcrRun.sha256 == sha256, OcrRun.engine == name))
    if run is None:
        run = OcrRun(sha256=sha256, engine=name, status="pending", requested_at=now)
        db.session.add(run)
        try:
            db.session.commit()
        except IntegrityError:
            # Someone asked for the same image at the same moment: theirs is the run.
            db.session.rollback()
            return db.session.scalar(select(OcrRun).where(OcrRun.sha256 == sha256, OcrRun.engine == name))
        _submit(run.id, settings)
    elif _overdue(run, now):
        _resubmit(run, now, settings)
    elif run.status == "done":
        # Read before it was known as this document, or under older rules: the lines are kept,
        # so extracting again costs no OCR (milliseconds) and the stored fields stay right.
        fresh = extract_fields([(t, c) for t, c in run.lines or ()], today=business_today(now),
                               kind=kind_of_image(sha256))
        if fresh != run.fields:
            run.fields = fresh
            db.session.commit()
    elif run.status == "failed":
        # A failure may have been passing (e.g. a missing model later installed): try once more.
        run.status, run.error, run.requested_at = "pending", "", now
        db.session.commit()
        _submit(run.id, settings)
    return run


def _overdue(run: OcrRun, now: datetime) -> bool:
    """Waiting longer than any worker would leave it: pending and never taken, or running under a
    claim that has run out (the host reading it died)."""
    if run.status == "pending":
        return _as_utc(run.requested_at) < now - STALE_AFTER
    if run.status == "running":
        return run.claimed_until is None or _as_utc(run.claimed_until) < now
    return False


def _resubmit(run: OcrRun, now: datetime, settings: OcrSettings) -> None:
    run.requested_at = now  # handed over once per STALE_AFTER, not on every poll
    db.session.commit()
    _submit(run.id, settings)


def kind_of_image(sha256: str) -> DocumentKind:
    """The document an image shows: its photo's collection item, or for a screenshot the item of
    the photo it was cut from. ``OTHER`` when unknown or when the same bytes were filed as two
    different documents (then nothing is proposed rather than the wrong thing)."""
    items = db.session.execute(
        select(CollectionItem.code, CollectionItem.name)
        .join(Photo, Photo.collection_item_id == CollectionItem.id)
        .where(Photo.sha256 == sha256)
        .union(
            select(CollectionItem.code, CollectionItem.name)
            .join(Photo, Photo.collection_item_id == CollectionItem.id)
            .join(Screenshot, Screenshot.photo_id == Photo.id)
            .where(Screenshot.sha256 == sha256)
        )
    ).all()
    kinds = {kind_of_item(code, name) for code, name in items}
    return kinds.pop() if len(kinds) == 1 else DocumentKind.OTHER


def proposals(run: OcrRun) -> dict[str, dict]:
    """Form field -> {"value", "confidence"} for a finished run, only from fields its document holds.

    Every entry has ``"value"`` and ``"confidence"``. Sex and birth date read off an ID card
    have no form field: they come as ``"info"`` of the ID number's entry
    (``[{"field", "value", "confidence"}]``), shown beside it, when the ID number was read.
    """
    kind = kind_of_image(run.sha256)
    out: dict[str, dict] = {}
    info = []
    for key, found in (run.fields or {}).items():
        if not isinstance(found, dict) or not may_propose(kind, key):
            continue
        if key in FORM_FIELDS:
            form_field, part = FORM_FIELDS[key]
            out[form_field] = {"value": found.get(part) or found["value"], "confidence": found["confidence"]}
        elif key in INFO_FIELDS:
            info.append({"field": key, "value": found["value"], "confidence": found["confidence"]})
    if info and INFO_BESIDE in out:
        out[INFO_BESIDE]["info"] = sorted(info, key=lambda i: INFO_FIELDS.index(i["field"]))
    return out


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --- the worker -----------------------------------------------------------------------------


def _executor(app: Flask) -> ThreadPoolExecutor:
    with _start_lock:
        executor = app.extensions.get("ocr_executor")
        if executor is None:
            # One OCR at a time per process: it uses the CPU fully, and web requests never wait on it.
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr")
            app.extensions["ocr_executor"] = executor
        return executor


def _submit(run_id: int, settings: OcrSettings) -> None:
    # The worker thread needs the application (its own app context), not the request.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _executor(app).submit(_work, app, run_id, settings.model_dir)


_engines: dict[tuple[str, str | None], OcrEngine] = {}


def _engine(name: str, model_dir: str | None) -> OcrEngine:
    # Loaded once per process: the models take seconds to load and stay in memory.
    key = (name, model_dir)
    with _start_lock:
        if key not in _engines:
            engine = make_engine(name, model_dir=key[1])
            if engine is None:
                raise OcrUnavailable(N_("OCR is switched off on this server."))
            _engines[key] = engine
        return _engines[key]


def worker_name() -> str:
    """Who a claim is held by: the host, the process and a nonce (a restarted process is another)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:80]


def claim(run_id: int, holder: str, *, now: datetime) -> bool:
    """Take the run for ``holder`` if it is pending, or running under a claim that ran out; commits
    at once. True for exactly one of any number of workers asking at the same moment, on any host
    (the UPDATE's WHERE is re-checked under the row lock the database takes for it)."""
    t = OcrRun.__table__
    taken = db.session.execute(
        update(t).where(t.c.id == run_id, or_(
            t.c.status == "pending",
            and_(t.c.status == "running", or_(t.c.claimed_until.is_(None), t.c.claimed_until < now)),
        )).values(status="running", claimed_by=holder, claimed_until=now + LEASE)
    ).rowcount
    db.session.commit()
    return taken == 1


def _finish(run_id: int, holder: str, values: dict) -> bool:
    """Write the result, only while the claim is still ``holder``'s; commits."""
    t = OcrRun.__table__
    written = db.session.execute(
        update(t).where(t.c.id == run_id, t.c.status == "running", t.c.claimed_by == holder)
        .values(**values, finished_at=clock_now(), claimed_until=None)
    ).rowcount
    db.session.commit()
    return written == 1


def _work(app: Flask, run_id: int, model_dir: str | None) -> None:
    with app.app_context():
        try:
            holder = worker_name()
            if not claim(run_id, holder, now=clock_now()):
                return  # done, failed, or being read by another worker (of this host or another)
            run = db.session.get(OcrRun, run_id)
            if run is None:
                return
            sha256, engine_name = run.sha256, run.engine
            try:
                engine = _engine(engine_name, model_dir)
                with photo_store().open(sha256) as f, Image.open(f) as image:
                    image.load()
                    result = engine.read(image)
                lines = [(line.text, line.confidence) for line in result.lines]
                values = {
                    "lines": [[text, round(conf, 4)] for text, conf in lines],
                    "fields": extract_fields(lines, today=business_today(), kind=kind_of_image(sha256)),
                    "seconds": round(result.seconds, 3),
                    "status": "done",
                }
            except OcrUnavailable as e:
                values = {"status": "failed", "error": e.message % e.params if e.params else e.message}
            except Exception as e:  # noqa: BLE001 - a broken image must not kill the worker
                log.exception("OCR run %s failed", run_id)
                values = {"status": "failed", "error": f"{type(e).__name__}: {e}"[:500]}
            metrics.ocr_finished(values["status"], values.get("seconds"))
            db.session.rollback()  # end the read: the result is written by the claim's holder only
            if not _finish(run_id, holder, values):
                log.warning("OCR run %s: the claim ran out before the reading ended; another worker has it", run_id)
        finally:
            db.session.remove()


def run(run_id: int) -> OcrRun:
    """The OCR run with this id; an unknown id is answered as not found."""
    from app.services.scope import OutOfScope

    found = db.session.get(OcrRun, run_id)
    if found is None:
        raise OutOfScope("OcrRun", run_id)
    return found


def resume_if_overdue(found: OcrRun, *, now: datetime, settings: OcrSettings) -> None:
    """The page's poll: a run overdue (the host that had it died) is handed to a worker again."""
    if settings.available and _overdue(found, now):
        _resubmit(found, now, settings)
