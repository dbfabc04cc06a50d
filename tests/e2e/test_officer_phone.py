"""The officer's phone in real Chromium: offline capture, resumable verified upload, revocation, update."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.config import APP_VERSION, PROJECT_ROOT
from app.extensions import db
from app.models import Application, Device, Photo, User
from app.services import devices as device_service
from app.storage import make_store
from tests.e2e.conftest import PHONE, wait_for_state
from tests.e2e.officer import blob_count, capture, drafts, enrol_phone, phone_photos, server_application, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"))


def test_capture_offline_survives_reload_and_arrives_intact(app, live_server, officer_phone, photos):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos, finish=False)
    page.click("#back-home")
    # "Save and back" writes the draft to IndexedDB; the page goes only once it is there, whole.
    page.wait_for_selector("#view-home:not([hidden])")
    wait_for_state(page, "Store.allDrafts().then(d => d.length === 1 && d[0].purpose === '购买化肥种子' && !!d[0].gps)")
    # Reload with no signal: the shell comes from the service worker, the draft from IndexedDB.
    page.reload()
    page.wait_for_selector("#view-home:not([hidden])")
    assert page.locator("#net-status").inner_text() == "离线"
    page.click("#list-drafts li.row button")
    page.wait_for_selector("#view-draft:not([hidden])")
    assert page.input_value("#view-draft input[name=name]") == "周大福"
    # Thumbnails get their blob: URLs as each photo is read back from IndexedDB.
    wait_for_state(page, "document.querySelectorAll(\".thumb img[src^='blob:']\").length === 5")
    assert "104.09" in page.locator("#gps-info").inner_text()
    # Everything came back: the form is complete, so "finish" is enabled (a click would wait for it).
    assert page.locator("#missing li.ok").count() == 1, page.locator("#missing").inner_text()
    assert page.is_enabled("#finish")
    page.click("#finish")
    page.wait_for_selector("#list-outbox .row")
    assert page.locator("#sync-badge").inner_text() == "1"
    [draft] = drafts(page)
    assert draft["status"] == "queued" and blob_count(page) == 5
    # Downscaled on the phone: the 2400 px camera photos became at most the configured long edge.
    assert all(max(p["width"], p["height"]) <= app.config["PHOTO_LONG_EDGE"] for p in draft["photos"])

    officer_phone.set_offline(False)  # "online" fires and the queue runs
    page.wait_for_selector("#list-sent .row", timeout=30000)
    assert page.locator("#sync-badge").inner_text() == "0"
    server = server_application(app, draft["uuid"])
    assert server["state"] == "awaiting_director" and server["borrower"] == "周大福"
    by_uuid = {p["uuid"]: p for p in server["photos"]}
    for p in draft["photos"]:
        assert by_uuid[p["uuid"]]["sha256"] == p["sha256"] == by_uuid[p["uuid"]]["stored_sha256"]
    # Only now, with every hash confirmed, has the phone let go of its copies.
    assert blob_count(page) == 0
    assert drafts(page)[0]["status"] == "sent"


def test_cut_upload_resumes_and_resends_at_most_one_chunk(app, live_server, officer_phone, photos):
    chunk = 32 * 1024
    app.config["UPLOAD_CHUNK_BYTES"] = chunk
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos)
    [draft] = drafts(page)
    total = sum(p["size"] for p in draft["photos"])

    delivered = []   # PATCH bodies that reached the server
    seen = {"patches": 0, "manifests": 0}
    cut = {"on": True}

    def on_upload(route):
        request = route.request
        if request.method != "PATCH":
            return route.continue_()
        seen["patches"] += 1
        body = request.post_data_buffer or b""
        if seen["patches"] == 3:
            return route.abort("internetdisconnected")  # the chunk never arrives
        if seen["patches"] == 6:
            response = route.fetch()  # the server stores the chunk, the answer is lost
            delivered.append(len(body))
            return route.abort("internetdisconnected") if response else None
        if cut["on"] and seen["patches"] >= 9:
            return route.abort("internetdisconnected")  # a long outage: the upload stalls
        delivered.append(len(body))
        return route.continue_()

    def on_manifest(route):
        seen["manifests"] += 1
        if seen["manifests"] == 1:
            route.fetch()  # created on the server, but the phone never hears back
            return route.abort("internetdisconnected")
        return route.continue_()

    officer_phone.route("**/api/v1/uploads/*", on_upload)
    officer_phone.route("**/api/v1/applications", on_manifest)
    officer_phone.set_offline(False)
    wait_until(page, "Store.allDrafts().then(d => !!d[0].next_attempt_at)")
    page.click("#send-now")  # the officer does not wait for the backoff
    # The upload stalls in the outage: the item waits for its next try, with part of the bytes sent.
    wait_until(page, "Store.allDrafts().then(d => !!(d[0].server && d[0].next_attempt_at))")
    progress_before = _server_progress(app, draft["uuid"])
    assert 0 < progress_before < total
    # Signal comes back after the app was closed and opened again.
    cut["on"] = False
    page.reload()
    try:
        page.wait_for_selector("#list-sent .row", timeout=30000)
    except Exception:
        d = drafts(page)[0]
        print("DEBUG", seen, {k: v for k, v in d.items() if k != "photos"}, [(p.get("confirmed"), p.get("progress")) for p in d["photos"]])
        raise

    assert seen["manifests"] >= 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Application.uuid == draft["uuid"])) == 1
        assert db.session.scalar(select(func.count()).select_from(Photo).join(Application).where(Application.uuid == draft["uuid"])) == 5
    server = server_application(app, draft["uuid"])
    assert server["state"] == "awaiting_director"
    assert all(p["stored_sha256"] == p["sha256"] for p in server["photos"])
    resent = sum(delivered) - total
    print(f"photo bytes {total}, delivered to the server {sum(delivered)}, sent twice {resent}, chunk {chunk}")
    assert 0 <= resent <= chunk


def _server_progress(app, uuid: str) -> int:
    """Bytes of this application's photos the server holds, finished or partial."""
    with app.app_context():
        from app.services.locks import lock_factory

        staging = make_store(app.config).upload_staging(lock_factory("upload"))  # on disk or in the bucket
        a = db.session.scalar(select(Application).where(Application.uuid == uuid))
        held = 0
        for p in a.photos:
            held += p.size_bytes if p.received_at else staging.offset(p.uuid)
        return held


