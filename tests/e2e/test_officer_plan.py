"""The officer's daily work plan on the phone, in real Chromium: downloaded once a day, kept for
offline use, visits reported offline with photos and GPS, sent when there is signal, and the
server's on-site verdict shown on the phone."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.geo import distance_m
from app.extensions import db
from app.models import Borrower, FollowUpTask, Loan, TaskPhoto
from app.services import jobs
from app.storage import make_store
from tests.e2e.conftest import GPS, PHONE, login
from tests.e2e.officer import blob_count, enrol_phone, phone_photos, wait_until

pytestmark = pytest.mark.e2e

HOME = (GPS["latitude"], GPS["longitude"])


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("visit-camera"), count=2)


def _at(north_m: float) -> dict:
    """A fix ``north_m`` metres north of the borrower's home (1° of latitude ≈ 111.2 km)."""
    return {"latitude": HOME[0] + north_m / 111_195, "longitude": HOME[1], "accuracy": 12}


def _tasks(app) -> dict[str, str]:
    """The demo's overdue 冯十二 loan, its home at a known point, and its tasks from the daily job."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan.borrower.home_lat, loan.borrower.home_lon = HOME
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        rows = db.session.scalars(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id, FollowUpTask.status == "open")).all()
        by_kind = {t.kind: t.uuid for t in rows}
    assert {"revisit", "collection"} <= set(by_kind)
    return by_kind


def _server_task(app, uuid: str) -> dict:
    with app.app_context():
        t = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == uuid))
        store = make_store(app.config)
        photos = []
        for p in db.session.scalars(select(TaskPhoto).where(TaskPhoto.task_id == t.id)):
            with store.open(p.sha256) as f:
                photos.append({"uuid": p.uuid, "sha256": p.sha256, "stored_sha256": hashlib.sha256(f.read()).hexdigest()})
        return {"id": t.id, "status": t.status, "on_site": t.on_site, "distance_m": t.distance_m, "flags": list(t.flags or []),
                "outcome": dict(t.outcome or {}), "report_uuid": t.report_uuid, "photos": photos}


def _row(uuid: str) -> str:
    return f"#list-plan .row[data-task='{uuid}']"


def _reports(page) -> list[dict]:
    return page.evaluate("Store.allReports()")


def _visit(page, officer_phone, uuid: str, *, north_m: float, photo=None, fill=None, checks=()) -> None:
    """Open the task from the plan, fill the report, record GPS ``north_m`` from the home, finish."""
    page.click(f"{_row(uuid)} button")
    page.wait_for_selector("#view-visit:not([hidden])")
    page.check("#view-visit input[name=met_borrower]")
    for name, value in (fill or {}).items():
        page.fill(f"#view-visit [name={name}]", value)
    for name in checks:
        page.check(f"#view-visit input[name={name}]")
    if photo is not None:
        page.set_input_files("#visit-photo-input", str(photo))
        page.wait_for_selector("#visit-thumbs .thumb img[src^='blob:']")
    assert page.is_disabled("#visit-finish")  # no GPS yet
    officer_phone.set_geolocation(_at(north_m))
    page.click("#visit-gps")
    page.wait_for_selector("#visit-gps-info[data-distance]")
    # The phone's own haversine, before the server's: the same figure to the metre.
    shown = int(page.get_attribute("#visit-gps-info", "data-distance"))
    assert abs(shown - distance_m(*HOME, *(_at(north_m)["latitude"], HOME[1]))) <= 1
    page.wait_for_selector("#visit-missing li.ok")
    page.click("#visit-finish")
    page.wait_for_selector("#view-home:not([hidden])")


def test_plan_offline_visit_verified_on_site_and_a_far_one_flagged(app, live_server, officer_phone, phone, photos):
    tasks = _tasks(app)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    # The first sync of the day brings the plan down.
    wait_until(page, "Store.getMeta('plan').then(p => !!p && p.tasks.length >= 2)")
    plan = page.evaluate("Store.getMeta('plan')")
    assert plan["settings"]["visit_radius_m"] == 300
    page.wait_for_selector(_row(tasks["revisit"]))
    rows = page.locator("#list-plan .row.task")
    assert rows.count() == len(plan["tasks"])
    dues = [rows.nth(i).get_attribute("data-task") for i in range(rows.count())]
    assert dues == [t["uuid"] for t in sorted(plan["tasks"], key=lambda t: t["due_date"])]
    revisit = page.locator(_row(tasks["revisit"]))
    assert "冯十二" in revisit.inner_text() and revisit.locator(".task-due.overdue").count() == 1

    # "Locate me": the straight-line distance to the home, computed on the phone.
    officer_phone.set_geolocation(_at(1500))
    page.click("#locate-me")
    page.wait_for_selector(f"{_row(tasks['revisit'])}[data-distance]")
    assert abs(int(revisit.get_attribute("data-distance")) - 1500) <= 2
    assert "1.5" in revisit.inner_text()

    # No signal, app opened again: the plan is still there.
    officer_phone.set_offline(True)
    page.reload()
    page.wait_for_selector("#view-home:not([hidden])")
    page.wait_for_selector(_row(tasks["revisit"]))
    assert page.locator("#list-plan .row.task").count() == len(plan["tasks"])

    # A revisit, offline: loan use is asked, a promise is not; one photo; GPS 40 m from the home.
    page.click(f"{_row(tasks['revisit'])} button")
    page.wait_for_selector("#view-visit:not([hidden])")
    assert page.is_visible("#visit-loan-use") and page.is_hidden("#visit-promise")
    page.click("#visit-back")
    page.wait_for_selector("#view-home:not([hidden])")
    assert _reports(page) == []  # an untouched form leaves nothing behind
    _visit(page, officer_phone, tasks["revisit"], north_m=40, photo=photos[0],
           fill={"notes": "猪圈已建好，饲料已购"}, checks=["loan_use_verified"])
    [report] = _reports(page)
    assert report["status"] == "queued" and blob_count(page) == 1
    assert report["outcome"]["paid_amount"] == "0.00" and report["outcome"]["loan_use_verified"] is True
    page.wait_for_selector(f"{_row(tasks['revisit'])}.task-waiting")
    assert page.locator("#sync-badge").inner_text() == "1"
    # Still there after another reload without signal.
    page.reload()
    page.wait_for_selector(f"{_row(tasks['revisit'])}.task-waiting")
    assert _server_task(app, tasks["revisit"])["status"] == "open"

    officer_phone.set_offline(False)  # "online" fires and the queue runs
    page.wait_for_selector(f"{_row(tasks['revisit'])}.task-verified", timeout=30000)
    server = _server_task(app, tasks["revisit"])
    assert server["status"] == "done" and server["on_site"] is True and server["flags"] == []
    assert 35 <= server["distance_m"] <= 45
    assert server["report_uuid"] == report["uuid"]
    assert server["outcome"]["met_borrower"] is True and server["outcome"]["notes"] == "猪圈已建好，饲料已购"
    assert server["outcome"]["loan_use_verified"] is True
    [photo] = server["photos"]
    assert photo["uuid"] == report["photos"][0]["uuid"]
    assert photo["sha256"] == report["photos"][0]["sha256"] == photo["stored_sha256"]
    # Only after the 200 did the phone let go of the photo; the stored plan has the task done.
    assert blob_count(page) == 0
    [sent] = _reports(page)
    assert sent["status"] == "sent" and sent["result"]["on_site"] is True
    stored = {t["uuid"]: t for t in page.evaluate("Store.getMeta('plan')")["tasks"]}
    assert stored[tasks["revisit"]]["status"] == "done"
    assert page.get_attribute(_row(tasks["revisit"]), "data-server-distance") == str(server["distance_m"])
    assert page.locator("#sync-badge").inner_text() == "0"

    # A collection visit 2 km from the home, with a payment and a promise: sent at once, flagged.
    promise = (jobs.business_today() + timedelta(days=3)).isoformat()
    page.click(f"{_row(tasks['collection'])} button")
    page.wait_for_selector("#view-visit:not([hidden])")
    assert page.is_visible("#visit-promise") and page.is_hidden("#visit-loan-use")
    page.click("#visit-back")
    _visit(page, officer_phone, tasks["collection"], north_m=2000,
           fill={"paid_amount": "200", "promise_date": promise, "promise_amount": "500.5"})
    page.wait_for_selector(f"{_row(tasks['collection'])}.task-flagged", timeout=30000)
    server = _server_task(app, tasks["collection"])
    assert server["status"] == "done" and server["on_site"] is False and "far" in server["flags"]
    assert 1990 <= server["distance_m"] <= 2010
    assert server["outcome"]["paid_amount"] == "200.00"
    assert server["outcome"]["promise_date"] == promise and server["outcome"]["promise_amount"] == "500.50"
    row = page.locator(_row(tasks["collection"]))
    assert row.get_attribute("data-server-distance") == str(server["distance_m"])
    assert "2.0" in row.locator(".task-status").inner_text()
    # Done tasks sort after the open ones.
    order = [rows.nth(i).get_attribute("data-task") for i in range(rows.count())]
    assert set(order[-2:]) == {tasks["revisit"], tasks["collection"]}

    # The office director, in his phone's browser, reads both visits and the officer's counts.
    verified, flagged = _server_task(app, tasks["revisit"]), server
    director = phone.new_page()
    login(director, live_server, "director1")
    director.goto(f"{live_server}/tasks/?status=done")
    assert director.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ok = director.locator(f"#task-{verified['id']} .tag.ok")
    assert "冯十二" in director.locator(f"#task-{verified['id']}").inner_text()
    assert ok.count() == 1 and str(verified["distance_m"]) in ok.inner_text()
    warn = director.locator(f"#task-{flagged['id']} .tag.warn")
    assert warn.count() == 1 and str(flagged["distance_m"]) in warn.inner_text()
    assert "离住宅太远" in warn.inner_text()  # the reason in words, not the code "far"
    assert "猪圈已建好，饲料已购" in director.locator(f"#task-{verified['id']}").inner_text()
    cells = director.locator("#visit-report tbody tr:has-text('李明') td").all_inner_texts()
    assert cells == ["李明", "2", "1", "1"]  # visits, verified on site, flagged


def test_a_refused_report_is_corrected_and_a_closed_task_leaves_the_plan(app, live_server, officer_phone, photos):
    tasks = _tasks(app)
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    wait_until(page, "Store.getMeta('plan').then(p => !!p && p.tasks.length >= 2)")
    page.wait_for_selector(_row(tasks["revisit"]))

    # 422: the report stays on the phone with the server's words beside the field; corrected, it goes.
    refused = {"n": 0}

    def refuse_once(route):
        if refused["n"] == 0:
            refused["n"] += 1
            return route.fulfill(status=422, json={
                "error": "invalid_report", "message": "Some details of the visit need correcting.",
                "fields": {"notes": "Say what the money was used for."}})
        return route.continue_()

    officer_phone.route(f"**/api/v1/tasks/{tasks['revisit']}/report", refuse_once)
    _visit(page, officer_phone, tasks["revisit"], north_m=20, photo=photos[1])
    page.wait_for_selector(f"{_row(tasks['revisit'])}.row-error", timeout=30000)
    [report] = _reports(page)
    assert report["status"] == "error" and report["needs_fix"] and blob_count(page) == 1
    assert "Say what the money was used for." in page.locator(_row(tasks["revisit"])).inner_text()
    page.click(f"{_row(tasks['revisit'])} button")
    page.wait_for_selector("#view-visit:not([hidden])")
    assert page.get_attribute("#view-visit textarea[name=notes]", "aria-invalid") == "true"
    # The photo and the GPS fix of the visit are still there: only the notes need writing.
    assert page.locator("#visit-thumbs .thumb").count() == 1
    assert page.get_attribute("#visit-gps-info", "data-distance") == "20"
    page.fill("#view-visit textarea[name=notes]", "买了两头猪仔")
    page.click("#visit-finish")
    page.wait_for_selector(f"{_row(tasks['revisit'])}.task-verified", timeout=30000)
    server = _server_task(app, tasks["revisit"])
    assert server["report_uuid"] == report["uuid"] and server["outcome"]["notes"] == "买了两头猪仔"
    assert len(server["photos"]) == 1 and blob_count(page) == 0

    # 409: the director reassigned the collection task meanwhile. Off the plan, with a note.
    with app.app_context():
        t = db.session.scalar(select(FollowUpTask).where(FollowUpTask.uuid == tasks["collection"]))
        t.status = "cancelled"
        db.session.commit()
    _visit(page, officer_phone, tasks["collection"], north_m=10, fill={"paid_amount": "50"})
    page.wait_for_selector(f"{_row(tasks['collection'])}.task-closed", timeout=30000)
    assert tasks["collection"] not in [t["uuid"] for t in page.evaluate("Store.getMeta('plan')")["tasks"]]
    closed = [r for r in _reports(page) if r["task_uuid"] == tasks["collection"]]
    assert closed[0]["status"] == "closed" and closed[0]["error"]["code"] == "task_closed"
    assert _server_task(app, tasks["collection"])["status"] == "cancelled"
    page.once("dialog", lambda d: d.accept())
    page.click(f"{_row(tasks['collection'])} button")
    page.wait_for_selector(_row(tasks["collection"]), state="detached")
    assert [r["task_uuid"] for r in _reports(page)] == [tasks["revisit"]]


def test_upgrading_the_phone_database_keeps_version_1_drafts(app, live_server, officer_phone):
    """store.js version 2 adds the reports store, version 3 the collections store, version 4 the village surveys store;
    what a version-1 phone held comes through."""
    page = officer_phone.new_page()
    page.goto(f"{live_server}/offline")
    page.evaluate("""() => new Promise((resolve, reject) => {
        const req = indexedDB.open('ddt', 1);
        req.onupgradeneeded = () => {
            const db = req.result;
            db.createObjectStore('drafts', { keyPath: 'uuid' });
            db.createObjectStore('blobs');
            db.createObjectStore('meta');
        };
        req.onsuccess = () => {
            const db = req.result, t = db.transaction(['drafts', 'blobs'], 'readwrite');
            t.objectStore('drafts').put({ uuid: '6f1c1d5e-0000-4000-8000-000000000001', status: 'draft',
                created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
                borrower: { mode: 'new', uuid: '6f1c1d5e-0000-4000-8000-000000000002', name: '老草稿', id_number: '',
                            phone: '', village: '', address: '' },
                product_id: null, photos: [], gps: null, gps_note: '', amount: '', term_months: '', purpose: '' });
            t.objectStore('blobs').put(new Blob(['x']), 'some-photo');
            t.oncomplete = () => { db.close(); resolve(); };
            t.onerror = () => reject(t.error);
        };
    })""")
    enrol_phone(app, page, live_server)
    page.wait_for_selector("#list-drafts .row")
    assert "老草稿" in page.locator("#list-drafts").inner_text()
    assert blob_count(page) == 1
    info = page.evaluate("""new Promise((resolve) => {
        const req = indexedDB.open('ddt');
        req.onsuccess = () => { const db = req.result; resolve({ version: db.version, stores: [...db.objectStoreNames] }); db.close(); };
    })""")
    assert info["version"] == 4 and set(info["stores"]) == {"drafts", "blobs", "meta", "reports", "collections", "surveys"}
