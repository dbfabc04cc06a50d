"""`flask android publish | list | set-minimum` (issue 15, self-update) on the real test database and
disk: a good APK is kept with its row and audited; every refusal says why in Chinese, exits non-zero
and keeps nothing — no file without its row, no row without its file."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import AndroidRelease, AuditLog
from app.services import android_releases
from tests.support import axml

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "android"
OFFICER = "com.daidaitong.officer"


def publish(app, path, *extra):
    return app.test_cli_runner().invoke(args=["android", "publish", str(path), *extra])


def _rows(app) -> list[tuple]:
    with app.app_context():
        return [(r.version_code, r.version_name, r.min_version_code, r.size, r.sha256, r.file_key)
                for r in db.session.scalars(select(AndroidRelease).order_by(AndroidRelease.version_code))]


def _files(app) -> list[str]:
    folder = Path(app.config["ANDROID_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _audits(app, action: str) -> list[dict]:
    with app.app_context():
        return [a.detail for a in db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))]


def test_a_good_apk_is_kept_with_its_row_hash_and_size_and_audited(app):
    apk = VECTORS / "officer-2.apk"
    data = apk.read_bytes()
    result = publish(app, apk, "--min-version-code", "1")
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(data).hexdigest()
    assert "已发布" in result.output and digest in result.output
    assert _rows(app) == [(2, "0.2.0", 1, len(data), digest, f"{digest}.apk")]
    assert _files(app) == [f"{digest}.apk"]
    assert (Path(app.config["ANDROID_DIR"]) / f"{digest}.apk").read_bytes() == data
    [audit] = _audits(app, "android_release_published")
    assert (audit["version_code"], audit["sha256"], audit["size"], audit["min_version_code"], audit["via"]) == (
        2, digest, len(data), 1, "cli")
    with app.app_context():
        release = android_releases.current()
        assert (release.package, release.min_sdk, release.published_via, release.published_by_id) == (OFFICER, 23, "cli", None)


def test_a_newer_version_becomes_current_and_keeps_the_minimum_unless_told(app):
    assert publish(app, VECTORS / "officer-1.apk").exit_code == 0
    assert publish(app, VECTORS / "officer-2.apk", "--min-version-code", "1").exit_code == 0
    result = publish(app, VECTORS / "officer-3.apk", "--version-name", "  0.3.0  正式版 ")
    assert result.exit_code == 0, result.output
    assert [(code, name, minimum) for code, name, minimum, *_ in _rows(app)] == [
        (1, "0.1.0", 0), (2, "0.2.0", 1), (3, "0.3.0 正式版", 1)]
    assert len(_files(app)) == 3
    with app.app_context():
        assert android_releases.current().version_code == 3
        assert android_releases.minimum_app_code() == 1
    listing = app.test_cli_runner().invoke(args=["android", "list"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]  # newest first


def _refused(app, path, *extra) -> str:
    result = publish(app, path, *extra)
    assert result.exit_code == 1, result.output
    return result.output


def test_refusals_say_why_in_chinese_and_keep_nothing(app, tmp_path):
    text = tmp_path / "notes.apk"
    text.write_text("这不是安装包", encoding="utf-8")
    assert "不是 zip 压缩包" in _refused(app, text)
    assert "AndroidManifest" in _refused(app, _write(tmp_path / "empty.apk", axml.apk(b"", extra={"a": b"b"})))
    assert "com.example.other" in _refused(app, VECTORS / "other-package.apk")
    assert "未签名" in _refused(app, VECTORS / "officer-4-unsigned.apk")
    assert "无法读取" in _refused(app, tmp_path / "missing.apk")
    assert _rows(app) == [] and _files(app) == [] and _audits(app, "android_release_published") == []


def test_the_same_or_a_lower_version_is_refused(app):
    assert publish(app, VECTORS / "officer-2.apk").exit_code == 0
    before_rows, before_files = _rows(app), _files(app)
    for apk in ("officer-2.apk", "officer-1.apk"):
        out = _refused(app, VECTORS / apk)
        assert "2" in out and "versionCode" in out
    assert _rows(app) == before_rows and _files(app) == before_files
    assert len(_audits(app, "android_release_published")) == 1


def test_a_minimum_above_the_new_version_is_refused(app):
    assert "3" in _refused(app, VECTORS / "officer-3.apk", "--min-version-code", "4")
    assert _rows(app) == [] and _files(app) == []


def test_a_manifest_without_a_text_version_name_needs_one_given(app, tmp_path):
    apk = _write(tmp_path / "noname.apk", axml.apk(axml.manifest(OFFICER, 5, None), signed=True))
    assert "--version-name" in _refused(app, apk)
    assert publish(app, apk, "--version-name", "0.5.0").exit_code == 0
    assert [r[:2] for r in _rows(app)] == [(5, "0.5.0")]


def test_a_row_that_cannot_be_written_leaves_no_file(app):
    """The database refuses the row (another release already claims this file's hash): the file that
    was just put in place is removed again, and no audit row stays."""
    apk = VECTORS / "officer-3.apk"
    digest = hashlib.sha256(apk.read_bytes()).hexdigest()
    with app.app_context():
        db.session.add(AndroidRelease(version_code=1, version_name="x", package=OFFICER, size=1, sha256=digest,
                                      file_key=f"{digest}.apk", min_version_code=0))
        db.session.commit()
    out = _refused(app, apk)
    assert "同时已有另一次发布" in out
    assert [r[0] for r in _rows(app)] == [1]
    assert _files(app) == []  # neither the published name nor a temporary one
    assert _audits(app, "android_release_published") == []


def test_a_file_that_cannot_be_written_leaves_no_row(app, tmp_path):
    """The store's folder cannot be made (a file stands where it should be): no row, no audit."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.config["ANDROID_DIR"] = blocker / "android"
    out = _refused(app, VECTORS / "officer-1.apk")
    assert str(blocker) in out
    assert _rows(app) == [] and _audits(app, "android_release_published") == []


def test_a_staged_copy_is_removed_when_the_apk_is_refused(app, tmp_path):
    _refused(app, VECTORS / "other-package.apk")
    folder = Path(app.config["ANDROID_DIR"])
    assert folder.is_dir() and list(folder.iterdir()) == []  # no .upload-*.tmp left behind


def test_set_minimum_is_checked_and_audited(app):
    result = app.test_cli_runner().invoke(args=["android", "set-minimum", "1"])
    assert result.exit_code == 1 and "flask android publish" in result.output  # nothing published yet
    assert publish(app, VECTORS / "officer-2.apk").exit_code == 0
    result = app.test_cli_runner().invoke(args=["android", "set-minimum", "3"])
    assert result.exit_code == 1 and "2" in result.output  # above the latest: no phone could update
    result = app.test_cli_runner().invoke(args=["android", "set-minimum", "2"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert android_releases.minimum_app_code() == 2
    [audit] = _audits(app, "android_minimum_set")
    assert (audit["before"], audit["after"], audit["version_code"]) == (0, 2, 2)
    # The next release carries the minimum on.
    assert publish(app, VECTORS / "officer-3.apk").exit_code == 0
    with app.app_context():
        assert android_releases.minimum_app_code() == 2
        assert db.session.scalar(select(func.count()).select_from(AndroidRelease)) == 2


def test_the_file_key_is_never_a_path(app):
    files = android_releases.files_from(app.config)
    for key in ("../secret_key", "a.apk", "/etc/passwd", "0" * 64 + ".apk/../x"):
        try:
            files.path(key)
        except ValueError:
            continue
        raise AssertionError(key)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
