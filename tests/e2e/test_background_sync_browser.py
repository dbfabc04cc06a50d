"""The queue drains with the app closed (issue 15): the service worker sends it on Background Sync.

Every page of the app is closed (an about:blank page keeps the browser context alive), signal
returns, and the worker's ``sync`` event is fired through the DevTools protocol, as the browser
fires it when connectivity comes back. What was captured offline must then be on the server: the
application with every photo (rows and the stored files' SHA-256), a visit report with its photo,
and the trail points; after a cut in the middle of an upload, a second wake finishes it with
nothing doubled."""
from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, FollowUpTask, Photo, TaskPhoto, TrackPoint
from app.storage import make_store
from tests.e2e.officer import (blob_count, capture, drafts, enrol_phone, phone_photos, sample_trail_at,
                              server_application, wait_opening_position_sent, wait_until)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("bg-camera"))


class Worker:
    """The origin's service worker registration, seen through the DevTools protocol of a page that
    is not the app's (about:blank), so it lives on when every page of the app is closed."""

    def __init__(self, context, base: str):
        self.base = base
        # Chrome allows Background Sync by default; Playwright's contexts deny what is not granted
        # (and a grant for an origin replaces the context's: geolocation is named again).
        context.grant_permissions(["geolocation", "background-sync"], origin=base)
        self.blank = context.new_page()
        self.cdp = context.new_cdp_session(self.blank)
        self.registrations: dict[str, dict] = {}
        self.cdp.on("ServiceWorker.workerRegistrationUpdated",
                    lambda e: self.registrations.update({r["registrationId"]: r for r in e["registrations"]}))
        self.cdp.send("ServiceWorker.enable")

    def live_registrations(self) -> list[str]:
        scope = self.base + "/"
        return [r["registrationId"] for r in self.registrations.values() if r["scopeURL"] == scope and not r["isDeleted"]]

    def registration_id(self) -> str:
        ids = self.live_registrations()
        assert len(ids) == 1, self.registrations
        return ids[0]

    def fire_sync(self) -> None:
        self.cdp.send("ServiceWorker.dispatchSyncEvent", {
            "origin": self.base, "registrationId": self.registration_id(), "tag": "ddt-sync", "lastChance": False,
        })

    def sync_until(self, predicate, timeout: float = 60.0, every: float = 15.0):
        """Wake the worker, and again (as the browser does after a failed sync event) while
        ``predicate()`` stays false: on a loaded machine a wake right after going online can find
        the worker's network still off, and that run ends without a request."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.live_registrations():  # a revoked phone's worker unregistered itself
                return wait_for(self.blank, predicate, timeout=0.1)
            self.fire_sync()
            try:
                return wait_for(self.blank, predicate, timeout=min(every, max(deadline - time.monotonic(), 0.1)))
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise


def close_app_pages(context, worker: Worker) -> None:
    for page in context.pages:
        if page is not worker.blank:
            page.close()
    assert [p.url for p in context.pages] == ["about:blank"]


def wait_for(page, predicate, timeout: float = 60.0, poll: float = 0.2):
    """Wait (on the server's state, not a clock) until ``predicate()`` returns something truthy.
    It waits in ``page`` (the blank one), so Playwright keeps serving routes and protocol events."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s; last value: {value!r}")
        page.wait_for_timeout(poll * 1000)


def _all_received(app, uuid: str, count: int):
    server = server_application(app, uuid)
    if server and len(server["photos"]) == count and all(p["stored_sha256"] for p in server["photos"]):
        return server
    return None


def _registered_tags(page) -> list[str]:
    return page.evaluate("navigator.serviceWorker.ready.then(r => r.sync.getTags())")


def _enrolled_offline_capture(app, live_server, officer_phone, photos):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    # The worker that controls the app is the module worker that carries the sync engine.
    wait_until(page, "navigator.serviceWorker.ready.then(r => r.active && r.active.state === 'activated')")
    officer_phone.set_offline(True)
    capture(page, photos)
    [draft] = drafts(page)
    assert draft["status"] == "queued" and blob_count(page) == len(draft["photos"]) == 5
    # Finishing asked the browser to wake the worker when there is signal.
    assert "ddt-sync" in _registered_tags(page)
    return page, draft


