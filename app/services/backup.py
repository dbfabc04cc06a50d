"""Backup and restore of a whole installation: the database, the photo store and the published
Android apps, with a manifest.

``create(dest, store, …)`` writes into a new folder (layout: app/domain/backup_manifest.py):

1. an audit row ``backup.create`` (committed first, so the copy carries the trace of its making);
2. the database: SQLite through the online backup API (``sqlite3.Connection.backup``: a consistent
   copy while the app keeps writing), MariaDB/MySQL through ``mariadb-dump --single-transaction``
   (one consistent snapshot without locking the tables), the credentials in a temporary
   ``--defaults-extra-file`` of mode 0600, never on the command line;
3. every original of the photo store, through the store's own interface (``iter_objects``,
   ``open``), so an object store backend is backed up the same way. Photos are content-addressed
   and never change: taken after the database, every photo the copied rows name is there;
4. every published Android app (``ApkFiles``, ``<ANDROID_DIR>/<sha256>.apk``) the same way: a
   release row is written only after its file, so every release the copied rows name is there;
5. ``manifest.json`` last (created at, app version, Alembic revision, database kind, each file's
   size and SHA-256): a folder without it is an interrupted backup and is never restored.

``restore(src, store, apks)`` only into an empty installation (no row in any table, no photo, no
app file; a table the migrations seed, such as the default chart of accounts, counts as empty while
it holds exactly what a fresh ``flask db upgrade`` to the same revision writes, and is replaced by the
backup's rows like every table): it checks the manifest and the SHA-256 and size of every file before writing anything,
then loads the database (SQLite: the backup API from a verified copy; MariaDB: the ``mariadb``
client reading the dump into the emptied database), puts the photos into the store (``put_file``)
and the apps back through ``ApkFiles`` (a verified copy beside the final name, then ``keep``). A
backup made before the apps were included lists none and restores as before.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import DateTime, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, Engine

from app.domain import backup_manifest
from app.domain.backup_manifest import Entry, Manifest, ManifestError
from app.domain.i18n import N_
from app.extensions import db
from app.services import audit
from app.services.android_releases import ApkFiles
from app.services.errors import ServiceError
from app.storage import PhotoStore, copy_hashing, sha256_of_file

__all__ = ["BackupError", "create", "installation_emptiness", "read_manifest", "restore"]

_CHUNK = 1024 * 1024


class BackupError(ServiceError):
    """A backup or restore refused or failed; nothing of a refused restore was written."""


# -- backup ------------------------------------------------------------------------------------


def create(dest: Path, store: PhotoStore, apks: ApkFiles, *, now: datetime, app_version: str,
           actor_id: int | None = None) -> Manifest:
    """Write a backup of the database, the photo store and the published apps into ``dest`` (new or empty)."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError("backup_dir_not_empty",
                          N_("The backup folder %(dir)s is not empty: choose a new folder."), dir=str(dest))
    engine = db.engine
    kind = _kind(engine)
    audit.record("backup.create", actor_id=actor_id, object_type="backup", dir=str(dest.resolve()))
    db.session.commit()
    revision = _alembic_revision()
    db.session.remove()

    created = not dest.exists()
    # Borrowers' identities and photos: the folder is for the backup's owner alone.
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        database_file = dest / backup_manifest.DATABASE_FILES[kind]
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(engine.url), database_file)
        else:
            _mysql_dump(engine.url, database_file)
        entries = [Entry(database_file.name, database_file.stat().st_size, sha256_of_file(database_file))]

        for sha256 in store.iter_objects():
            with store.open(sha256) as source:
                entries.append(_copy_into(dest, backup_manifest.photo_path(sha256), source, sha256))
        for key in apks.iter_keys():
            sha256 = key.removesuffix(".apk")
            with apks.open(key) as source:
                entries.append(_copy_into(dest, backup_manifest.apk_path(sha256), source, sha256))

        manifest = backup_manifest.build(created_at=now, app_version=app_version, alembic_revision=revision,
                                         database_kind=kind, files=entries)
        tmp = dest / f".{backup_manifest.MANIFEST_NAME}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest / backup_manifest.MANIFEST_NAME)
    except BaseException:
        # A failed backup leaves no half copy behind: the folder it made goes; one that was there
        # (empty, as checked) is emptied of what this run wrote.
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for child in dest.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    return backup_manifest.parse(manifest)


