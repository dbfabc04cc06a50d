"""The Android app's self-update, server side (issue 15): the release the phones read, the APK
download, the public download page with its QR codes, and the one version rule's 426 app_outdated
for an app below the published minimum (never for a current app or a plain browser)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from app import clock
from app.services import android_releases
from tests.sync_helpers import enrol

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "android"
WEBVIEW = "Mozilla/5.0 (Linux; Android 13; SM-A135F Build/TP1A; wv) AppleWebKit/537.36 (KHTML, like Gecko) " \
          "Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36"
BROWSER = "Mozilla/5.0 (Linux; Android 13; SM-A135F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"


def publish(app, name: str, min_version_code: int | None = None):
    with app.app_context():
        done = android_releases.publish(VECTORS / name, files=android_releases.files_from(app.config),
                                        package=app.config["ANDROID_PACKAGE"], now=clock.now(),
                                        min_version_code=min_version_code)
        return done.release.version_code


def test_no_release_yet_is_a_404_the_phone_reads(client):
    r = client.get("/api/v1/android/release")
    assert r.status_code == 404 and r.get_json()["error"] == "no_release"
    assert "尚未发布" in r.get_json()["message"]


def test_the_release_names_version_size_hash_minimum_and_an_absolute_url(app, client):
    publish(app, "officer-1.apk")
    publish(app, "officer-2.apk", min_version_code=1)
    data = (VECTORS / "officer-2.apk").read_bytes()
    r = client.get("/api/v1/android/release")
    assert r.status_code == 200
    assert r.get_json() == {
        "version_code": 2, "version_name": "0.2.0", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        "min_version_code": 1, "url": "http://localhost/android/daidaitong-officer-2.apk",
    }
    assert r.headers["Cache-Control"] == "no-cache"


def test_the_download_is_the_published_file_with_its_headers(app, client):
    publish(app, "officer-3.apk")
    data = (VECTORS / "officer-3.apk").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    r = client.get(client.get("/api/v1/android/release").get_json()["url"])
    assert r.status_code == 200 and r.data == data and hashlib.sha256(r.data).hexdigest() == digest
    assert r.headers["Content-Type"] == "application/vnd.android.package-archive"
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["ETag"] == f'"{digest}"'
    assert r.headers["Content-Disposition"] == "attachment; filename=daidaitong-officer-3.apk"
    again = client.get("/android/daidaitong-officer-3.apk", headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and again.data == b""
    part = client.get("/android/daidaitong-officer-3.apk", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == data[:100]  # a broken download resumes


def test_an_unknown_version_is_a_404_page(app, client):
    publish(app, "officer-1.apk")
    for path in ("/android/daidaitong-officer-2.apk", "/android/daidaitong-officer-0.apk"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.mimetype == "text/html"


def test_a_release_whose_file_is_gone_is_a_404_not_a_500(app, client):
    publish(app, "officer-1.apk")
    for f in Path(app.config["ANDROID_DIR"]).iterdir():
        f.unlink()
    assert client.get("/android/daidaitong-officer-1.apk").status_code == 404


def test_the_download_page_shows_version_hash_and_two_qr_codes(app, client):
    publish(app, "officer-3.apk")
    digest = hashlib.sha256((VECTORS / "officer-3.apk").read_bytes()).hexdigest()
    html = client.get("/android").get_data(as_text=True)
    assert "客户经理手机应用" in html and "0.3.0 测试" in html and digest in html
    assert 'id="android-download-qr"><svg' in html and 'id="android-setup-qr"><svg' in html
    assert 'href="http://localhost/android/daidaitong-officer-3.apk"' in html
    setup = "daidaitong-officer://setup?server=" + quote("http://localhost", safe="")
    assert setup == "daidaitong-officer://setup?server=http%3A%2F%2Flocalhost"
    assert f'href="{setup}"' in html


def test_the_download_page_before_any_release_says_how_to_publish(client):
    html = client.get("/android").get_data(as_text=True)
    assert 'id="android-none"' in html and "flask android publish" in html
    assert 'id="android-setup-qr"><svg' in html  # a phone can still be set up


def test_the_admin_finds_the_download_page_where_phones_are_enrolled(client, auth, demo):
    auth.login("admin")
    html = client.get("/admin/devices").get_data(as_text=True)
    assert 'id="android-app-link"' in html and 'href="/android"' in html


# --- the one version rule -------------------------------------------------------------------------

def _call(client, headers, user_agent):
    return client.get("/api/v1/device", headers={**headers, "User-Agent": user_agent})


def test_an_app_below_the_published_minimum_is_told_to_update_itself(app, client, demo):
    headers = enrol(app, "officer1")
    publish(app, "officer-1.apk")
    publish(app, "officer-2.apk", min_version_code=2)
    r = _call(client, headers, f"{WEBVIEW} DaidaitongAndroid/1")
    assert r.status_code == 426
    body = r.get_json()
    assert (body["error"], body["update"], body["min_version_code"]) == ("app_outdated", "android", 2)
    assert "自动更新" in body["message"]


def test_a_current_app_and_a_plain_browser_pass(app, client, demo):
    headers = enrol(app, "officer1")
    publish(app, "officer-2.apk", min_version_code=2)
    for agent in (f"{WEBVIEW} DaidaitongAndroid/2", f"{WEBVIEW} DaidaitongAndroid/3", BROWSER, WEBVIEW, ""):
        assert _call(client, headers, agent).status_code == 200, agent


def test_nothing_published_asks_no_app_to_update(app, client, demo):
    headers = enrol(app, "officer1")
    assert _call(client, headers, f"{WEBVIEW} DaidaitongAndroid/1").status_code == 200


def test_set_minimum_takes_effect_on_the_next_call(app, client, demo):
    headers = enrol(app, "officer1")
    publish(app, "officer-2.apk")
    assert _call(client, headers, f"{WEBVIEW} DaidaitongAndroid/1").status_code == 200
    with app.app_context():
        android_releases.set_minimum(2)
    assert _call(client, headers, f"{WEBVIEW} DaidaitongAndroid/1").get_json()["error"] == "app_outdated"


def test_an_old_app_with_an_old_page_installs_the_app_first(app, client, demo):
    headers = enrol(app, "officer1")
    publish(app, "officer-2.apk", min_version_code=2)
    old_page = {**headers, "X-Client-Version": "0.0.9"}
    assert _call(client, old_page, f"{WEBVIEW} DaidaitongAndroid/1").get_json()["error"] == "app_outdated"
    r = _call(client, old_page, f"{WEBVIEW} DaidaitongAndroid/2")
    assert r.status_code == 426 and r.get_json()["error"] == "client_outdated"
    r = _call(client, old_page, BROWSER)
    assert r.status_code == 426 and r.get_json()["error"] == "client_outdated"


def test_a_revoked_phone_is_still_wiped_whatever_its_app_version(app, client, demo):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Device, User
    from app.services import devices as device_service

    headers = enrol(app, "officer1")
    publish(app, "officer-2.apk", min_version_code=2)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == headers["X-Device-Id"]))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "revoked", admin=admin, now=clock.now())
    r = _call(client, headers, f"{WEBVIEW} DaidaitongAndroid/1")
    assert r.status_code == 401 and r.get_json()["wipe"] is True