def test_an_application_finished_offline_is_sent_with_every_page_closed(app, live_server, officer_phone, photos):
    worker = Worker(officer_phone, live_server)
    page, draft = _enrolled_offline_capture(app, live_server, officer_phone, photos)
    worker.registration_id()
    # The officer locks the phone: no page of the app is left.
    close_app_pages(officer_phone, worker)
    officer_phone.set_offline(False)
    assert server_application(app, draft["uuid"]) is None
    # The last photo's row is committed before the application moves on (services/sync.py): wait for
    # both, not for the photos alone.
    server = worker.sync_until(lambda: (s := _all_received(app, draft["uuid"], 5)) and s["state"] != "uploading" and s)
    assert server["state"] == "awaiting_director"
    by_uuid = {p["uuid"]: p for p in server["photos"]}
    assert set(by_uuid) == {p["uuid"] for p in draft["photos"]}
    for p in draft["photos"]:
        assert by_uuid[p["uuid"]]["sha256"] == p["sha256"] == by_uuid[p["uuid"]]["stored_sha256"]

    # The phone's queue agrees: opened again, the application is sent and its photo blobs are gone.
    page = officer_phone.new_page()
    page.goto(f"{live_server}/m/")
    page.wait_for_selector("#view-home:not([hidden])")
    wait_until(page, "Store.allDrafts().then(d => d.length === 1 && d[0].status === 'sent')")
    wait_until(page, """new Promise((resolve) => { const req = indexedDB.open('ddt');
        req.onsuccess = () => { const c = req.result.transaction('blobs').objectStore('blobs').count();
                                c.onsuccess = () => { resolve(c.result === 0); req.result.close(); }; }; })""")


@pytest.mark.browser_side
def test_a_visit_report_and_trail_points_are_sent_with_every_page_closed(app, live_server, officer_phone, photos):
    from tests.e2e.test_officer_plan import _row, _tasks, _visit

    app.config["TRAIL_HOURS"] = "00:00-24:00"
    tasks = _tasks(app)
    worker = Worker(officer_phone, live_server)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    wait_until(page, "Store.getMeta('plan').then(p => !!p && p.tasks.length >= 2)")
    page.wait_for_selector(_row(tasks["revisit"]))
    # The first position of the session went out with signal; what follows is taken offline.
    wait_opening_position_sent(page)
    with app.app_context():
        points_before = db.session.scalar(select(func.count()).select_from(TrackPoint))
    officer_phone.set_offline(True)
    sample_trail_at(officer_phone, page, (30.671, 30.672, 30.673))
    assert page.evaluate("Store.getMeta('trail').then(p => p.length)") == 3
    _visit(page, officer_phone, tasks["revisit"], north_m=40, photo=photos[0],
           fill={"notes": "关机后发送"}, checks=["loan_use_verified"])
    [report] = page.evaluate("Store.allReports()")
    assert report["status"] == "queued"
    assert "ddt-sync" in _registered_tags(page)

    close_app_pages(officer_phone, worker)
    officer_phone.set_offline(False)

    def report_done():
        with app.app_context():
            db.session.expire_all()
            task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == tasks["revisit"]))
            return task if task.status == "done" else None

    task = worker.sync_until(report_done)
    with app.app_context():
        assert task.report_uuid == report["uuid"] and task.on_site is True
        store = make_store(app.config)
        [photo] = db.session.scalars(select(TaskPhoto).where(TaskPhoto.task_id == task.id)).all()
        with store.open(photo.sha256) as f:
            assert hashlib.sha256(f.read()).hexdigest() == photo.sha256 == report["photos"][0]["sha256"]

    def trail_sent():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(TrackPoint)) == points_before + 3

    worker.sync_until(trail_sent)
    with app.app_context():
        lats = db.session.scalars(select(TrackPoint.lat).order_by(TrackPoint.id.desc()).limit(3)).all()
    assert sorted(lats) == [30.671, 30.672, 30.673]


