"""Moving the photo store: every original of one store copied into another, verified, resumable
(``flask photos migrate --to s3://bucket/prefix``, app/photos_cli.py).

- Every original the source holds (``iter_objects``) is streamed into a scratch file beside the
  target (hashing it on the way: a source file that does not hash to its name is reported, never
  copied), handed to the target's ``put_file`` (the S3 store sends its SHA-256, which the server
  checks), then verified in the target: the SHA-256 the target recorded for the object (S3: the
  ``ChecksumSHA256`` its server checked the bytes against, ``stored_sha256``), else the object
  read back and hashed (the local store; objects written in parts; ``--verify-existing``).
- Resumable: an object already in the target and verified there is skipped, so a second run, or a
  run after Ctrl-C or a kill, finishes the rest. A wrong object in the target is replaced.
- Nothing is deleted from the source; the operator switches ``PHOTO_STORE`` afterwards.
- The final check: every hash the database references (received photos, screenshots, repayment
  receipts, visit photos; purged ones excluded) must be in the target. The database's hashes and
  the target's listing are both in ascending order and walked side by side (constant memory for
  millions of photos); what the walk finds missing is looked up once more before it is reported.
- One audit row per run (``photos.migrate``), also for a run that was interrupted.

Half-finished uploads and cached thumbnails are not copied: a phone resumes an upload from the
start on the new store, and thumbnails are made again when first viewed.
"""
from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import String, literal, select, union_all

from app.extensions import db
from app.models import Photo, Repayment, Screenshot, TaskPhoto
from app.models.credit import BureauQuery
from app.services import audit
from app.storage import PhotoStore, copy_hashing

__all__ = ["MigrationResult", "Reference", "migrate", "missing_references", "referenced_hashes"]

_CHUNK = 1024 * 1024


class Reference(NamedTuple):
    sha256: str
    kind: str  # photo, screenshot, receipt, visit_photo, bureau_report
    row_id: int


@dataclass
class MigrationResult:
    total: int = 0  # originals in the source
    copied: int = 0  # copied and verified by this run
    already: int = 0  # found verified in the target (an earlier run, or written there already)
    replaced: int = 0  # found in the target with other bytes, copied again
    bytes_copied: int = 0
    damaged_in_source: list[str] = field(default_factory=list)  # bytes do not hash to the name: not copied
    failed: list[str] = field(default_factory=list)  # copied, but the target did not verify
    missing: list[Reference] = field(default_factory=list)  # referenced by the database, not in the target
    missing_in_source: set[str] = field(default_factory=set)  # of those, not in the source either

    @property
    def done(self) -> int:
        return self.copied + self.already + self.replaced + len(self.damaged_in_source) + len(self.failed)

    @property
    def ok(self) -> bool:
        return not (self.damaged_in_source or self.failed or self.missing)


Progress = Callable[[MigrationResult], None]