# -- restore -----------------------------------------------------------------------------------


def read_manifest(src: Path) -> Manifest:
    path = Path(src) / backup_manifest.MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError("no_backup", N_("No backup in %(dir)s: manifest.json is missing or unreadable."),
                          dir=str(src)) from None
    try:
        return backup_manifest.parse(data)
    except ManifestError as e:
        raise BackupError("bad_manifest", N_("The backup's manifest is not valid: %(reason)s"),
                          reason=str(e)) from None


def installation_emptiness(store: PhotoStore, apks: ApkFiles) -> tuple[str, str] | None:
    """None when the installation is empty; else what is not: ("table", name), ("photos", "") or ("apks", "").

    A table holding exactly the rows the migrations seed (what a fresh ``flask db upgrade`` to this
    database's revision writes, app/services/backup.py ``_migration_seed``) counts as empty."""
    engine = db.engine
    names = sorted(inspect(engine).get_table_names())
    seed: dict[str, frozenset[tuple]] | None = None
    with engine.connect() as conn:
        for name in names:
            if name == "alembic_version":
                continue
            if conn.scalar(select(func.count()).select_from(table(name))):
                if seed is None:
                    revision = conn.scalar(text("SELECT version_num FROM alembic_version")) \
                        if "alembic_version" in names else None
                    seed = _migration_seed(revision) if revision else {}
                if name not in seed or _seed_rows(conn, name) != seed[name]:
                    return ("table", name)
    if next(iter(store.iter_objects()), None) is not None:
        return ("photos", "")
    if next(apks.iter_keys(), None) is not None:
        return ("apks", "")
    return None


def restore(src: Path, store: PhotoStore, apks: ApkFiles, *, known_revisions: frozenset[str] | None = None,
            actor_id: int | None = None) -> Manifest:
    """Load the backup in ``src`` into this (empty) installation; refuses before writing anything.

    ``known_revisions``: the migrations this version of the app has; a backup made by a newer
    version (a revision not among them) is refused, since this code could not run on its schema.
    """
    src = Path(src)
    manifest = read_manifest(src)
    if known_revisions is not None and manifest.alembic_revision not in known_revisions:
        raise BackupError("backup_newer", N_("This backup comes from a newer version of Daidaitong (database "
                                             "revision %(revision)s): install that version first, then restore."),
                          revision=manifest.alembic_revision or "-")
    engine = db.engine
    kind = _kind(engine)
    if manifest.database_kind != kind:
        raise BackupError("backup_kind", N_("This backup is of a %(kind)s database; this installation uses %(target)s."),
                          kind=manifest.database_kind, target=kind)
    db.session.remove()
    not_empty = installation_emptiness(store, apks)
    if not_empty and not_empty[0] == "table":
        raise BackupError("not_empty", N_("The database is not empty (table %(table)s has rows): a backup is "
                                          "restored only into an empty installation."), table=not_empty[1])
    if not_empty and not_empty[0] == "apks":
        raise BackupError("not_empty", N_("The folder of the published Android apps (%(dir)s) is not empty: a "
                                          "backup is restored only into an empty installation."),
                          dir=str(apks.root))
    if not_empty:
        raise BackupError("not_empty", N_("The photo store is not empty: a backup is restored only into an "
                                          "empty installation."))
    for entry in manifest.files:  # every file checked before anything is written
        _verify(src, entry)

    engine.dispose()
    database_file = src / manifest.database_file
    if kind == "sqlite":
        _sqlite_load(database_file, _sqlite_path(engine.url),
                     next(e for e in manifest.files if e.path == manifest.database_file))
    else:
        _mysql_load(engine, database_file)
    engine.dispose()

    for sha256, entry in manifest.photos:
        if store.exists(sha256):
            continue
        tmp = _copy_verified(src / entry.path, Path(store.uploads_dir), entry)
        store.put_file(sha256, tmp)
    for sha256, entry in manifest.apks:
        key = ApkFiles.key_for(sha256)
        if apks.exists(key):
            continue
        apks.keep(_copy_verified(src / entry.path, apks.root, entry), key)

    audit.record("backup.restore", actor_id=actor_id, object_type="backup", dir=str(src.resolve()),
                 created_at=manifest.created_at, alembic_revision=manifest.alembic_revision,
                 files=len(manifest.files))
    db.session.commit()
    return manifest