def test_a_cut_mid_upload_in_the_worker_is_finished_by_the_next_wake_with_nothing_doubled(
        app, live_server, officer_phone, photos):
    worker = Worker(officer_phone, live_server)
    page, draft = _enrolled_offline_capture(app, live_server, officer_phone, photos)
    # Small chunks so each photo takes several; the signal drops after the 3rd chunk of the run.
    patches: list[tuple[str, int]] = []
    cut = {"on": True, "refused": 0}

    def uploads(route):
        request = route.request
        if request.method == "PATCH":
            if cut["on"] and len(patches) >= 3:
                cut["refused"] += 1
                return route.abort("internetdisconnected")
            patches.append((request.url.rsplit("/", 1)[1], int(request.headers["upload-offset"])))
        return route.continue_()

    officer_phone.route("**/api/v1/uploads/*", uploads)
    page.evaluate("Store.getMeta('bootstrap').then(b => { b.settings.upload_chunk_bytes = 16384; return Store.setMeta('bootstrap', b); })")
    close_app_pages(officer_phone, worker)
    officer_phone.set_offline(False)

    # The worker's run: the manifest went, three chunks, then the tus client's retries all fail.
    worker.sync_until(lambda: cut["refused"] >= 4)
    cut_photo = patches[-1][0]
    assert server_application(app, draft["uuid"]) is not None
    assert _all_received(app, draft["uuid"], 5) is None

    # Signal again; the browser wakes the worker once more.
    cut["on"] = False
    sent_before_resume = len(patches)
    server = worker.sync_until(lambda: _all_received(app, draft["uuid"], 5))
    for p in draft["photos"]:
        match = [s for s in server["photos"] if s["uuid"] == p["uuid"]]
        assert len(match) == 1 and match[0]["sha256"] == p["sha256"] == match[0]["stored_sha256"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application).where(Application.uuid == draft["uuid"])) == 1
        assert db.session.scalar(select(func.count()).select_from(Photo).where(
            Photo.uuid.in_([p["uuid"] for p in draft["photos"]]))) == 5
    # Resumed where it stopped: the cut photo's next chunk starts at the offset the server held.
    resumed = [offset for uuid, offset in patches[sent_before_resume:] if uuid == cut_photo]
    assert resumed and resumed[0] > 0
    # No chunk was sent twice.
    assert len(set(patches)) == len(patches)


@pytest.mark.browser_side
def test_a_phone_with_the_classic_worker_takes_the_module_worker_as_an_update(app, live_server, officer_phone):
    """Phones in the field hold the previous, classic worker (sw.js before issue 15). Opening the
    app registers the module worker: it installs as an update, takes over at the next start, and
    it is the one that sends the queue with the app closed."""
    import subprocess

    from app.config import PROJECT_ROOT

    app.config["TRAIL_HOURS"] = "00:00-24:00"
    classic = subprocess.run(["git", "show", "7865655:sw.js"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             check=True).stdout.replace("__CLIENT_VERSION__", app.config["CLIENT_VERSION"])
    assert "import " not in classic
    served = {"classic": True}

    def old_worker(route):
        if served["classic"]:
            return route.fulfill(status=200, body=classic, content_type="application/javascript",
                                 headers={"Cache-Control": "no-cache"})
        return route.continue_()

    officer_phone.route("**/sw.js", old_worker)
    page = officer_phone.new_page()
    page.goto(f"{live_server}/offline")
    # The old app's registration: classic.
    page.evaluate("navigator.serviceWorker.getRegistrations().then(rs => Promise.all(rs.map(r => r.unregister())))")
    page.evaluate("navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => navigator.serviceWorker.ready)")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    served["classic"] = False
    page.close()

    worker = Worker(officer_phone, live_server)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    # The next start activates the waiting module worker before any work begins (the page reloads
    # itself when it takes over; a new page rather than page.reload(), which would race that reload).
    page.close()
    page = officer_phone.new_page()
    page.goto(f"{live_server}/m/")
    page.wait_for_selector("#view-home:not([hidden])")
    wait_until(page, "navigator.serviceWorker.ready.then(r => !r.waiting && !r.installing && !!r.active)")
    # The position taken at opening goes first, so the one point counted below is the one sampled offline.
    wait_opening_position_sent(page)
    # It is the module worker now: it answers with the sync engine loaded.
    officer_phone.set_offline(True)
    page.evaluate("Store.setMeta('trail_last', null).then(() => Sync.sampleTrail())")
    assert page.evaluate("Store.getMeta('trail').then(p => (p || []).length)") == 1
    assert "ddt-sync" in _registered_tags(page)  # a point stored offline asks for the wake too
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(TrackPoint))
    close_app_pages(officer_phone, worker)
    officer_phone.set_offline(False)

    def sent():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(TrackPoint)) == before + 1

    worker.sync_until(sent)


