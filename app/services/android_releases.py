"""The officer's Android app as the server publishes it: ``flask android publish`` checks and keeps
an APK, the phones read the newest release (``GET /api/v1/android/release``) and download it, and
the newest release's ``min_version_code`` is the oldest app that may still sync (the one version
rule, app/domain/versions.py ``outdated``).

A release is a row and a file, never one without the other: the APK is copied (and hashed on the
way) into a temporary file beside its final place, its manifest is read from that copy — what is
checked is what is kept — and only then does it get its name; if the row cannot be written the file
is removed again. The file lives behind ``ApkFiles`` alone, so another store (S3) replaces one class.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.domain import apk, versions
from app.domain.i18n import N_
from app.extensions import db
from app.models import AndroidRelease
from app.services import audit
from app.services.errors import ServiceError
from app.storage import copy_hashing
from app.storage.local import fsync_dir

__all__ = ["ApkFiles", "ReleaseError", "current", "files_from", "find", "list_releases", "minimum_app_code",
           "publish", "set_minimum"]

MAX_VERSION_NAME = 50
CHUNK = 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{64}\.apk")


class ReleaseError(ServiceError, ValueError):
    """A publication or minimum refused: an N_ message for the person at the command line."""

    def __init__(self, message: str, code: str = "release_refused", **params: object) -> None:
        super().__init__(code, message, **params)


class ApkFiles:
    """The published APKs on the local disk: ``<root>/<sha256>.apk``, written whole or not at all
    (a temporary name in the same folder, fsync, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ApkFiles({str(self.root)!r})"

    @staticmethod
    def key_for(sha256: str) -> str:
        return f"{sha256}.apk"

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # the key becomes a path: the traversal guard
            raise ValueError(f"not an APK key: {key!r}")
        return self.root / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def iter_keys(self) -> Iterator[str]:
        """The keys of the published files (not the temporary ones of a publication under way)."""
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            if _KEY.fullmatch(entry.name) and entry.is_file():
                yield entry.name

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def stage(self, source: BinaryIO) -> tuple[Path, str, int]:
        """Copy ``source`` to a temporary file beside the published ones: (its path, SHA-256, size).
        The caller publishes it with ``keep`` or removes it with ``discard``."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".upload-{secrets.token_hex(8)}.tmp"
        try:
            with tmp.open("xb") as out:
                sha256, size = copy_hashing(source, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, sha256, size

    def keep(self, staged: Path, key: str) -> bool:
        """Give the staged file its name ``key``; False when that file was already there (the
        staged copy is then dropped, and the one there must not be removed on a failure)."""
        dest = self.path(key)
        if dest.is_file():
            staged.unlink(missing_ok=True)
            return False
        os.replace(staged, dest)
        fsync_dir(self.root)
        return True

    @staticmethod
    def discard(staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def files_from(config: Mapping) -> ApkFiles:
    return ApkFiles(Path(config["ANDROID_DIR"]))


# --- reading ----------------------------------------------------------------------------------------

def current() -> AndroidRelease | None:
    """The newest release (the one phones install), or None."""
    return db.session.scalar(select(AndroidRelease).order_by(AndroidRelease.version_code.desc()).limit(1))


def minimum_app_code() -> int | None:
    """The oldest Android app that may still sync (the newest release's minimum); None when nothing
    is published. One indexed query; asked only for a request that carries the app's mark."""
    return db.session.scalar(
        select(AndroidRelease.min_version_code).order_by(AndroidRelease.version_code.desc()).limit(1))


def find(version_code: int) -> AndroidRelease | None:
    return db.session.scalar(select(AndroidRelease).where(AndroidRelease.version_code == version_code))


def list_releases() -> list[AndroidRelease]:
    return list(db.session.scalars(select(AndroidRelease).order_by(AndroidRelease.version_code.desc())))


# --- writing ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    release: AndroidRelease
    previous: int | None  # the version code it replaces as the current one


def publish(source: Path, *, files: ApkFiles, package: str, now: datetime, actor_id: int | None = None,
            via: str = "cli", min_version_code: int | None = None, version_name: str | None = None,
            ip: str = "") -> Published:
    """Check the APK at ``source`` (a zip, signed, with our package and a higher version code) and publish it as the newest release, audited. Raises ReleaseError
    with the reason; nothing is kept then (no file without its row, no row without its file).

    The minimum carries over from the previous release unless ``min_version_code`` is given."""
    try:
        handle = source.open("rb")
    except OSError as e:
        raise ReleaseError(N_("The file %(path)s cannot be read: %(reason)s."), path=str(source),
                           reason=e.strerror or str(e)) from None
    try:
        with handle:
            staged, sha256, size = files.stage(handle)
    except OSError as e:
        raise ReleaseError(N_("The app could not be stored in %(folder)s: %(reason)s."),
                           folder=str(files.root), reason=e.strerror or str(e)) from None
    created, key = False, files.key_for(sha256)
    try:
        manifest = _checked_manifest(staged, package)
        previous = current()
        latest = previous.version_code if previous else None
        if latest is not None and manifest.version_code <= latest:
            raise ReleaseError(N_("This app has version code %(version)s; the published one has %(latest)s. A "
                                  "new version needs a higher version code (android:versionCode)."),
                               version=manifest.version_code, latest=latest)
        name = _version_name(version_name, manifest)
        minimum = (previous.min_version_code if previous else 0) if min_version_code is None else min_version_code
        if minimum < 0 or minimum > manifest.version_code:
            raise ReleaseError(N_("The minimum version code must be between 0 and this app's version code "
                                  "%(version)s."), version=manifest.version_code)
        try:
            created = files.keep(staged, key)  # from here on, a failure removes it again (below)
        except OSError as e:
            raise ReleaseError(N_("The app could not be stored in %(folder)s: %(reason)s."),
                               folder=str(files.root), reason=e.strerror or str(e)) from None
        row = AndroidRelease(version_code=manifest.version_code, version_name=name, package=manifest.package,
                             size=size, sha256=sha256, file_key=key, min_version_code=minimum,
                             min_sdk=manifest.min_sdk, published_at=now, published_by_id=actor_id, published_via=via)
        db.session.add(row)
        db.session.flush()
        audit.record("android_release_published", actor_id=actor_id, object_type="android_release",
                     object_id=row.id, ip=ip, version_code=row.version_code, version_name=name, size=size,
                     sha256=sha256, min_version_code=minimum, via=via,
                     previous=latest)
        db.session.commit()
    except BaseException as e:
        db.session.rollback()
        files.discard(staged)
        if created:
            files.delete(key)
        if isinstance(e, IntegrityError):
            raise ReleaseError(N_("Another publication of this version (or of the same file) was saved at the "
                                  "same moment; nothing was changed. Run flask android list to see it.")) from None
        if isinstance(e, SQLAlchemyError):
            raise ReleaseError(N_("The database refused the new release; nothing was kept: %(reason)s."),
                               reason=str(getattr(e, "orig", e))[:200]) from None
        raise
    return Published(row, latest)


def _checked_manifest(staged: Path, package: str) -> apk.ApkManifest:
    try:
        with staged.open("rb") as f:
            manifest = apk.read_apk(f)
    except apk.ApkError as e:
        raise ReleaseError(e.message, code="not_an_apk") from None
    if manifest.package != package:
        raise ReleaseError(N_("This app is %(found)s, not ours (%(expected)s): it cannot be offered to the "
                              "officers' phones."), found=manifest.package, expected=package)
    if not manifest.v1_signed:
        raise ReleaseError(N_("This app is not signed (no signature under META-INF): the phones would refuse to "
                              "install it. Publish the APK that make android builds and signs."), code="not_signed")
    return manifest


def _version_name(given: str | None, manifest: apk.ApkManifest) -> str:
    name = " ".join((given if given is not None else manifest.version_name or "").split())
    if not name:
        raise ReleaseError(N_("The app's manifest has no version name as text; give one with --version-name."))
    if len(name) > MAX_VERSION_NAME:
        raise ReleaseError(N_("The version name may have at most %(max)s characters."), max=MAX_VERSION_NAME)
    return name


def set_minimum(code: int, *, actor_id: int | None = None, via: str = "cli", ip: str = "") -> AndroidRelease:
    """Make ``code`` the oldest app that may still sync (kept on the newest release, which the phones
    read), audited with the old and new value. Raises ReleaseError."""
    row = current()
    problem = versions.check_app_minimum(code, latest=row.version_code if row else None)
    if problem is not None:
        message, params = problem
        raise ReleaseError(message, **params)
    before = row.min_version_code
    row.min_version_code = code
    audit.record("android_minimum_set", actor_id=actor_id, object_type="android_release", object_id=row.id, ip=ip,
                 before=before, after=code, version_code=row.version_code, via=via)
    db.session.commit()
    return row

