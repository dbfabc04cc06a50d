"""The backup manifest reads back what it wrote, and refuses anything it must not trust."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import backup_manifest as bm

SHA = "ab" + "0" * 62


def _manifest(files):
    return bm.build(created_at=datetime(2026, 11, 30, tzinfo=timezone.utc), app_version="0.3.0",
                    alembic_revision="0015", database_kind="sqlite", files=files)


def test_round_trip():
    files = [bm.Entry("database.sqlite3", 10, "1" * 64), bm.Entry(bm.photo_path(SHA), 5, SHA)]
    manifest = bm.parse(_manifest(files))
    assert manifest.files == tuple(files)
    assert manifest.photos == ((SHA, files[1]),)
    assert manifest.apks == ()
    assert manifest.total_bytes == 15


def test_the_published_apps_are_listed_by_their_hash():
    files = [bm.Entry("database.sqlite3", 10, "1" * 64), bm.Entry(bm.photo_path(SHA), 5, SHA),
             bm.Entry(bm.apk_path("c" * 64), 7, "c" * 64)]
    manifest = bm.parse(_manifest(files))
    assert bm.apk_path("c" * 64) == "android/" + "c" * 64 + ".apk"
    assert manifest.apks == (("c" * 64, files[2]),)
    assert manifest.photos == ((SHA, files[1]),)


def test_a_manifest_written_before_the_apps_were_included_reads_back():
    """Literally what the previous version wrote: no android/ entry, the same format string."""
    old = {"format": "daidaitong-backup/1", "created_at": "2026-11-30T02:30:00+00:00", "app_version": "0.3.0",
           "alembic_revision": "0019", "database": {"kind": "mysql", "file": "database.sql"},
           "files": [{"path": "database.sql", "size": 10, "sha256": "1" * 64},
                     {"path": "photos/ab/" + SHA, "size": 5, "sha256": SHA}]}
    manifest = bm.parse(old)
    assert manifest.apks == () and len(manifest.photos) == 1 and manifest.alembic_revision == "0019"


@pytest.mark.parametrize("path", ["../database.sqlite3", "/etc/passwd", "photos/ab/../../x", "photos\\ab",
                                  "photos/cd/" + SHA, "photos/ab/" + "1" * 64, "other.txt", "",
                                  "android/" + "1" * 64 + ".apk", "android/" + SHA, "android/" + SHA + ".APK",
                                  "android/../" + SHA + ".apk", "android/x/" + SHA + ".apk"])
def test_unsafe_or_unexpected_paths_are_refused(path):
    files = [bm.Entry("database.sqlite3", 10, "1" * 64), bm.Entry(path, 5, SHA)]
    with pytest.raises(bm.ManifestError):
        bm.parse(_manifest(files))


def test_a_manifest_without_its_database_file_or_with_a_duplicate_is_refused():
    with pytest.raises(bm.ManifestError):
        bm.parse(_manifest([bm.Entry(bm.photo_path(SHA), 5, SHA)]))
    entry = bm.Entry("database.sqlite3", 10, "1" * 64)
    with pytest.raises(bm.ManifestError):
        bm.parse(_manifest([entry, entry]))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a shared, busy CI machine
@given(st.recursive(st.none() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)))
def test_any_json_is_read_or_refused_with_manifest_error(data):
    try:
        bm.parse(data)
    except bm.ManifestError:
        pass


_sha = st.text("0123456789abcdef", min_size=64, max_size=64)


@settings(deadline=None)
@given(st.lists(st.tuples(_sha, st.integers(0, 2**40)), max_size=20, unique_by=lambda t: t[0]),
       _sha, st.integers(0, 2**40),
       st.lists(st.tuples(_sha, st.integers(0, 2**40)), max_size=5, unique_by=lambda t: t[0]))
def test_every_built_manifest_reads_back_the_same(photos, db_sha, db_size, apks):
    files = ([bm.Entry("database.sqlite3", db_size, db_sha)] + [bm.Entry(bm.photo_path(h), n, h) for h, n in photos]
             + [bm.Entry(bm.apk_path(h), n, h) for h, n in apks])
    manifest = bm.parse(_manifest(files))
    assert manifest.files == tuple(files)
    assert [h for h, _ in manifest.photos] == [h for h, _ in photos]
    assert [h for h, _ in manifest.apks] == [h for h, _ in apks]
