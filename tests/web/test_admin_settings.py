"""The phone app's minimum version as an admin setting (issue 12 item 10c): stored in the database
with who and when, audited, validated (a version like 0.3.0, never above the app the server ships),
read by the phone API at once without a restart; the environment variable stays the default."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Setting
from tests.conftest import Auth
from tests.sync_helpers import enrol


def _admin(app) -> Auth:
    admin = Auth(app.test_client())
    admin.login("admin")
    return admin


def test_the_default_comes_from_the_environment_until_the_admin_sets_one(app, client, demo):
    app.config.update(CLIENT_VERSION="0.3.0", MIN_CLIENT_VERSION="0.2.0")
    admin = _admin(app)
    page = admin.client.get("/admin/settings/").get_data(as_text=True)
    assert 'value="0.2.0"' in page and "MIN_CLIENT_VERSION" in page
    assert client.get("/api/v1/version").get_json() == {"current": "0.3.0", "min_supported": "0.2.0"}
    headers = enrol(app, "officer1") | {"X-Client-Version": "0.2.5"}
    assert client.get("/api/v1/device", headers=headers).status_code == 200

    r = admin.post("/admin/settings/", data={"min_client_version": " 0.3.0 "})
    assert r.status_code == 303
    page = admin.client.get("/admin/settings/").get_data(as_text=True)
    assert "最低应用版本已设为 0.3.0" in page and 'value="0.3.0"' in page and "由 系统管理员" in page
    # The phone API reads it on the next request: no restart.
    assert client.get("/api/v1/version").get_json()["min_supported"] == "0.3.0"
    r = client.get("/api/v1/device", headers=headers)
    assert r.status_code == 426 and r.get_json()["min_supported"] == "0.3.0"
    with app.app_context():
        row = db.session.get(Setting, "min_client_version")
        assert row.value == "0.3.0" and row.updated_by_id == demo["admin"] and row.updated_at is not None
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "setting.changed")).all()
        assert [(a.actor_id, a.detail) for a in audit] == [
            (demo["admin"], {"key": "min_client_version", "before": "0.2.0", "after": "0.3.0"})]


def test_bad_versions_are_refused_in_chinese_and_nothing_changes(app, client, demo):
    app.config.update(CLIENT_VERSION="0.3.0", MIN_CLIENT_VERSION="0.2.0")
    admin = _admin(app)
    for bad, says in (("0.3", "三个数字"), ("v0.3.0", "三个数字"), ("", "三个数字"), ("0.3.0-beta", "三个数字"),
                      ("abc", "三个数字"), ("0.10.0", "不能高于当前应用版本 0.3.0"), ("1.0.0", "不能高于当前应用版本 0.3.0")):
        r = admin.post("/admin/settings/", data={"min_client_version": bad})
        assert r.status_code == 422, bad
        text = r.get_data(as_text=True)
        assert says in text and 'aria-invalid="true"' in text, bad
    with app.app_context():
        assert db.session.get(Setting, "min_client_version") is None
        assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "setting.changed")).all()
    assert client.get("/api/v1/version").get_json()["min_supported"] == "0.2.0"


def test_only_the_admin_opens_the_settings(app, demo):
    for username in ("officer1", "director1", "auditor1", "cashier1"):
        viewer = Auth(app.test_client())
        viewer.login(username)
        assert viewer.client.get("/admin/settings/").status_code == 403, username
        assert viewer.post("/admin/settings/", data={"min_client_version": "0.1.0"}).status_code == 403, username