def test_revoked_phone_is_refused_and_wipes_itself(app, live_server, officer_phone, photos):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos)
    assert blob_count(page) == 5
    [draft] = drafts(page)
    with app.app_context():
        device = db.session.scalar(select(Device).order_by(Device.id.desc()))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "revoked", admin=admin, now=__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
    officer_phone.set_offline(False)
    page.wait_for_url("**/login?wiped=1", timeout=30000)
    assert "已被停用" in page.locator(".flash-warning").inner_text()
    assert page.evaluate("indexedDB.databases().then(dbs => dbs.map(d => d.name))") == []
    # The login page may install the app shell again; it holds no one's data.
    cached = page.evaluate("caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()).then(rs => rs.map(r => new URL(r.url).pathname))))).then(a => a.flat())")
    assert not [path for path in cached if path.startswith("/api/") or path in ("/", "/applications/", "/borrowers/")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Application.uuid == draft["uuid"])) == 0
    # The web session ended too: the office pages ask for a login again.
    page.goto(f"{live_server}/")
    assert "/login" in page.url


def test_minimum_version_bump_forces_the_update_before_sync(app, live_server, officer_phone, photos):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos)
    assert page.evaluate("document.body.dataset.clientVersion") == APP_VERSION
    major, minor, _patch = APP_VERSION.split(".")
    newer = f"{major}.{int(minor) + 1}.0"

    sent_versions = []
    officer_phone.route("**/api/v1/applications", lambda route: (sent_versions.append(route.request.headers.get("x-client-version")), route.continue_()))
    app.config["CLIENT_VERSION"] = app.config["MIN_CLIENT_VERSION"] = newer
    officer_phone.set_offline(False)
    page.reload()  # the app is opened again with signal
    wait_for_state(page, f"document.body.dataset.clientVersion === '{newer}'")
    page.wait_for_selector("#list-sent .row", timeout=30000)
    assert sent_versions and set(sent_versions) == {newer}
    # One cache only, the new version's (named by client version and the shell's own revision).
    revision = re.search(r"const SHELL_REVISION = (\d+);", (PROJECT_ROOT / "sw.js").read_text()).group(1)
    assert page.evaluate("caches.keys()") == [f"ddt-shell-{newer}-{revision}"]
    # The draft made under the older version went through untouched.
    [draft] = drafts(page)
    assert server_application(app, draft["uuid"])["state"] == "awaiting_director"


