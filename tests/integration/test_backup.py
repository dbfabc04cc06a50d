"""flask backup / flask restore on the real database (SQLite or MariaDB, as the suite runs) with
the demo data set and its real photos: the restored installation holds every row of every table and
every photo byte for byte, and serves the published Android app byte for byte; a changed file or a
non-empty target refuses the restore, writing nothing; a backup made before the apps were included
still restores.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app import config
from app.extensions import db, photo_store
from app.services import android_releases, backup
from tests.conftest import fresh_mariadb_database
from tests.support.stores import damage_stored

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "android"


def _target_url(source_url: str, tmp_path: Path) -> str:
    """A second, empty database: a new SQLite file, or a second database on the same MariaDB server."""
    url = make_url(source_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return fresh_mariadb_database(source_url, f"{url.database}_restore")


@pytest.fixture()
def target(app, tmp_path):
    """A fresh installation: an empty database (no tables at all) and an empty photo folder."""
    url = _target_url(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    # Its own photo folder and its own Android folder (beside the photos: restored/android).
    restored = create_app(config.TestConfig(url, tmp_path / "restored" / "photos"))
    assert restored.config["ANDROID_DIR"] != app.config["ANDROID_DIR"]
    yield restored
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        server = create_engine(parsed.set(database="mysql"))
        with server.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        server.dispose()


def _rows(app) -> dict[str, list[tuple]]:
    """Every row of every table, as the driver returns it, in a stable order."""
    with app.app_context(), db.engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        quote = conn.dialect.identifier_preparer.quote
        return {name: sorted((tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {quote(name)}")), key=repr)
                for name in names}


def _photos(app) -> dict[str, bytes]:
    with app.app_context():
        store = photo_store()
        result = {}
        for sha256 in store.iter_objects():
            with store.open(sha256) as f:
                result[sha256] = f.read()
        return result


def _apk_files(app) -> dict[str, bytes]:
    folder = Path(app.config["ANDROID_DIR"])
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _publish(app, name: str = "officer-2.apk") -> bytes:
    result = app.test_cli_runner().invoke(args=["android", "publish", str(VECTORS / name)])
    assert result.exit_code == 0, result.output
    return (VECTORS / name).read_bytes()


def _served_app(app) -> tuple[dict, bytes]:
    """What a phone sees: the release JSON, and the bytes of the download it names."""
    client = app.test_client()
    release = client.get("/api/v1/android/release")
    assert release.status_code == 200, release.get_data(as_text=True)
    body = release.get_json()
    download = client.get(body["url"].removeprefix("http://localhost"))
    assert download.status_code == 200, f"{body['url']} answers {download.status_code}"
    return body, download.data


def _backup(app, directory: Path) -> None:
    result = app.test_cli_runner().invoke(args=["backup", str(directory)])
    assert result.exit_code == 0, result.output
    assert "备份完成" in result.output


@pytest.mark.parametrize("prepared", ["blank", "migrated"])
def test_restore_finds_every_row_and_every_photo(app, demo, target, tmp_path, prepared):
    if prepared == "migrated":  # the usual way: install, `flask db upgrade`, then restore
        from flask_migrate import upgrade

        with target.app_context():
            upgrade()
            db.engine.dispose()
    _backup(app, tmp_path / "bk")
    source_rows, source_photos = _rows(app), _photos(app)
    assert len(source_photos) > 10, "the demo data set brings real photos"
    assert source_rows["applications"] and source_rows["loans"] and source_rows["alembic_version"]

    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["database"]["kind"] in ("sqlite", "mysql")
    assert (tmp_path / "bk").stat().st_mode & 0o077 == 0, "personal data: only the owner may enter"
    assert manifest["alembic_revision"] == source_rows["alembic_version"][0][0]
    assert {f["sha256"] for f in manifest["files"][1:]} == set(source_photos)

    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 0, result.output

    restored_rows = _rows(target)
    with target.app_context():  # the one row the restore adds: its own audit trace
        restore_id = db.session.scalar(text("SELECT id FROM audit_log WHERE action = 'backup.restore'"))
    restored_rows["audit_log"] = [r for r in restored_rows["audit_log"] if r[0] != restore_id]
    assert restored_rows.keys() == source_rows.keys()
    for name, rows in source_rows.items():
        assert restored_rows[name] == rows, f"table {name} differs after restore"
    assert _photos(target) == source_photos


def test_a_migrated_installation_whose_seed_was_changed_refuses_the_restore(app, demo, target, tmp_path):
    """The seed of a fresh `flask db upgrade` (the chart of accounts) counts as empty; the same
    tables with real work in them (an account renamed, a mapping added) do not."""
    from flask_migrate import upgrade

    with target.app_context():
        upgrade()
        db.engine.dispose()
    _backup(app, tmp_path / "bk")
    with target.app_context():
        assert backup.installation_emptiness(photo_store(), android_releases.files_from(target.config)) is None
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET name = '现金（总部）' WHERE code = '1001'"))
        db.engine.dispose()
    before = _rows(target)
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1
    assert "数据库不是空的（表 accounts 中已有数据）" in result.output
    assert _rows(target) == before and _photos(target) == {}
    with target.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET name = '库存现金' WHERE code = '1001'"))
            conn.execute(text("DELETE FROM account_mappings WHERE role = 'channel:field'"))
        db.engine.dispose()
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1 and "表 account_mappings 中已有数据" in result.output


def _assert_empty(app) -> None:
    assert _photos(app) == {}
    assert all(not rows for name, rows in _rows(app).items() if name != "alembic_version")


@pytest.mark.parametrize("victim", ["photo", "database"])
def test_a_changed_file_refuses_the_restore_and_writes_nothing(app, demo, target, tmp_path, victim):
    _backup(app, tmp_path / "bk")
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    path = tmp_path / "bk" / (manifest["files"][-1]["path"] if victim == "photo" else manifest["files"][0]["path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(data))

    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1
    assert "与备份清单不符" in result.output and "未恢复任何内容" in result.output
    _assert_empty(target)


def test_a_non_empty_installation_refuses_the_restore(app, demo, target, tmp_path):
    _backup(app, tmp_path / "bk")
    before = _rows(app)
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1
    assert "数据库不是空的" in result.output
    assert _rows(app) == before

    # Photos alone also make an installation non-empty.
    with app.app_context():
        store = photo_store()
        sha256 = next(iter(store.iter_objects()))
        with store.open(sha256) as f:
            content = f.read()
    with target.app_context():
        tmp = Path(photo_store().uploads_dir) / "one"
        tmp.write_bytes(content)
        photo_store().put_file(sha256, tmp)
        with pytest.raises(backup.BackupError) as refused:
            backup.restore(tmp_path / "bk", photo_store(), android_releases.files_from(target.config))
        assert refused.value.code == "not_empty"
    assert not any(rows for name, rows in _rows(target).items())


def test_backup_refuses_a_folder_that_is_not_empty_and_restore_a_folder_without_manifest(app, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "used")])
    assert result.exit_code == 1 and "不是空的" in result.output

    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "used")])
    assert result.exit_code == 1 and "manifest.json" in result.output


def test_a_failed_backup_leaves_no_half_copy(app, demo, tmp_path, monkeypatch):
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite":
        pytest.skip("the MariaDB client programs are what can be missing")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "bk")])
    assert result.exit_code == 1 and "找不到 mariadb-dump" in result.output
    assert not (tmp_path / "bk").exists()
    (tmp_path / "empty").mkdir()
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "empty")])
    assert result.exit_code == 1 and list((tmp_path / "empty").iterdir()) == []


def test_a_backup_from_a_newer_version_is_refused(app, target, tmp_path):
    _backup(app, tmp_path / "bk")
    path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["alembic_revision"] = "9999"  # a migration this code does not have
    path.write_text(json.dumps(manifest))
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1 and "更新版本" in result.output and "9999" in result.output
    _assert_empty(target)


def test_a_published_app_is_backed_up_and_served_again_after_the_restore(app, target, tmp_path):
    data = _publish(app)
    digest = hashlib.sha256(data).hexdigest()
    before, served = _served_app(app)
    assert served == data
    _backup(app, tmp_path / "bk")
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert {"path": f"android/{digest}.apk", "size": len(data), "sha256": digest} in manifest["files"]
    assert (tmp_path / "bk" / "android" / f"{digest}.apk").read_bytes() == data

    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 0, result.output
    assert "1 Android apps" in result.output
    after, served = _served_app(target)
    assert after == before and after["sha256"] == digest
    assert hashlib.sha256(served).hexdigest() == digest and served == data
    assert _apk_files(target) == {f"{digest}.apk": data}  # nothing else left in the folder (no temporary copy)


def test_a_changed_app_file_refuses_the_restore_and_writes_nothing(app, target, tmp_path):
    data = _publish(app)
    _backup(app, tmp_path / "bk")
    path = tmp_path / "bk" / "android" / f"{hashlib.sha256(data).hexdigest()}.apk"
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(damaged))

    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1
    assert "与备份清单不符" in result.output and "未恢复任何内容" in result.output
    _assert_empty(target)
    assert _apk_files(target) == {}

    path.unlink()  # a missing one too
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1 and "未恢复任何内容" in result.output
    _assert_empty(target)
    assert _apk_files(target) == {}


def test_an_app_file_alone_makes_the_installation_not_empty(app, target, tmp_path):
    data = _publish(app)
    _backup(app, tmp_path / "bk")
    folder = Path(target.config["ANDROID_DIR"])
    folder.mkdir(parents=True)
    (folder / f"{hashlib.sha256(data).hexdigest()}.apk").write_bytes(data)
    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 1 and "不是空的" in result.output and str(folder) in result.output
    assert not any(rows for name, rows in _rows(target).items() if name != "alembic_version")


def test_a_backup_made_before_the_apps_were_included_still_restores(app, target, tmp_path):
    """The manifest of an older backup lists the database and the photos only, the folder has no
    android/: it restores (same format), the rows come back, and the app's download answers 404 —
    never a 500 — until the app is published again, which then works."""
    _publish(app)
    _backup(app, tmp_path / "bk")
    path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"] = [f for f in manifest["files"] if not f["path"].startswith("android/")]
    path.write_text(json.dumps(manifest))
    shutil.rmtree(tmp_path / "bk" / "android")

    result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert result.exit_code == 0, result.output
    assert _rows(target)["android_releases"] == _rows(app)["android_releases"]
    client = target.test_client()
    url = client.get("/api/v1/android/release").get_json()["url"]
    assert client.get(url.removeprefix("http://localhost")).status_code == 404
    _publish(target, "officer-3.apk")
    assert _served_app(target)[1] == (VECTORS / "officer-3.apk").read_bytes()


@pytest.mark.parametrize("victim", ["app", "photo"])
def test_a_damaged_stored_file_stops_the_backup_with_its_name(app, tmp_path, victim):
    """A file whose bytes are no longer its name's hash would give a manifest no restore accepts:
    the backup stops, names it, and leaves no folder."""
    data = _publish(app)
    if victim == "app":
        sha256 = hashlib.sha256(data).hexdigest()
        path = Path(app.config["ANDROID_DIR"]) / f"{sha256}.apk"
        damaged = bytearray(path.read_bytes())
        damaged[-1] ^= 0x01
        path.chmod(0o600)
        path.write_bytes(bytes(damaged))
    else:
        with app.app_context():
            photo = b"\xff\xd8 not really a photo"
            sha256 = hashlib.sha256(photo).hexdigest()
            tmp = Path(photo_store().uploads_dir) / "one"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(photo)
            photo_store().put_file(sha256, tmp)
            damage_stored(photo_store(), sha256)  # on disk or in the bucket
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "bk")])
    assert result.exit_code == 1, result.output
    assert sha256 in result.output and "已损坏" in result.output
    assert not (tmp_path / "bk").exists()
