"""Resumable uploads staged in the object store, so that an upload begun on one app host resumes on
any other: the ``UploadStaging`` of ``S3PhotoStore`` (the local one is app/storage/uploads.py).

An upload is named by a key (the photo's UUID); under the store's prefix:

- ``uploads/<key>/<offset:012d>``: one object per appended request body, PUT (with its SHA-256,
  checked by the server) only once the whole body arrived and fitted in ``room`` — an object
  store has no append, and a half-received body is never seen by anyone. The offset a client
  resumes from is the end of the contiguous run of chunks from 0, so a chunk left by a crash
  that does not continue the run is ignored (and dropped with the rest).
- ``uploads/<key>.proven``: the proof note (holding the SHA-256), written before the verified
  copy is put into the store and removed once the caller has recorded it.

The lock is required and is the caller's: app/services/locks.py's GET_LOCK holds across hosts;
a file lock on one host would not.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from app.storage import LockFactory
from app.storage.s3 import S3PhotoStore, _b64_sha256
from app.storage.uploads import bounded_blocks

SPOOL_BYTES = 1024 * 1024


class ObjectUploads:
    """The resumable uploads of ``store``, staged in its bucket."""

    def __init__(self, store: S3PhotoStore, lock: LockFactory | None) -> None:
        if lock is None:
            raise ValueError("uploads staged in an object store need a lock that holds across hosts "
                             "(app/services/locks.py lock_factory)")
        self.store = store
        self._lock = lock
        # While this instance holds an upload's lock nobody else changes its chunks: the listing
        # (then changed by appends and discards here) is remembered, saving a LIST per step.
        self._listed: dict[str, dict[str, int]] = {}
        self._held: set[str] = set()

    def _dir(self, key: str) -> str:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad upload key {key!r}")
        return f"{self.store.prefix}uploads/{key}/"

    def _proof_key(self, key: str) -> str:
        return f"{self.store.prefix}uploads/{key}.proven"

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        with self._lock(key):
            self._held.add(key)
            try:
                yield
            finally:
                self._held.discard(key)
                self._listed.pop(key, None)

    def _listing(self, key: str) -> dict[str, int]:
        """Every chunk object of the upload: key → size."""
        listed = self._listed.get(key)
        if listed is None:
            listed = dict(self.store.list_keys(self._dir(key), "list an upload's chunks"))
            if key in self._held:
                self._listed[key] = listed
        return dict(listed)

    def _chunks(self, key: str) -> tuple[list[tuple[str, int]], list[str]]:
        """(the contiguous chunks from offset 0 as (object key, size), every chunk's key)."""
        listing = self._listing(key)
        run: list[tuple[str, int]] = []
        expected = 0
        for name in sorted(listing):
            tail = name.rsplit("/", 1)[-1]
            if tail.isdigit() and int(tail) == expected and listing[name] > 0:
                run.append((name, listing[name]))
                expected += listing[name]
        return run, sorted(listing)

    def offset(self, key: str) -> int:
        return sum(size for _, size in self._chunks(key)[0])

    def append(self, key: str, body: BinaryIO, *, room: int) -> int:
        start = self.offset(key)
        digest = hashlib.sha256()
        written = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=self.store.uploads_dir) as held:
            # UploadTooLong leaves before anything is put: the upload is as it was.
            for block in bounded_blocks(body, room, key):
                written += len(block)
                digest.update(block)
                held.write(block)
            if written == 0:
                return 0
            held.seek(0)
            chunk_key = f"{self._dir(key)}{start:012d}"
            listed = self._listed.pop(key, None)  # unknown until the PUT is answered (it may land and time out)
            with self.store.errors("stage an upload's chunk"):
                self.store.client.put_object(
                    Bucket=self.store.bucket, Key=chunk_key, Body=held,
                    ContentLength=written, ChecksumSHA256=_b64_sha256(digest.hexdigest()))
        if listed is not None and key in self._held:
            self._listed[key] = {**listed, chunk_key: written}
        return written

    def complete(self, key: str, size: int) -> bool:
        run, _ = self._chunks(key)
        return bool(run) and sum(s for _, s in run) == size

    @contextmanager
    def received_copy(self, key: str) -> Iterator[Path]:
        run, _ = self._chunks(key)
        fd, name = tempfile.mkstemp(suffix=".upload", dir=self.store.uploads_dir)
        copy = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk_key, _ in run:
                    self.store.copy_key_into(chunk_key, out, "read an upload's chunk")
            yield copy
        finally:
            copy.unlink(missing_ok=True)

    def discard(self, key: str) -> None:
        _, every = self._chunks(key)
        # One batch request, named last first; whatever a delete cut short leaves is either a run
        # from 0 of this same upload's bytes or a stray chunk the offset ignores (checked at the end).
        self._listed.pop(key, None)
        self.store.delete_keys(sorted(every, reverse=True), "discard an upload")
        if key in self._held:
            self._listed[key] = {}

    def store_verified(self, key: str, sha256: str, copy: Path) -> None:
        self.store.put_bytes(self._proof_key(key), sha256.encode("ascii"), "note a verified upload")
        self.store.put_file(sha256, copy)
        self.discard(key)

    def _proof(self, key: str) -> str | None:
        try:
            with self.store.open_key(self._proof_key(key), "read an upload's note") as f:
                return f.read().decode("ascii", "replace")
        except FileNotFoundError:
            return None

    def proven(self, key: str, sha256: str) -> bool:
        return (not self._chunks(key)[1] and self._proof(key) == sha256 and self.store.exists(sha256))

    def has_proof(self, key: str) -> bool:
        try:
            with self.store.errors("look up an upload's note"):
                self.store.client.head_object(Bucket=self.store.bucket, Key=self._proof_key(key))
        except FileNotFoundError:
            return False
        return True

    def clear_proof(self, key: str) -> None:
        with self.store.errors("remove an upload's note"):
            self.store.client.delete_object(Bucket=self.store.bucket, Key=self._proof_key(key))
