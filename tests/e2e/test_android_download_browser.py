"""The public download page of the officers' Android app (/android) in Chromium: on a 360 px phone
and on a desktop it fits the screen, shows both QR codes whole, and its download link fetches the
published APK byte for byte."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app import clock
from app.services import android_releases
from tests.e2e.conftest import FITS, screenshot

pytestmark = pytest.mark.e2e

APK = Path(__file__).resolve().parents[1] / "vectors" / "android" / "officer-3.apk"


def _publish(app) -> None:
    with app.app_context():
        android_releases.publish(APK, files=android_releases.files_from(app.config),
                                 package=app.config["ANDROID_PACKAGE"], now=clock.now())


def _qr_boxes(page) -> list[dict]:
    return [page.locator(f"#{name} svg").bounding_box() for name in ("android-download-qr", "android-setup-qr")]


@pytest.mark.browser_side
def test_the_download_page_fits_a_phone_and_downloads_the_apk(app, live_server, phone):
    _publish(app)
    page = phone.new_page()
    page.goto(f"{live_server}/android")
    assert page.evaluate(FITS)
    assert page.locator("#android-version").inner_text().startswith("0.3.0 测试")
    sha = page.locator("#android-sha256")
    assert sha.inner_text() == hashlib.sha256(APK.read_bytes()).hexdigest()
    assert sha.bounding_box()["x"] + sha.bounding_box()["width"] <= 360  # the hash wraps, not overflows
    for box in _qr_boxes(page):
        assert box and box["width"] >= 120 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    setup = page.locator("#android-setup-link").get_attribute("href")
    assert setup.startswith("daidaitong-officer://setup?server=http%3A%2F%2F127.0.0.1%3A")
    screenshot(page, "android-download-phone.png")
    with page.expect_download() as download:
        page.locator("#android-download-link").click()
    path = download.value.path()
    assert download.value.suggested_filename == "daidaitong-officer-3.apk"
    assert Path(path).read_bytes() == APK.read_bytes()


@pytest.mark.browser_side
def test_the_download_page_on_a_desktop(app, live_server, desktop):
    _publish(app)
    page = desktop.new_page()
    page.goto(f"{live_server}/android")
    assert page.evaluate(FITS)
    download, setup = _qr_boxes(page)
    assert download["y"] == setup["y"] or abs(download["y"] - setup["y"]) < 80  # side by side
    screenshot(page, "android-download-desktop.png")
