"""The manifest of a backup folder: what it holds, and the SHA-256 and size of every file in it.

A backup folder is::

    manifest.json             this manifest (written last: a folder without it is not a backup)
    database.sqlite3          SQLite: a copy made with the online backup API
    database.sql              MariaDB/MySQL: mariadb-dump --single-transaction
    photos/ab/<sha256>        every original of the photo store, named by its own hash
    android/<sha256>.apk      every published Android app (flask android publish), named by its hash

A backup made before the Android apps were included simply lists no ``android/`` file: it is read
(and restored) as before, with no app.

Pure: building the manifest from facts and reading one back, with every check that needs no disk.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

__all__ = [
    "DATABASE_FILES",
    "FORMAT",
    "MANIFEST_NAME",
    "Entry",
    "Manifest",
    "ManifestError",
    "apk_path",
    "build",
    "parse",
    "photo_path",
]

FORMAT = "daidaitong-backup/1"
MANIFEST_NAME = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "mysql": "database.sql"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PHOTO_PATH = re.compile(r"photos/([0-9a-f]{2})/([0-9a-f]{64})")
_APK_PATH = re.compile(r"android/([0-9a-f]{64})\.apk")


class ManifestError(ValueError):
    """The manifest is not one this version can read, or names a file it must not."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, POSIX separators
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    app_version: str
    alembic_revision: str
    database_kind: str  # "sqlite" or "mysql" (MariaDB speaks MySQL's dialect)
    database_file: str
    files: tuple[Entry, ...]

    @property
    def photos(self) -> tuple[tuple[str, Entry], ...]:
        """(photo's SHA-256, entry) for every photo, in the manifest's order."""
        return tuple((m.group(2), e) for e in self.files if (m := _PHOTO_PATH.fullmatch(e.path)))

    @property
    def apks(self) -> tuple[tuple[str, Entry], ...]:
        """(APK's SHA-256, entry) for every published Android app; empty in an older backup."""
        return tuple((m.group(1), e) for e in self.files if (m := _APK_PATH.fullmatch(e.path)))

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)


def photo_path(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ManifestError(f"not a lowercase hex SHA-256: {sha256!r}")
    return f"photos/{sha256[:2]}/{sha256}"


def apk_path(sha256: str) -> str:
    if not _SHA256.fullmatch(sha256):
        raise ManifestError(f"not a lowercase hex SHA-256: {sha256!r}")
    return f"android/{sha256}.apk"


def build(*, created_at: datetime, app_version: str, alembic_revision: str, database_kind: str,
          files: list[Entry]) -> dict:
    """The manifest as the JSON object written to manifest.json."""
    if database_kind not in DATABASE_FILES:
        raise ManifestError(f"unknown database kind {database_kind!r}")
    return {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "app_version": app_version,
        "alembic_revision": alembic_revision,
        "database": {"kind": database_kind, "file": DATABASE_FILES[database_kind]},
        "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in files],
    }


def parse(data: object) -> Manifest:
    """Read a manifest back; raises ManifestError on anything unexpected (nothing is guessed)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ManifestError("not a Daidaitong backup manifest of a known format")
    database = data.get("database")
    if not isinstance(database, dict) or database.get("kind") not in DATABASE_FILES:
        raise ManifestError("the manifest names no known database kind")
    kind = database["kind"]
    if database.get("file") != DATABASE_FILES[kind]:
        raise ManifestError("the manifest names an unexpected database file")
    raw_files = data.get("files")
    if not isinstance(raw_files, list):
        raise ManifestError("the manifest has no file list")
    files: list[Entry] = []
    seen: set[str] = set()
    for raw in raw_files:
        if not isinstance(raw, dict):
            raise ManifestError("a file entry is not an object")
        path, size, sha256 = raw.get("path"), raw.get("size"), raw.get("sha256")
        if not isinstance(path, str) or not _safe_path(path):
            raise ManifestError(f"unsafe or unexpected path in the manifest: {path!r}")
        if path != DATABASE_FILES[kind] and not _PHOTO_PATH.fullmatch(path) and not _APK_PATH.fullmatch(path):
            raise ManifestError(f"unexpected file in the manifest: {path!r}")
        if m := _PHOTO_PATH.fullmatch(path):
            if m.group(1) != m.group(2)[:2] or m.group(2) != sha256:
                raise ManifestError(f"a photo's name is not its SHA-256: {path!r}")
        if (m := _APK_PATH.fullmatch(path)) and m.group(1) != sha256:
            raise ManifestError(f"an app's name is not its SHA-256: {path!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"bad size for {path!r}")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ManifestError(f"bad SHA-256 for {path!r}")
        if path in seen:
            raise ManifestError(f"{path!r} is listed twice")
        seen.add(path)
        files.append(Entry(path, size, sha256))
    if DATABASE_FILES[kind] not in seen:
        raise ManifestError("the manifest lists no database file")
    for key in ("created_at", "app_version", "alembic_revision"):
        if not isinstance(data.get(key), str):
            raise ManifestError(f"the manifest has no {key}")
    return Manifest(
        created_at=data["created_at"], app_version=data["app_version"],
        alembic_revision=data["alembic_revision"], database_kind=kind,
        database_file=DATABASE_FILES[kind], files=tuple(files),
    )


def _safe_path(path: str) -> bool:
    pure = PurePosixPath(path)
    return (bool(path) and "\\" not in path and not pure.is_absolute()
            and all(part not in ("", ".", "..") for part in path.split("/")))
