"""Resumable uploads on disk (the mechanics of tus 1.0.0 core): the part file, the lock, the offset,
durable appends, the checksum, and the proof note — beside the photo store they end in.

An upload is named by a key (the photo's UUID) and lives in ``store.uploads_dir``:

- ``<key>.part``: the bytes received so far; its size is the offset a client resumes from. Every
  append is flushed and fsynced before it is acknowledged.
- ``<key>.proven``: written durably (holding the SHA-256) once the finished part was verified, just
  before it is moved into the store, and removed once the caller has recorded it: after a crash in
  between it tells "this upload's own verified bytes" apart from an object someone else stored.
- ``locks/<2 hex>.lock``: gunicorn workers are processes, so a file lock keeps two requests of one
  upload from interleaving bytes; a fixed set of 256 files (by key prefix), never deleted, so never
  raced on and never piling up one per upload.

Plain Python (no Flask, no database): which upload belongs to whom, and what a finished one means,
is the caller's business (``app/services/sync.py``).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from app.storage import PhotoStore, sha256_of_file

COPY_BUFFER = 64 * 1024


class UploadTooLong(Exception):
    """More bytes arrived than the upload announced; what this request appended is undone."""


class Uploads:
    """The resumable uploads staged for ``store``."""

    def __init__(self, store: PhotoStore) -> None:
        self.store = store
        self.dir = store.uploads_dir

    def part(self, key: str) -> Path:
        return self.dir / f"{key}.part"

    def proof(self, key: str) -> Path:
        return self.dir / f"{key}.proven"

    def offset(self, key: str) -> int:
        """How many bytes of the upload are here (0 before the first)."""
        part = self.part(key)
        return part.stat().st_size if part.exists() else 0

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
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
            while True:
                block = body.read(min(COPY_BUFFER, room - written + 1))
                if not block:
                    break
                written += len(block)
                if written > room:
                    out.truncate(start)
                    raise UploadTooLong(key)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        return written

    def complete(self, key: str, size: int) -> bool:
        """Whether all ``size`` bytes are in the part (received, not yet verified)."""
        part = self.part(key)
        return part.exists() and part.stat().st_size == size

    def checksum(self, key: str) -> str:
        """SHA-256 of the part's bytes."""
        return sha256_of_file(self.part(key))

    def discard(self, key: str) -> None:
        """Forget the part (damaged or refused: the client sends it again from 0)."""
        self.part(key).unlink(missing_ok=True)

    def store_verified(self, key: str, sha256: str) -> None:
        """Leave the durable proof note, then move the verified part into the store."""
        self._write_durably(self.proof(key), sha256)
        self.store.put_file(sha256, self.part(key))

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
