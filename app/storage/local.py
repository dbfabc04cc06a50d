"""Photo store on the local file system.

Layout under ``root``::

    objects/ab/cd/<sha256>          originals, never modified once written
    derived/<kind>/ab/<sha256>.jpg  cached thumbnails and screen-size views
    uploads/                        partial uploads (same file system, so put_file is a rename)

Every write goes to a temporary file in the destination directory and is published with
``os.replace``: a reader sees the whole file or none, and two writers of the same hash cannot leave
a half-written object (both write identical bytes; the last rename wins).
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.storage import DERIVATIVES, LockFactory, StoreMisconfigured, check_sha256, render_derivative

__all__ = ["LocalPhotoStore"]

_SHA256_NAME = re.compile(r"[0-9a-f]{64}")


class LocalPhotoStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._derived = self.root / "derived"
        self._uploads = self.root / "uploads"
        for directory in (self._objects, self._derived, self._uploads):
            directory.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalPhotoStore({str(self.root)!r})"

    @property
    def uploads_dir(self) -> Path:
        return self._uploads

    def check(self) -> None:
        # Writable, and room to write: a full or read-only disk is an operator's matter.
        probe = self._temp_name(self._uploads / "check")
        try:
            probe.write_bytes(b"ok")
        except OSError as exc:
            raise StoreMisconfigured(f"photo folder {self.root} is not writable: {exc.strerror}") from exc
        finally:
            with contextlib.suppress(OSError):  # a folder that is not one fails unlink too: keep the message above
                probe.unlink()

    def upload_staging(self, lock: LockFactory | None = None):
        from app.storage.uploads import LocalUploads

        return LocalUploads(self, lock)

    # -- paths ---------------------------------------------------------------------------------

    def object_path(self, sha256: str) -> Path:
        sha256 = check_sha256(sha256)
        return self._objects / sha256[:2] / sha256[2:4] / sha256

    def derivative_path(self, sha256: str, kind: str) -> Path:
        sha256 = check_sha256(sha256)
        if kind not in DERIVATIVES:
            raise ValueError(f"unknown derivative kind {kind!r}; expected one of {sorted(DERIVATIVES)}")
        return self._derived / kind / sha256[:2] / f"{sha256}.jpg"

    # -- PhotoStore ----------------------------------------------------------------------------

    def put_file(self, sha256: str, src: Path) -> None:
        dest = self.object_path(sha256)
        src = Path(src)
        if dest.is_file():
            # Same hash, same bytes: the photo was uploaded before (a retry, or a second phone).
            src.unlink(missing_ok=True)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temp_name(dest)
        try:
            try:
                os.replace(src, tmp)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # src is on another file system: copy, then drop the source.
                shutil.copyfile(src, tmp)
                src.unlink()
            _fsync_file(tmp)  # the bytes reach the disk before the name does
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(dest.parent)

    def exists(self, sha256: str) -> bool:
        return self.object_path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.object_path(sha256).open("rb")

    def size(self, sha256: str) -> int:
        return self.object_path(sha256).stat().st_size

    def derivative(self, sha256: str, kind: str) -> bytes:
        cached = self.derivative_path(sha256, kind)
        with contextlib.suppress(FileNotFoundError):
            return cached.read_bytes()
        with self.open(sha256) as original:
            data = render_derivative(original, kind)
        cached.parent.mkdir(parents=True, exist_ok=True)
        # A cache: no fsync; a lost file is simply made again.
        tmp = self._temp_name(cached)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, cached)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return data

    def delete(self, sha256: str) -> None:
        # Derivatives first: a derivative without its original would outlive a failed delete.
        for kind in DERIVATIVES:
            self.derivative_path(sha256, kind).unlink(missing_ok=True)
        self.object_path(sha256).unlink(missing_ok=True)

    def iter_objects(self) -> Iterator[str]:
        for first in sorted(p.name for p in self._objects.iterdir() if p.is_dir()):
            for second in sorted(p.name for p in (self._objects / first).iterdir() if p.is_dir()):
                for entry in sorted((self._objects / first / second).iterdir()):
                    # Only published objects: temporary names start with a dot.
                    if entry.is_file() and _SHA256_NAME.fullmatch(entry.name):
                        yield entry.name

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _temp_name(dest: Path) -> Path:
        # Unique per writer, hidden, and in dest's directory so os.replace stays atomic.
        return dest.with_name(f".{dest.name}.{secrets.token_hex(8)}.tmp")


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    # Makes the new name durable on POSIX; directories cannot be opened this way on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
