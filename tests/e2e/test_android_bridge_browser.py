"""The web app inside the officer's Android app, in real Chromium: a test double of the app
(tests/e2e/bridge_double.js) speaks the bridge protocol (android_wrapper/PROTOCOL.md) from the
example messages both sides' tests read (android_wrapper/protocol/examples/), and the page's one
adapter (static/js/bridge.js) drives the same screens and sync engine as in a plain browser.

Proven here: a SIM change is refused by the server and the officer and the admin see why; a
mocked fix flags the visit; the app's background trail reaches the server once, even when an
acknowledgement is lost; Wi-Fi only holds photos on cellular and sends them when Wi-Fi returns;
a hello from a frame, a malformed message and a missing bridge change nothing; in a plain
browser bridge.js is what it was, with no wait."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Borrower, Device, FollowUpTask, Loan, TrackPoint
from app.services import jobs
from tests.e2e.conftest import GPS, PHONE, login
from tests.e2e.officer import capture, drafts, enrol_phone, phone_photos, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "android_wrapper" / "protocol"
DOUBLE = (Path(__file__).with_name("bridge_double.js")).read_text(encoding="utf-8")
# The WebView's user agent with the app's suffix (PROTOCOL.md "What the page sends to the server").
APP_UA = ("Mozilla/5.0 (Linux; Android 9; Redmi 8A Build/PKQ1.190319.001; wv) AppleWebKit/537.36 "
          "(KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36 DaidaitongAndroid/1")


def load_examples() -> dict:
    """Every example message by file name. The examples carry a fixed date; the server takes phone
    times only within its window (30 days back, not ahead), so the times the double hands out are
    moved to the last minutes, keeping everything else (UUIDs, positions, flags) as written."""
    examples = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((PROTOCOL / "examples").glob("*.json"))}
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for name in ("reply-location", "reply-location-mock"):
        examples[name]["result"]["at"] = now.isoformat().replace("+00:00", "Z")
    for i, point in enumerate(examples["reply-trail-take"]["result"]["points"]):
        point["at"] = (now - timedelta(minutes=30 - 5 * i)).isoformat().replace("+00:00", "Z")
    return examples


def app_context(browser, setup: dict | None = None, *, double: bool = True):
    """A phone running the Android app: its user agent, a GPS fix, and the double of its bridge."""
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow",
                                  permissions=["geolocation"], geolocation=GPS, user_agent=APP_UA)
    if double:
        context.add_init_script(f"self.__bridgeDoubleExamples = {json.dumps(load_examples())};"
                                f"self.__bridgeDoubleSetup = {json.dumps(setup or {})};")
        context.add_init_script(DOUBLE)
    return context


@pytest.fixture()
def android(browser):
    context = app_context(browser)
    yield context
    context.close()


def _device(app, page) -> Device:
    uuid = page.evaluate("Store.getMeta('device').then(d => d.uuid)")
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid))
        db.session.expunge(device)
        return device


# --- a SIM change is refused ---------------------------------------------------------------------

@pytest.mark.parametrize("new_sim", ["reply-identity-other-sim", "reply-identity-no-sim"])
def test_a_sim_change_is_refused_and_the_officer_and_the_admin_see_why(app, live_server, android, desktop, new_sim,
                                                                       tmp_path):
    page = android.new_page()
    enrol_phone(app, page, live_server)
    examples = load_examples()
    # Enrolled with the SIM the app reported; the phone keeps it and sends it with every call.
    device = _device(app, page)
    assert device.sim_fingerprint and "460001234567890" not in device.sim_fingerprint  # a fingerprint, never the IMSI
    sim = json.loads(page.evaluate("Store.getMeta('device').then(d => d.sim)"))
    assert sim == {"v": 1, "present": True, "imsi": "460001234567890", "serial": "89860012345678901234",
                   "subscription_id": 1, "operator": "46000", "installation_id": "5b0f3c1e-8a52-4d9e-9a0c-2f1d7e6b4a10"}
    assert device.phone_number == "13800138000"  # the app's line number
    # Syncing works with it (a SIM-bound phone without the header would be held).
    wait_until(page, "Store.getMeta('last_sync')")
    page.evaluate("Store.setMeta('last_sync', null)")
    page.click("#send-now")
    wait_until(page, "Store.getMeta('last_sync')")
    assert page.is_hidden("#sim-note")

    # The officer swaps the SIM card (or takes it out): the app says so.
    page.evaluate(f"BridgeDouble.answer('identity', '{new_sim}')")
    page.evaluate(f"BridgeDouble.fire('event-sim-changed', BridgeDouble.examples['{new_sim}'].result)")
    wait_until(page, "Store.getMeta('device').then(d => JSON.parse(d.sim).present === %s)"
               % ("true" if new_sim.endswith("other-sim") else "false"))
    # The next call carries the new SIM; the server holds the phone and the officer reads why.
    page.wait_for_selector("#sim-note:not([hidden])")
    words = page.inner_text("#sim-note")
    assert "SIM" in words and "管理员" in words
    assert page.inner_text("#banner") == words
    with app.app_context():
        held = db.session.get(Device, device.id)
        assert held.sim_changed_at is not None and held.status == "active"
    # Nothing goes through meanwhile: an application captured now waits, it is not refused as wrong.
    capture(page, phone_photos(tmp_path, count=2, size=(800, 600)), serial=432, gps_shown="104.06")
    page.click("#send-now")
    wait_until(page, "Store.allDrafts().then(d => d.length === 1 && d[0].status === 'queued')")
    page.wait_for_selector("#sim-note:not([hidden])")
    [draft] = drafts(page)
    assert not draft.get("error") and not draft.get("server")

    # The admin sees the badge on the phones page.
    admin = desktop.new_page()
    login(admin, live_server, "admin")
    admin.goto(f"{live_server}/admin/devices")
    row = admin.locator(f"#device-{device.id}")
    assert row.locator(".sim-changed").is_visible()
    assert "SIM" in row.locator(".sim-changed").inner_text()
    assert examples[new_sim]["result"]["sim"]["changed"] is True  # the example says what happened


# --- a mocked fix is flagged -------------------------------------------------------------------

def test_a_visit_with_a_mocked_fix_is_flagged_with_that_reason(app, live_server, browser, tmp_path):
    examples = load_examples()
    mock = examples["reply-location-mock"]["result"]
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        # The home exactly where the mocked fix says the officer is: only the mock can flag the visit.
        loan.borrower.home_lat, loan.borrower.home_lon = mock["lat"], mock["lon"]
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id,
                                                            FollowUpTask.status == "open", FollowUpTask.kind == "revisit"))
        uuid = task.uuid
    context = app_context(browser, {"answers": {"location": "reply-location-mock"}})
    try:
        page = context.new_page()
        enrol_phone(app, page, live_server)
        row = f"#list-plan .row[data-task='{uuid}']"
        page.wait_for_selector(row)
        page.click(f"{row} button")
        page.wait_for_selector("#view-visit:not([hidden])")
        page.check("#view-visit input[name=met_borrower]")
        page.check("#view-visit input[name=loan_use_verified]")
        page.set_input_files("#visit-photo-input", str(phone_photos(tmp_path, count=1, size=(800, 600))[0]))
        page.wait_for_selector("#visit-thumbs .thumb img[src^='blob:']")
        page.click("#visit-gps")
        page.wait_for_selector("#visit-gps-info[data-distance]")
        assert "模拟" in page.inner_text("#visit-gps-info")  # the phone says so before the server does
        page.wait_for_selector("#visit-missing li.ok")
        page.click("#visit-finish")
        page.wait_for_selector("#view-home:not([hidden])")
        page.click("#send-now")
        wait_until(page, "Store.allReports().then(r => r.length === 1 && r[0].status === 'sent')")
        assert page.evaluate("BridgeDouble.requests('location').length") >= 1
        with app.app_context():
            done = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == uuid))
            assert done.status == "done"
            assert done.flags == ["mock_location"] and done.on_site is False and done.distance_m == 0
    finally:
        context.close()


# --- background trail points arrive once -----------------------------------------------------

def _server_points(app, uuids) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(TrackPoint.uuid, func.count()).where(TrackPoint.uuid.in_(uuids))
                                  .group_by(TrackPoint.uuid)).all()
    return dict(rows)


def test_the_apps_background_trail_arrives_once_even_when_an_ack_is_lost(app, live_server, android):
    app.config["TRAIL_HOURS"] = "07:00-19:00"
    app.config["TRAIL_INTERVAL_MIN"] = 5
    page = android.new_page()
    enrol_phone(app, page, live_server)
    # The page starts the app's trail service with the server's settings; it samples nothing itself.
    wait_until(page, "BridgeDouble.requests('trail.start').length >= 1")
    assert page.evaluate("BridgeDouble.requests('trail.start')")[-1]["args"] == {"interval_min": 5, "hours": "07:00-19:00"}
    assert page.evaluate("Store.getMeta('trail')") in (None, [])
    examples = load_examples()
    points = examples["reply-trail-take"]["result"]["points"]
    uuids = [p["uuid"] for p in points]

    # The service stored three points with the screen off; the next run takes, keeps, sends, acknowledges.
    page.evaluate(f"BridgeDouble.holdPoints({json.dumps(points)})")
    page.click("#send-now")
    wait_until(page, "BridgeDouble.held().length === 0")
    wait_until(page, "Store.getMeta('trail').then(t => (t || []).length === 0)")
    assert _server_points(app, uuids) == {u: 1 for u in uuids}
    with app.app_context():
        mock = db.session.scalar(select(TrackPoint.is_mock).where(TrackPoint.uuid == uuids[2]))
    assert mock is True  # the app's mock flag reaches the trail map

    # Two more; the acknowledgement is lost on the way: the app keeps them and offers them again.
    more = [dict(p, uuid=p["uuid"][:-2] + f"1{i}") for i, p in enumerate(points[:2])]
    page.evaluate(f"BridgeDouble.loseAcks(1); BridgeDouble.holdPoints({json.dumps(more)})")
    acks = page.evaluate("BridgeDouble.requests('trail.ack').length")
    page.click("#send-now")
    wait_until(page, f"BridgeDouble.requests('trail.ack').length > {acks}")
    wait_until(page, "Store.getMeta('trail').then(t => (t || []).length === 0)", timeout=40)
    assert page.evaluate("BridgeDouble.held().length") == 2  # not deleted in the app
    assert _server_points(app, [p["uuid"] for p in more]) == {p["uuid"]: 1 for p in more}
    page.click("#send-now")
    wait_until(page, "BridgeDouble.held().length === 0", timeout=40)
    wait_until(page, "Store.getMeta('trail').then(t => (t || []).length === 0)")
    everything = uuids + [p["uuid"] for p in more]
    assert _server_points(app, everything) == {u: 1 for u in everything}
    # Every acknowledgement came when the points were already in the page's queue, never before.
    assert [r["all_queued"] for r in page.evaluate("BridgeDouble.requests('trail.ack')")] == [True, True, True]

    # The app's job wakes the page (sync_wake) with one more point waiting: the page runs its queue
    # and says when it is done.
    last = dict(points[0], uuid=points[0]["uuid"][:-2] + "20")
    page.evaluate(f"BridgeDouble.holdPoints({json.dumps([last])})")
    page.evaluate("BridgeDouble.fire('event-sync-wake')")
    wait_until(page, "BridgeDouble.requests('sync.done').length === 1")
    assert page.evaluate("BridgeDouble.requests('sync.done')[0].args") == {"ok": True}
    assert page.evaluate("BridgeDouble.held().length") == 0
    assert _server_points(app, [last["uuid"]]) == {last["uuid"]: 1}


# --- Wi-Fi only holds photos on cellular ---------------------------------------------------------

def test_wifi_only_holds_photos_on_cellular_and_sends_them_on_wifi(app, live_server, browser, tmp_path):
    context = app_context(browser, {"answers": {"network": "reply-network-cellular"}})
    try:
        page = context.new_page()
        enrol_phone(app, page, live_server)
        assert page.evaluate("Bridge.onWifi()") is False  # the app's network type, not a guess
        page.check("#wifi-only")
        patches = []
        context.route("**/api/v1/uploads/*", lambda route: (patches.append(route.request.method), route.continue_()))
        context.set_offline(True)
        capture(page, phone_photos(tmp_path, count=3, size=(1200, 900)), gps_shown="104.06")
        context.set_offline(False)
        wait_until(page, "Store.allDrafts().then(d => !!(d[0].server && d[0].waiting_wifi))")
        assert "PATCH" not in patches  # the manifest went, no photo byte over mobile data
        assert "等待Wi-Fi" in page.inner_text("#list-outbox")
        # The phone joins Wi-Fi: the app tells the page, which sends the photos.
        wifi = load_examples()["reply-network-wifi"]["result"]
        page.evaluate(f"BridgeDouble.fire('event-network-changed', {json.dumps(wifi)})")
        page.wait_for_selector("#list-sent .row", timeout=30000)
        assert "PATCH" in patches
        [draft] = drafts(page)
        assert draft["status"] == "sent" and all(p["confirmed"] for p in draft["photos"])
    finally:
        context.close()


# --- bad input: frames, malformed messages, no bridge --------------------------------------------

@pytest.mark.browser_side
def test_a_hello_from_a_frame_is_ignored(app, live_server, browser):
    context = app_context(browser, {"holdHello": True})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/m/")
        page.wait_for_load_state("load")
        page.evaluate("""new Promise((resolve) => {
            const frame = document.createElement('iframe');
            frame.src = 'about:blank';
            frame.onload = resolve;
            document.body.appendChild(frame);
        })""")
        frame = page.frames[1]
        # The frame offers a port of its own with a well-formed hello, and records what it would be told.
        frame.evaluate(f"""(() => {{
            const channel = new MessageChannel();
            window.heard = [];
            channel.port1.onmessage = (e) => window.heard.push(e.data);
            parent.postMessage(JSON.stringify({json.dumps(load_examples()['hello'])}), '*', [channel.port2]);
        }})()""")
        # Messages to one window arrive in order: once the page's own marker is delivered, so was the frame's hello.
        page.evaluate("""new Promise((resolve) => {
            window.addEventListener('message', function seen(e) { if (e.data === 'marker') resolve(); });
            window.postMessage('marker', '*');
        })""")
        assert page.evaluate("Bridge.app") is None
        page.evaluate("BridgeDouble.sayHello()")
        wait_until(page, "Bridge.ready().then(() => Bridge.app && Bridge.app.package)")
        assert page.evaluate("Bridge.kind") == "android"
        assert page.evaluate("Bridge.identity().then(i => i.sim.imsi)") == "460001234567890"
        assert frame.evaluate("window.heard") == []  # nothing was ever sent to the frame's port
    finally:
        context.close()


@pytest.mark.browser_side
def test_malformed_and_unknown_messages_are_ignored_without_breaking_the_page(app, live_server, android):
    page = android.new_page()
    logs = []
    page.on("console", lambda m: logs.append(m.text))
    page.on("pageerror", lambda e: logs.append("PAGE ERROR " + str(e)))
    page.goto(f"{live_server}/m/")
    wait_until(page, "Bridge.ready().then(() => Bridge.kind === 'android' && Bridge.onWifi() === true)")
    bad = ["not json", "[1,2,3]", json.dumps({"v": 2, "type": "event", "event": "network_changed", "data": {}}),
           json.dumps({"v": 1, "type": "event", "event": "camera_exploded", "data": {}}),
           json.dumps({"v": 1, "type": "event", "event": "network_changed", "data": {"type": "satellite"}}),
           json.dumps({"v": 1, "id": "p9999", "ok": True, "result": {}}),
           json.dumps({"v": 1, "id": "p1", "ok": "yes"})]
    for raw in bad:
        page.evaluate(f"BridgeDouble.post({json.dumps(raw)})")
    # A reply with the right id but the wrong shape is refused too: the request gets no answer, not garbage.
    page.evaluate("BridgeDouble.answer('location', 'reply-network-wifi')")
    assert page.evaluate("Bridge.getPosition({timeout: 1000}).then(() => 'answered', (e) => e.code)") == "timeout"
    page.evaluate("BridgeDouble.answer('location', 'reply-location')")
    assert page.evaluate("Bridge.getPosition().then(p => p.provider + ' ' + p.is_mock)") == "gps false"
    page.evaluate("BridgeDouble.fire('event-network-changed')")  # a good event still goes through
    wait_until(page, "Bridge.onWifi() === false")
    ignored = [line for line in logs if line.startswith("bridge: ignored")]
    assert len(ignored) == len(bad) + 1
    assert not [line for line in logs if line.startswith("PAGE ERROR")]
    assert page.is_visible("#view-unenrolled") or page.is_visible("#view-home")


@pytest.mark.browser_side
def test_inside_the_app_without_a_bridge_the_page_falls_back_to_web_apis(app, live_server, browser):
    context = app_context(browser, double=False)
    try:
        page = context.new_page()
        logs = []
        page.on("console", lambda m: logs.append(m.text))
        page.goto(f"{live_server}/m/")
        assert page.evaluate("Bridge.kind") == "android"  # waiting for the app's hello
        wait_until(page, "Bridge.ready().then(() => Bridge.kind === 'web')")
        assert page.evaluate("Bridge.getPosition().then(p => [p.lat, p.is_mock])") == [GPS["latitude"], False]
        assert page.evaluate("Bridge.simHeader()") == ""
        assert len([line for line in logs if line.startswith("bridge: no bridge")]) == 1
        page.wait_for_selector("#view-unenrolled:not([hidden])")
    finally:
        context.close()


@pytest.mark.browser_side
def test_in_a_plain_browser_bridge_js_is_what_it_was_with_no_wait(app, live_server, officer_phone):
    page = officer_phone.new_page()
    page.goto(f"{live_server}/m/")
    assert page.evaluate("Bridge.kind") == "web"
    # Ready at once: resolved before a zero timeout fires.
    assert page.evaluate("""Promise.race([Bridge.ready().then(() => 'ready'),
                                          new Promise((r) => setTimeout(() => r('waiting'), 0))])""") == "ready"
    pos = page.evaluate("Bridge.getPosition()")
    assert (pos["lat"], pos["lon"], pos["accuracy_m"], pos["is_mock"]) == (GPS["latitude"], GPS["longitude"], 12, False)
    ident = page.evaluate("Bridge.identity()")
    assert ident["kind"] == "web" and ident["phone_number"] == "" and ident["sim"] is None
    assert page.evaluate("[Bridge.simHeader(), Bridge.onWifi()]") == ["", None]
    assert page.evaluate("Promise.all([Bridge.trailTake(10), Bridge.trailStart({}), Bridge.version()])") == [[], None, None]


# --- the page's validator against the protocol's examples -------------------------------------

REPLY_TYPES = {
    "reply-identity-full": "identity", "reply-identity-no-sim": "identity", "reply-identity-other-sim": "identity",
    "reply-identity-restricted": "identity", "reply-location": "location", "reply-location-mock": "location",
    "reply-location-denied": "location", "reply-network-cellular": "network", "reply-network-wifi": "network",
    "reply-version": "version", "reply-trail-start": "trail.start", "reply-trail-stop": "trail.stop",
    "reply-trail-take": "trail.take", "reply-trail-ack": "trail.ack", "reply-update-check": "update.check",
    "reply-update-install": "update.install", "reply-sync-done": "sync.done",
    "reply-error-bad-message": "identity", "reply-error-unknown-type": "identity", "reply-error-unsupported-version": "identity",
}

GOOD_LOCATION = {"v": 1, "id": "q2", "ok": True, "result": {"lat": 30.6, "lon": 104.0, "accuracy_m": 12,
                                                            "at": "2026-12-01T02:30:00Z", "provider": "gps", "is_mock": False}}


def _without(message: dict, *path: str) -> dict:
    copy = json.loads(json.dumps(message))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


def _with(message: dict, value, *path: str) -> dict:
    copy = json.loads(json.dumps(message))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


# Replies and events the page must refuse: (request type the reply would answer, message).
REFUSED = [
    ("location", _without(GOOD_LOCATION, "v")),
    ("location", _with(GOOD_LOCATION, 2, "v")),
    ("location", _without(GOOD_LOCATION, "ok")),
    ("location", _without(GOOD_LOCATION, "result")),
    ("location", _with(GOOD_LOCATION, [1, 2], "result")),
    ("location", _with(GOOD_LOCATION, "a" * 65, "id")),
    ("location", _with(GOOD_LOCATION, "../x", "id")),
    ("location", _with(GOOD_LOCATION, "30.6", "result", "lat")),
    ("location", _with(GOOD_LOCATION, 91, "result", "lat")),
    ("location", _with(GOOD_LOCATION, "false", "result", "is_mock")),
    ("location", _without(GOOD_LOCATION, "result", "at")),
    ("location", {"v": 1, "id": "q2", "ok": False, "error": {"code": "permission_denied"}}),
    ("location", {"v": 1, "id": "q2", "ok": False}),
    ("location", {"v": 1, "id": "q2", "ok": True, "result": {}, "error": {"code": "x", "message": "y"}}),
    ("identity", {"v": 1, "id": "q1", "ok": True, "result": {"installation_id": "x", "restricted": []}}),
    ("network", {"v": 1, "id": "q3", "ok": True, "result": {"type": "satellite", "metered": True, "connected": True}}),
    ("trail.take", {"v": 1, "id": "q7", "ok": True, "result": {"points": [{"uuid": "../../etc", "at": "2026-12-01T01:00:00Z",
                                                                           "lat": 1, "lon": 2, "accuracy_m": 5, "is_mock": False}]}}),
    ("trail.take", {"v": 1, "id": "q7", "ok": True, "result": {"points": "all"}}),
    ("trail.ack", {"v": 1, "id": "q8", "ok": True, "result": {"removed": "3"}}),
    ("event", {"v": 1, "type": "event", "event": "camera_exploded", "data": {}}),
    ("event", {"v": 1, "type": "event", "event": "sim_changed", "data": {"sim": None}}),
    ("event", {"v": 1, "type": "event", "event": "trail_points", "data": {"waiting": "3"}}),
    ("event", {"v": 1, "type": "event", "event": "sync_wake"}),
    ("hello", {"v": 1, "type": "hello", "app": {"package": "com.daidaitong.officer"}}),
    ("hello", {"v": 1, "type": "hello"}),
    ("any", "x" * 70000),
]


@pytest.mark.browser_side
def test_every_example_the_double_sends_is_accepted_and_every_bad_shape_refused(app, live_server, phone):
    page = phone.new_page()
    page.goto(f"{live_server}/m/")
    examples = load_examples()
    sent_by_app = {n: m for n, m in examples.items() if not n.startswith("request-")}
    assert set(REPLY_TYPES) == {n for n in sent_by_app if n.startswith("reply-")}  # a new example needs a type here
    for name, message in sent_by_app.items():
        kind = page.evaluate("(m) => Bridge.classify(JSON.stringify(m))", message)
        expected = "reply" if name.startswith("reply-") else name.split("-")[0]
        assert kind.get("kind") == expected, (name, kind)
        if name.startswith("reply-"):
            assert page.evaluate("([t, m]) => Bridge.checkReply(t, JSON.stringify(m))", [REPLY_TYPES[name], message]) is None, name
    # The page never accepts what only the page sends (requests), nor the protocol's invalid messages.
    for path in sorted((PROTOCOL / "invalid").iterdir()) + sorted((PROTOCOL / "examples").glob("request-*.json")):
        kind = page.evaluate("(raw) => Bridge.classify(raw)", path.read_text(encoding="utf-8"))
        assert "error" in kind, (path.name, kind)
    for type_, message in REFUSED:
        raw = message if isinstance(message, str) else json.dumps(message)
        if type_ in ("event", "hello", "any"):
            assert "error" in page.evaluate("(raw) => Bridge.classify(raw)", raw), message
        else:
            assert page.evaluate("([t, raw]) => Bridge.checkReply(t, raw)", [type_, raw]) is not None, message


# --- the same class of refusal in any browser: the whole phone refused, not the item ---------------

@pytest.mark.parametrize("refusal, words", [("password_change_required", "设置新密码"), ("user_disabled", "账号已停用")])
def test_a_refusal_of_the_whole_phone_keeps_the_application_queued_and_says_why(app, live_server, officer_phone, tmp_path,
                                                                                refusal, words):
    from app.models import User

    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)

    def officer(**values):
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == "officer1"))
            for name, value in values.items():
                setattr(user, name, value)
            db.session.commit()

    # The admin resets the officer's password (or disables him) while he is out with the phone.
    officer(**({"must_change_password": True} if refusal == "password_change_required" else {"is_enabled": False}))
    capture(page, phone_photos(tmp_path, count=2, size=(800, 600)), serial=433)
    page.click("#send-now")
    page.wait_for_selector("#banner .flash-error")
    assert words in page.inner_text("#banner")
    # Not the application's fault: it waits in the outbox, not back among the drafts as refused.
    [draft] = drafts(page)
    assert draft["status"] == "queued" and not draft.get("error") and not draft.get("server")
    # Once he has done what the message says, the next run sends it.
    officer(**({"must_change_password": False} if refusal == "password_change_required" else {"is_enabled": True}))
    page.click("#send-now")
    page.wait_for_selector("#list-sent .row", timeout=30000)
