"""Named locks that hold across processes and, with MariaDB, across app hosts.

Gunicorn workers are processes and a large deployment runs several hosts, so a lock that must keep
two requests apart (two chunks of one upload) cannot live in one process or on one host's disk.

- MariaDB/MySQL: ``GET_LOCK(name, timeout)`` on a connection of its own, released with
  ``RELEASE_LOCK``; if the process dies, the server drops the connection and with it the lock.
- SQLite: the database is one file on one host, so a file lock beside it is shared by every
  process that can reach the data (256 lock files by the name's hash, never deleted).

Raises ``LockBusy`` (a ServiceError, retryable) when the lock is not had within ``timeout``.
"""
from __future__ import annotations

import fcntl
import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.domain.i18n import N_
from app.extensions import db
from app.services.errors import ServiceError

DEFAULT_TIMEOUT_S = 30
_MAX_NAME = 64  # MariaDB's limit on a lock name


class LockBusy(ServiceError):
    """Someone else holds the lock: try again shortly."""


def lock_factory(prefix: str, timeout: float = DEFAULT_TIMEOUT_S):
    """A ``LockFactory`` for the photo store: ``lock_factory("upload")(key)`` locks "upload:<key>"."""
    def factory(key: str):
        return named_lock(f"{prefix}:{key}", timeout)
    return factory


@contextmanager
def named_lock(name: str, timeout: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with _file_lock(engine.url.database, name, timeout):
            yield
        return
    # The name is hashed when too long: MariaDB refuses names over 64 characters.
    if len(name) > _MAX_NAME:
        name = name[:40] + hashlib.sha256(name.encode()).hexdigest()[:24]
    with engine.connect() as conn:
        got = conn.execute(text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": timeout}).scalar()
        if got != 1:
            raise LockBusy("busy", N_("The server is busy with this item; it will be tried again."))
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                conn.rollback()
            except DBAPIError as lost:
                # The connection died under the work (a database restart, a KILL): the server let
                # the lock go with it. What the work did stands; its own error, if any, is the one.
                if not lost.connection_invalidated:
                    raise


@contextmanager
def _file_lock(database: str | None, name: str, timeout: float) -> Iterator[None]:
    if database and database != ":memory:":
        folder = Path(database).resolve().parent / ".locks"
    else:
        folder = Path(tempfile.gettempdir()) / "daidaitong-locks"
    folder.mkdir(parents=True, exist_ok=True)
    bucket = hashlib.sha256(name.encode()).hexdigest()[:2]
    deadline = time.monotonic() + timeout
    with open(folder / f"{bucket}.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy("busy", N_("The server is busy with this item; it will be tried again.")) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