@pytest.mark.browser_side
def test_a_revoked_phone_is_wiped_by_the_worker_with_the_app_closed(app, live_server, officer_phone, photos):
    """The server's answer that concerns the whole phone reaches it with no page open too: a
    revoked phone's worker deletes IndexedDB (the drafts, the photos, the token) and unregisters
    itself."""
    from datetime import datetime, timezone

    from app.models import Device, User
    from app.services import devices as device_service

    worker = Worker(officer_phone, live_server)
    page, draft = _enrolled_offline_capture(app, live_server, officer_phone, photos)
    worker.registration_id()
    with app.app_context():
        device = db.session.scalar(select(Device).order_by(Device.id.desc()))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        device_service.set_status(device, "revoked", admin=admin, now=datetime.now(timezone.utc))
    close_app_pages(officer_phone, worker)
    officer_phone.set_offline(False)
    # Woken (again while the worker is still registered) until it has unregistered itself.
    worker.sync_until(lambda: not worker.live_registrations(), timeout=90)

    # Looked at from a page of the origin that runs no script of ours (app.js would register again).
    page = officer_phone.new_page()
    page.goto(f"{live_server}/manifest.webmanifest")
    wait_until(page, "navigator.serviceWorker.getRegistrations().then(rs => rs.length === 0)", timeout=60)
    assert page.evaluate("indexedDB.databases().then(dbs => dbs.map(d => d.name))") == []
    assert server_application(app, draft["uuid"]) is None

@pytest.mark.browser_side
def test_wifi_only_holds_the_photos_in_the_worker_on_cellular(app, live_server, officer_phone, photos):
    """"Send photos only on Wi-Fi" holds in the worker as in the page: on mobile data the manifest
    goes and the photos wait; on Wi-Fi the next wake sends them."""
    worker = Worker(officer_phone, live_server)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    page.check("#wifi-only")
    wait_until(page, "Store.getMeta('wifi_only')")
    officer_phone.set_offline(True)
    capture(page, photos)
    [draft] = drafts(page)
    seen: list[str] = []
    officer_phone.route("**/api/v1/**", lambda route: (seen.append(f"{route.request.method} {route.request.url.split('/api/v1/')[1]}"),
                                                      route.continue_()))
    close_app_pages(officer_phone, worker)

    def on_network(kind: str) -> None:
        # Chromium on a desktop has no connection type; a phone on mobile data reports "cellular".
        # Set in the running worker, as the page test sets it in the page.
        [sw] = [w for w in officer_phone.service_workers if w.url.endswith("/sw.js")]
        sw.evaluate(f"Object.defineProperty(navigator, 'connection', {{ value: {{ type: '{kind}' }}, configurable: true }})")

    officer_phone.set_offline(False)
    on_network("cellular")
    # The run ends with the returned to-dos; by then the manifest went and no photo byte did.
    worker.sync_until(lambda: "GET returned" in seen)
    assert "POST applications" in seen and not [s for s in seen if s.startswith("PATCH")]
    assert server_application(app, draft["uuid"])["state"] == "uploading"

    seen.clear()
    on_network("wifi")
    # The last photo's row commits a moment before the application moves on: wait for both.
    server = worker.sync_until(lambda: (s := _all_received(app, draft["uuid"], 5)) and s["state"] != "uploading" and s)
    assert server["state"] == "awaiting_director"
    assert [s for s in seen if s.startswith("PATCH")]


@pytest.mark.browser_side
def test_woken_with_the_app_on_screen_the_page_runs_the_queue_and_the_worker_does_not(
        app, live_server, officer_phone, photos):
    """The app on screen runs the queue itself when the worker is woken (its run shows the progress);
    the worker waits for its answer and sends nothing beside it."""
    worker = Worker(officer_phone, live_server)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    # Finished with signal, but the server out of reach: the item waits for its backoff, so only
    # the wake below sends it (neither "online" nor the timer's run, which keeps to the backoff).
    officer_phone.route("**/api/v1/applications", lambda route: route.abort("connectionrefused"))
    capture(page, photos)
    wait_until(page, "Store.allDrafts().then(d => d.length === 1 && d[0].attempts >= 1 && !d[0].server)")
    [draft] = drafts(page)
    officer_phone.unroute("**/api/v1/applications")
    senders: list[tuple[str, bool]] = []

    def note(route):
        senders.append((route.request.method, route.request.service_worker is not None))
        return route.continue_()

    officer_phone.route("**/api/v1/applications", note)
    officer_phone.route("**/api/v1/uploads/*", note)
    worker.fire_sync()
    wait_for(worker.blank, lambda: _all_received(app, draft["uuid"], 5))
    assert ("POST", False) in senders
    assert not [s for s in senders if s[1]], senders  # every request from the page, none from the worker