# -- helpers -----------------------------------------------------------------------------------

_SEEDS: dict[str, dict[str, frozenset[tuple]]] = {}


def _migration_seed(revision: str) -> dict[str, frozenset[tuple]]:
    """The rows the migrations seed, by table: a fresh ``flask db upgrade`` to ``revision`` into a
    scratch SQLite file (a subprocess: its own app, never this installation), every table that has
    rows afterwards. Compared by ``_seed_rows`` (no date-time column: those say when it ran)."""
    if revision not in _SEEDS:
        with tempfile.TemporaryDirectory(prefix="ddt-seed-") as scratch:
            url = f"sqlite:///{Path(scratch) / 'seed.sqlite3'}"
            env = {**os.environ, "DATABASE_URL": url, "INSTANCE_DIR": scratch, "PHOTO_STORE": "local",
                   "FLASK_APP": "app"}
            result = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade", revision], env=env,
                                    cwd=Path(__file__).resolve().parents[2], capture_output=True, check=False)
            if result.returncode != 0:
                raise BackupError("program_failed", N_("%(program)s failed: %(error)s"), program="flask db upgrade",
                                  error=result.stderr.decode("utf-8", "replace").strip()[-500:])
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    _SEEDS[revision] = {
                        name: _seed_rows(conn, name) for name in inspect(conn).get_table_names()
                        if name != "alembic_version" and conn.scalar(select(func.count()).select_from(table(name)))}
            finally:
                engine.dispose()
    return _SEEDS[revision]


def _seed_rows(conn, name: str) -> frozenset[tuple]:
    """A table's rows as comparable across SQLite and MariaDB: every column but the date-times, each
    value as text (a boolean as 0/1)."""
    columns = [c["name"] for c in inspect(conn).get_columns(name) if not isinstance(c["type"], DateTime)]
    quote = conn.dialect.identifier_preparer.quote
    rows = conn.exec_driver_sql(f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(name)}")
    return frozenset(tuple(None if v is None else str(int(v)) if isinstance(v, bool) else str(v) for v in row)
                     for row in rows)



def _kind(engine: Engine) -> str:
    name = engine.dialect.name
    if name == "sqlite":
        if not _sqlite_path(engine.url):
            raise BackupError("backup_unsupported", N_("Unsupported database for backup: %(kind)s"),
                              kind="sqlite (in memory)")
        return "sqlite"
    if name in ("mysql", "mariadb"):
        return "mysql"
    raise BackupError("backup_unsupported", N_("Unsupported database for backup: %(kind)s"), kind=name)


def _sqlite_path(url: URL) -> str:
    database = url.database or ""
    return "" if database in ("", ":memory:") or database.startswith("file::memory:") else database


def _alembic_revision() -> str:
    with contextlib.suppress(Exception):
        return db.session.scalar(text("SELECT version_num FROM alembic_version")) or ""
    db.session.rollback()
    return ""


def _copy_into(dest: Path, relative: str, source, sha256: str) -> Entry:
    """Copy one content-addressed file (a photo, an app) into the backup folder, hashing it on the
    way: its manifest entry. A file whose bytes are not its name's hash (damaged on this disk) stops
    the backup with its name, instead of a manifest no restore would accept."""
    target = dest / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        copied, size = copy_hashing(source, out, _CHUNK)
        out.flush()
        os.fsync(out.fileno())
    if copied != sha256:
        raise BackupError("store_damaged", N_("The stored file %(name)s does not match its SHA-256: it is damaged on "
                                              "this server's disk; no backup was written."), name=sha256)
    return Entry(relative, size, sha256)