def migrate(source: PhotoStore, target: PhotoStore, *, verify_existing: bool = False, jobs: int = 1,
            progress: Progress | None = None, describe: tuple[str, str] = ("", "")) -> MigrationResult:
    """Copy every original of ``source`` into ``target`` and check the database's references.

    ``jobs`` photos are copied at once (threads: an object store's round trips, not the CPU, are
    the cost). ``verify_existing`` reads back and hashes every object already in the target, also
    when the target keeps its own SHA-256 of it. ``progress`` is called after every object.
    ``describe`` is (source, target) as the audit row names them. Raises what the stores raise
    (StoreUnavailable, StoreMisconfigured) and KeyboardInterrupt, after recording the interrupted
    run; the database is used by the calling thread only."""
    result = MigrationResult(total=sum(1 for _ in source.iter_objects()))
    try:
        for sha256, outcome, size in _copied(source, target, source.iter_objects(), jobs=max(1, jobs),
                                             verify_existing=verify_existing):
            _count(result, sha256, outcome, size)
            if progress is not None:
                progress(result)
        result.missing = missing_references(target)
        if result.missing:
            result.missing_in_source = {ref.sha256 for ref in result.missing if not source.exists(ref.sha256)}
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the database may be what failed: the error itself matters more
            db.session.rollback()
            _record(result, describe, outcome="interrupted", error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    _record(result, describe, outcome="done" if result.ok else "incomplete")
    return result


def _count(result: MigrationResult, sha256: str, outcome: str, size: int) -> None:
    if outcome == "already":
        result.already += 1
    elif outcome == "damaged":
        result.damaged_in_source.append(sha256)
    elif outcome == "failed":
        result.failed.append(sha256)
    else:
        result.bytes_copied += size
        if outcome == "replaced":
            result.replaced += 1
        else:
            result.copied += 1


def _copied(source: PhotoStore, target: PhotoStore, names: Iterator[str], *, jobs: int,
            verify_existing: bool) -> Iterator[tuple[str, str, int]]:
    """(sha256, outcome, bytes) of each name, copied by ``jobs`` worker threads, at most two names
    per worker in flight. The workers are daemons: an interrupted run ends without waiting for the
    copies under way (what they leave is not verified, so the next run does it again)."""
    todo: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()

    def work() -> None:
        while (sha256 := todo.get()) is not None:
            try:
                done.put((sha256, *_migrate_one(source, target, sha256, verify_existing=verify_existing), None))
            except BaseException as exc:  # noqa: BLE001 — handed to the calling thread, which raises it
                done.put((sha256, "", 0, exc))
                return

    for _ in range(jobs):
        threading.Thread(target=work, name="photo-migrate", daemon=True).start()
    in_flight, exhausted = 0, False
    try:
        while True:
            while not exhausted and in_flight < 2 * jobs:
                sha256 = next(names, None)
                if sha256 is None:
                    exhausted = True
                else:
                    todo.put(sha256)
                    in_flight += 1
            if in_flight == 0:
                return
            while True:
                try:
                    sha256, outcome, size, exc = done.get(timeout=0.5)  # a timeout: Ctrl-C is seen here
                    break
                except queue.Empty:
                    continue
            in_flight -= 1
            if exc is not None:
                raise exc
            yield sha256, outcome, size
    finally:
        for _ in range(jobs):
            todo.put(None)


def _migrate_one(source: PhotoStore, target: PhotoStore, sha256: str, *, verify_existing: bool) -> tuple[str, int]:
    """("already" | "copied" | "replaced" | "damaged" | "failed", bytes copied) for one original."""
    state = _state_in(target, sha256, reread=verify_existing)
    if state == "verified":
        return "already", 0
    if state == "differs":
        target.delete(sha256)  # its bytes are not its name's: never leave them in place
    copy, size = _scratch_copy(source, target, sha256)
    if copy is None:
        return "damaged", 0
    try:
        target.put_file(sha256, copy)
    finally:
        copy.unlink(missing_ok=True)
    if _state_in(target, sha256, reread=False) != "verified":
        with contextlib.suppress(FileNotFoundError):
            target.delete(sha256)
        return "failed", 0
    return ("replaced" if state == "differs" else "copied"), size


def _state_in(target: PhotoStore, sha256: str, *, reread: bool) -> str:
    """"verified", "absent" or "differs": the object in the target against its name."""
    if not reread:
        try:
            recorded = _recorded_sha256(target, sha256)
        except FileNotFoundError:
            return "absent"
        if recorded is not None:
            return "verified" if recorded == sha256 else "differs"
    try:
        with target.open(sha256) as stored:
            digest, _size = copy_hashing(stored, _Discard(), _CHUNK)
    except FileNotFoundError:
        return "absent"
    return "verified" if digest == sha256 else "differs"


def _recorded_sha256(target: PhotoStore, sha256: str) -> str | None:
    """The SHA-256 the target recorded for the whole object when it was written and checked (the S3
    store's ``stored_sha256``: its server's ``ChecksumSHA256``, read by HEAD), or None when it keeps
    none (the local store; an object written in parts). FileNotFoundError when it is not there."""
    stored_sha256 = getattr(target, "stored_sha256", None)
    if stored_sha256 is not None:
        return stored_sha256(sha256)
    if not target.exists(sha256):
        raise FileNotFoundError(sha256)
    return None


def _scratch_copy(source: PhotoStore, target: PhotoStore, sha256: str) -> tuple[Path | None, int]:
    """The source's bytes streamed into a scratch file beside the target, hashed on the way;
    (None, 0) when they do not hash to their name (damaged on the source's disk)."""
    scratch = Path(target.uploads_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".migrate-", dir=scratch)
    tmp = Path(name)
    try:
        with source.open(sha256) as original, os.fdopen(fd, "wb") as out:
            digest, size = copy_hashing(original, out, _CHUNK)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if digest != sha256:
        tmp.unlink(missing_ok=True)
        return None, 0
    return tmp, size


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


# -- what the database references ----------------------------------------------------------------


def referenced_hashes() -> Iterator[Reference]:
    """Every stored file the database names, ascending by hash: received photos, screenshots,
    repayment receipts, visit photos and credit-bureau reports (rows whose bytes the retention purge
    deleted excluded)."""
    kind = lambda name: literal(name, String(20)).label("kind")  # noqa: E731
    refs = union_all(
        select(Photo.sha256.label("sha256"), kind("photo"), Photo.id.label("row_id"))
        .where(Photo.received_at.is_not(None), Photo.purged_at.is_(None)),
        select(Screenshot.sha256, kind("screenshot"), Screenshot.id).where(Screenshot.purged_at.is_(None)),
        select(Repayment.receipt_sha256, kind("receipt"), Repayment.id).where(Repayment.receipt_sha256 != ""),
        select(TaskPhoto.sha256, kind("visit_photo"), TaskPhoto.id),
        select(BureauQuery.report_sha256, kind("bureau_report"), BureauQuery.id).where(BureauQuery.report_sha256 != ""),
    ).subquery()
    rows = db.session.execute(select(refs.c.sha256, refs.c.kind, refs.c.row_id)
                              .order_by(refs.c.sha256, refs.c.kind, refs.c.row_id))
    for row in rows.yield_per(1000):
        yield Reference(row.sha256, row.kind, row.row_id)


def missing_references(target: PhotoStore) -> list[Reference]:
    """The database's references whose original is not in ``target``."""
    listed = iter(target.iter_objects())
    current = next(listed, None)
    suspects: list[Reference] = []
    for ref in referenced_hashes():
        while current is not None and current < ref.sha256:
            current = next(listed, None)
        if current != ref.sha256:
            suspects.append(ref)
    # Both walks are ascending by the stores' and the database's contract; a listing that is not
    # (another collation) could only make an object look missing, so each is looked up once more.
    present: dict[str, bool] = {}
    missing = []
    for ref in suspects:
        if ref.sha256 not in present:
            present[ref.sha256] = target.exists(ref.sha256)
        if not present[ref.sha256]:
            missing.append(ref)
    return missing


def _record(result: MigrationResult, describe: tuple[str, str], *, outcome: str, error: str = "") -> None:
    source, target = describe
    detail = {
        "source": source, "target": target, "outcome": outcome, "total": result.total,
        "copied": result.copied, "already": result.already, "replaced": result.replaced,
        "bytes": result.bytes_copied, "damaged_in_source": result.damaged_in_source[:50],
        "failed": result.failed[:50], "missing": len(result.missing),
        "missing_first": [f"{r.kind}:{r.row_id}:{r.sha256}" for r in result.missing[:50]],
    }
    if error:
        detail["error"] = error
    audit.record("photos.migrate", actor_id=None, object_type="photo_store", **detail)
    db.session.commit()