def test_a_refused_application_is_shown_and_kept_for_correction(app, live_server, officer_phone, photos):
    from decimal import Decimal

    from app.models import Product

    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    capture(page, photos)
    # Meanwhile HQ lowered the product's limit; the phone's cached copy still had the old one.
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        product.max_amount = Decimal("5000")
        db.session.commit()
    officer_phone.set_offline(False)
    page.wait_for_selector("#list-drafts .row-error", timeout=30000)
    text = page.locator("#list-drafts .row-error").inner_text()
    assert "服务器未接受" in text and "5,000.00" in text
    [draft] = drafts(page)
    assert draft["status"] == "error" and blob_count(page) == 5  # nothing was thrown away
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Application.uuid == draft["uuid"])) == 0
    # The officer corrects the amount and sends again.
    page.click("#list-drafts .row-error button")
    page.fill("#view-draft input[name=amount]", "5000")
    page.wait_for_selector("#missing li.ok")
    page.click("#finish")
    page.wait_for_selector("#list-sent .row", timeout=30000)
    assert server_application(app, draft["uuid"])["amount"] == "5000.00"


def test_capture_is_refused_where_the_browser_cannot_store(app, live_server, browser):
    context = browser.new_context(viewport=PHONE, service_workers="block")
    # What private browsing with storage blocked looks like to the page.
    context.add_init_script("Object.defineProperty(window, 'indexedDB', { get() { throw new DOMException('blocked', 'SecurityError'); } });")
    page = context.new_page()
    page.goto(f"{live_server}/m/")
    page.wait_for_selector("#view-unsupported:not([hidden])")
    assert "无法离线保存" in page.locator("#view-unsupported").inner_text()
    assert page.locator("#view-home").is_hidden()
    context.close()


def test_on_cellular_with_wifi_only_the_manifest_goes_and_photos_wait(app, live_server, officer_phone, photos):
    # Chromium on a desktop has no connection type; a phone on mobile data reports "cellular".
    officer_phone.add_init_script("Object.defineProperty(navigator, 'connection', { value: { type: 'cellular' } });")
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.check("#wifi-only")
    patches = []
    officer_phone.route("**/api/v1/uploads/*", lambda route: (patches.append(route.request.method), route.continue_()))
    officer_phone.set_offline(True)
    capture(page, photos)
    officer_phone.set_offline(False)
    wait_until(page, "Store.allDrafts().then(d => !!(d[0].server && d[0].waiting_wifi))")
    [draft] = drafts(page)
    # The director already sees the application; no photo byte went over mobile data.
    assert server_application(app, draft["uuid"])["state"] == "uploading"
    assert "PATCH" not in patches
    assert "等待Wi-Fi" in page.locator("#list-outbox").inner_text()
    page.click("#send-now")  # the officer decides to use mobile data after all
    page.wait_for_selector("#list-sent .row", timeout=30000)
    assert server_application(app, draft["uuid"])["state"] == "awaiting_director"


def test_an_application_finished_during_a_run_goes_when_that_run_ends(app, live_server, officer_phone, photos):
    """Without Background Sync (as in the Android WebView) nothing else wakes the queue: the run that
    was busy when the officer tapped 完成 read the queue before, so one more run must follow it."""
    officer_phone.add_init_script("delete window.SyncManager;")
    held, holding = [], [True]
    # The phone's first run after enrolment kept busy at its end (the work plan), until let go.
    officer_phone.route("**/api/v1/plan*", lambda route: held.append(route) if holding else route.continue_())
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    for _ in range(300):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no run reached the plan"
    capture(page, photos)
    [draft] = drafts(page)
    assert draft["status"] == "queued" and server_application(app, draft["uuid"]) is None
    holding.clear()
    for route in held:
        route.continue_()
    # The next timer run is a minute away: only the run queued behind the busy one sends it now.
    page.wait_for_selector("#list-sent .row", timeout=30000)
    assert server_application(app, drafts(page)[0]["uuid"])["state"] == "awaiting_director"