def _verify(src: Path, entry: Entry) -> None:
    path = src / entry.path
    if not path.is_file():
        raise BackupError("backup_file_missing", N_("%(path)s is missing from the backup; nothing was restored."),
                          path=entry.path)
    if path.stat().st_size != entry.size or sha256_of_file(path) != entry.sha256:
        raise BackupError("backup_damaged", N_("%(path)s does not match the manifest (SHA-256 or size differs): "
                                               "the backup is damaged or was changed; nothing was restored."),
                          path=entry.path)


def _copy_verified(path: Path, into: Path, entry: Entry) -> Path:
    """A copy of ``path`` in ``into`` whose bytes were hashed as they were copied (what is loaded is
    what was checked, even if the backup folder changed after the first check)."""
    into.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".restore-", dir=into)
    tmp = Path(name)
    try:
        with path.open("rb") as f, os.fdopen(fd, "wb") as out:
            copied, size = copy_hashing(f, out, _CHUNK)
        if size != entry.size or copied != entry.sha256:
            raise BackupError("backup_damaged", N_("%(path)s does not match the manifest (SHA-256 or size differs): "
                                                   "the backup is damaged or was changed; nothing was restored."),
                              path=entry.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _read_only_uri(path: str | Path) -> str:
    # as_uri() escapes what a file name may hold ("?", "#", "%", spaces) that a bare URI would misread.
    return Path(path).resolve().as_uri() + "?mode=ro"


def _sqlite_copy(source: str, dest: Path) -> None:
    src = sqlite3.connect(_read_only_uri(source), uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def _sqlite_load(backup_file: Path, target: str, entry: Entry) -> None:
    copy = _copy_verified(backup_file, Path(target).resolve().parent, entry)
    try:
        _sqlite_copy(str(copy), Path(target))
    finally:
        copy.unlink(missing_ok=True)


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise BackupError("program_missing", N_("%(program)s was not found: install the MariaDB client "
                                            "(apt-get install mariadb-client)."), program=names[0])


def _option_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def _defaults_file(url: URL) -> Iterator[str]:
    """A client option file of mode 0600 with the connection's credentials, removed afterwards."""
    lines = ["[client]"]
    if url.username:
        lines.append(f"user={_option_value(url.username)}")
    if url.password is not None:
        lines.append(f"password={_option_value(str(url.password))}")
    if url.host:
        lines.append(f"host={_option_value(url.host)}")
    if url.port:
        lines.append(f"port={int(url.port)}")
    socket = url.query.get("unix_socket")
    if socket:
        lines.append(f"socket={_option_value(str(socket))}")
    fd, name = tempfile.mkstemp(prefix="ddt-client-", suffix=".cnf")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        yield name
    finally:
        os.unlink(name)


def _run(argv: list[str], *, stdin=None, stdout=None) -> None:
    result = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip()[-500:]
        raise BackupError("program_failed", N_("%(program)s failed: %(error)s"),
                          program=Path(argv[0]).name, error=error)


def _mysql_dump(url: URL, dest: Path) -> None:
    program = _program("mariadb-dump", "mysqldump")
    with _defaults_file(url) as options, dest.open("wb") as out:
        _run([program, f"--defaults-extra-file={options}", "--single-transaction", "--hex-blob",
              "--no-tablespaces", "--skip-dump-date", "--default-character-set=utf8mb4",
              "--", str(url.database)], stdout=out)


def _mysql_load(engine: Engine, dump: Path) -> None:
    program = _program("mariadb", "mysql")
    # The tables are all empty or hold only the migrations' seed (checked): drop them, so the database
    # becomes exactly the dump's.
    with engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for name in inspect(conn).get_table_names():
            conn.execute(text(f"DROP TABLE `{name}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    engine.dispose()
    with _defaults_file(engine.url) as options, dump.open("rb") as f:
        _run([program, f"--defaults-extra-file={options}", "--default-character-set=utf8mb4",
              "--", str(engine.url.database)], stdin=f)
