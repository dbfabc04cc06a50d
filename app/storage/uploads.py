"""Resumable uploads (the mechanics of tus 1.0.0 core): the lock, the offset, durable appends, the
received bytes, and the proof note — staged by the photo store they end in.

``UploadStaging`` is what the sync service uses; each store gives its own through
``store.upload_staging(lock)``: ``LocalUploads`` here (on the app host's disk, the embedded
default) and the object store's in app/storage/s3.py, where every app host sees the same uploads.
The lock is the caller's (``LockFactory``): app/services/locks.py holds it across hosts.

On disk, an upload is named by a key (the photo's UUID) and lives in ``store.uploads_dir``:

- ``<key>.part``: the bytes received so far; its size is the offset a client resumes from. Every
  append is flushed and fsynced before it is acknowledged.
- ``<key>.proven``: written durably (holding the SHA-256) once the finished part was verified, just
  before it is moved into the store, and removed once the caller has recorded it: after a crash in
  between it tells "this upload's own verified bytes" apart from an object someone else stored.
- ``locks/<2 hex>.lock`` (when no lock is given): gunicorn workers are processes, so a file lock
  keeps two requests of one upload from interleaving bytes; a fixed set of 256 files (by key
  prefix), never deleted, so never raced on and never piling up one per upload.

Plain Python (no Flask, no database): which upload belongs to whom, and what a finished one means,
is the caller's business (``app/services/sync.py``).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from app.storage import LockFactory, PhotoStore

COPY_BUFFER = 64 * 1024


class UploadTooLong(Exception):
    """More bytes arrived than the upload announced; what this request appended is undone."""



def bounded_blocks(body: BinaryIO, room: int, key: str) -> Iterator[bytes]:
    """The blocks of a request body; raises UploadTooLong as soon as more than ``room`` bytes came
    (one byte past ``room`` is asked for, so a body exactly ``room`` long is told from a longer one)."""
    read = 0
    while block := body.read(min(COPY_BUFFER, room - read + 1)):
        read += len(block)
        if read > room:
            raise UploadTooLong(key)
        yield block

class UploadStaging(Protocol):
    """Half-finished uploads of one store. Call everything but ``offset`` under ``lock(key)``."""

    store: PhotoStore

    def lock(self, key: str) -> AbstractContextManager[None]: ...

    def offset(self, key: str) -> int:
        """How many bytes of the upload are staged (0 before the first)."""
        ...

    def append(self, key: str, body: BinaryIO, *, room: int) -> int:
        """Append ``body`` (at most ``room`` bytes) durably; the number of bytes written. Raises
        UploadTooLong, with the upload as it was before, if the body holds more."""
        ...

    def complete(self, key: str, size: int) -> bool:
        """Whether all ``size`` bytes are staged (received, not yet verified)."""
        ...

    def received_copy(self, key: str) -> AbstractContextManager[Path]:
        """A local file holding the staged bytes, to hash and check with Pillow; removed on exit
        unless ``store_verified`` consumed it."""
        ...

    def discard(self, key: str) -> None:
        """Forget the staged bytes (damaged or refused: the client sends them again from 0)."""
        ...

    def store_verified(self, key: str, sha256: str, copy: Path) -> None:
        """Leave the durable proof note, put the verified ``copy`` into the store, drop the staged
        bytes."""
        ...

    def proven(self, key: str, sha256: str) -> bool:
        """Whether this upload's own verified bytes went into the store (a crash before recording)."""
        ...

    def has_proof(self, key: str) -> bool: ...

    def clear_proof(self, key: str) -> None: ...


class LocalUploads:
    """The resumable uploads staged on this host's disk for ``store``."""

    def __init__(self, store: PhotoStore, lock: LockFactory | None = None) -> None:
        self.store = store
        self.dir = store.uploads_dir
        self._lock = lock

    def part(self, key: str) -> Path:
        return self.dir / f"{key}.part"

    def proof(self, key: str) -> Path:
        return self.dir / f"{key}.proven"

    def offset(self, key: str) -> int:
        """How many bytes of the upload are here (0 before the first)."""
        part = self.part(key)
        return part.stat().st_size if part.exists() else 0

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._lock(key) if self._lock is not None else self._file_lock(key)

    @contextmanager
    def _file_lock(self, key: str) -> Iterator[None]:
        locks = self.dir / "locks"
        locks.mkdir(exist_ok=True)
        with open(locks / f"{key[:2]}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, key: str, body: BinaryIO, *, room: int) -> int:
        """Append ``body`` (at most ``room`` bytes) durably; the number of bytes written.

        Raises UploadTooLong, with the part as it was before, if the body holds more. Call under
        ``lock(key)``."""
        part = self.part(key)
        start = self.offset(key)
        written = 0
        with open(part, "ab") as out:
            try:
                for block in bounded_blocks(body, room, key):
                    out.write(block)
                    written += len(block)
            except UploadTooLong:
                out.truncate(start)
                raise
            out.flush()
            os.fsync(out.fileno())
        return written

    def complete(self, key: str, size: int) -> bool:
        """Whether all ``size`` bytes are in the part (received, not yet verified)."""
        part = self.part(key)
        return part.exists() and part.stat().st_size == size

    @contextmanager
    def received_copy(self, key: str) -> Iterator[Path]:
        # On disk the part itself is the copy: store_verified moves it into the store.
        yield self.part(key)

    def discard(self, key: str) -> None:
        """Forget the part (damaged or refused: the client sends it again from 0)."""
        self.part(key).unlink(missing_ok=True)

    def store_verified(self, key: str, sha256: str, copy: Path) -> None:
        """Leave the durable proof note, then move the verified part into the store."""
        self._write_durably(self.proof(key), sha256)
        self.store.put_file(sha256, copy)

    def proven(self, key: str, sha256: str) -> bool:
        """Whether this upload's own verified bytes went into the store (a crash before recording)."""
        proof = self.proof(key)
        return (not self.part(key).exists() and proof.exists() and proof.read_text() == sha256
                and self.store.exists(sha256))

    def has_proof(self, key: str) -> bool:
        return self.proof(key).exists()

    def clear_proof(self, key: str) -> None:
        self.proof(key).unlink(missing_ok=True)

    @staticmethod
    def _write_durably(path: Path, text: str) -> None:
        with open(path, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
