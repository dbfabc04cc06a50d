"""Driving the officer's capture app in Chromium: enrol, capture, inspect IndexedDB."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Application, User
from app.services import devices as device_service
from app.storage import make_store
from tests.e2e.conftest import ensure_controlled, login, wait_for_state
from tests.sync_helpers import jpeg_bytes, valid_id_number

def phone_photos(folder: Path, count: int = 6, size=(2400, 1800)) -> list[Path]:
    """Real JPEGs as a phone camera would hand them over (bigger than what is uploaded)."""
    paths = []
    for i in range(count):
        path = folder / f"photo-{i}.jpg"
        if not path.exists():
            path.write_bytes(jpeg_bytes(*size, seed=500 + i, quality=92))
        paths.append(path)
    return paths


def enrol_phone(app, page, base: str, username: str = "officer1") -> None:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        officer = db.session.scalar(select(User).where(User.username == username))
        code = device_service.create_enrolment_code(officer, admin=admin, now=clock.now())
    login(page, base, username)
    page.goto(f"{base}/m/enrol")
    page.fill("input[name=code]", code)
    page.click("#enrol-form button[type=submit]")
    page.wait_for_url(f"{base}/m/?enrolled=1")
    page.wait_for_selector("#view-home:not([hidden])")
    ensure_controlled(page)
    page.wait_for_selector("#view-home:not([hidden])")


# Answers to the default household survey's required questions (app/domain/survey.DEFAULT_SURVEY).
SURVEY_ANSWERS = {
    "members": "5", "labourers": "3", "years_in_village": "30", "land_mu": "6.5", "livestock_heads": "4",
    "crop_income": "30000", "livestock_income": "8000", "wage_income": "12000", "business_income": "0",
    "living_expenses": "15000", "production_expenses": "9000", "house_type": "brick_concrete",
    "house_value": "150000", "has_vehicle": "yes", "formal_debt": "0", "informal_debt": "0",
    "yearly_debt_service": "0", "committee_rating": "good",
}


def fill_survey(page, answers: dict | None = None, *, box: str = "#survey-box") -> None:
    """Answer a household survey through its inputs (a section opened where needed): the draft's,
    or another form's (``box``: the village campaign's is ``#campaign-survey``)."""
    for key, value in {**SURVEY_ANSWERS, **(answers or {})}.items():
        q = page.locator(f"{box} .survey-q[data-question='{key}']")
        if not q.count():
            continue
        q.evaluate("el => { el.closest('details').open = true; }")
        if q.locator("select").count():
            q.locator("select").select_option(value)
        elif q.locator("input[type=radio]").count():
            q.locator(f"input[type=radio][value='{value}']").check()
        else:
            q.locator("input, textarea").first.fill(value)


def capture(page, photos: list[Path], *, name: str = "周大福", serial: int = 321, finish: bool = True,
            gps_shown: str = "104.09") -> None:
    """Fill a whole application through the form, as the officer does (``gps_shown``: part of the
    position the phone reports, shown once the fix is taken)."""
    page.click("#new-application")
    page.wait_for_selector("#view-draft:not([hidden])")
    page.fill("#view-draft input[name=name]", name)
    page.fill("#view-draft input[name=id_number]", valid_id_number(serial))
    page.fill("#view-draft input[name=phone]", "13800138000")
    page.fill("#view-draft input[name=village]", "红星村")
    page.fill("#view-draft input[name=address]", "红星村3组")
    items = page.locator(".photo-item")
    for i in range(items.count()):
        if " / 0" in items.nth(i).locator(".item-count").inner_text():  # "taken / required–most"
            continue  # a document the loan type takes but does not require (e.g. a guarantor's consent)
        before = page.locator(".thumb").count()
        items.nth(i).locator("input[type=file]").set_input_files(str(photos[i % len(photos)]))
        wait_for_state(page, f"document.querySelectorAll('.thumb').length > {before}")
    page.click("#take-gps")
    wait_for_state(page, f"document.querySelector('#gps-info').textContent.includes('{gps_shown}')")
    page.fill("#view-draft input[name=amount]", "8000")
    page.fill("#view-draft input[name=term_months]", "12")
    page.fill("#view-draft input[name=purpose]", "购买化肥种子")
    fill_survey(page)
    page.wait_for_selector("#missing li.ok")
    if finish:
        page.click("#finish")
        page.wait_for_selector("#view-home:not([hidden])")


def drafts(page) -> list[dict]:
    return page.evaluate("Store.allDrafts()")


def blob_count(page) -> int:
    return page.evaluate("""new Promise((resolve) => {
        const req = indexedDB.open('ddt');
        req.onsuccess = () => { const c = req.result.transaction('blobs').objectStore('blobs').count();
                                c.onsuccess = () => { resolve(c.result); req.result.close(); }; };
    })""")


# The officer tests' name for it: poll an (async) expression, e.g. one reading IndexedDB.
wait_until = wait_for_state


def server_application(app, uuid: str):
    """The application as the server holds it: state, borrower, amount, and each photo with the
    SHA-256 of the stored file (None until received); None when the server has no such application."""
    with app.app_context():
        db.session.expire_all()
        a = db.session.scalar(select(Application).where(Application.uuid == uuid))
        if a is None:
            return None
        store = make_store(app.config)
        photos = []
        for p in a.photos:
            stored = None
            if p.received_at is not None:
                with store.open(p.sha256) as f:
                    stored = hashlib.sha256(f.read()).hexdigest()
            photos.append({"uuid": p.uuid, "sha256": p.sha256, "stored_sha256": stored})
        return {"state": a.state, "photos": photos, "borrower": a.borrower.name, "amount": str(a.amount)}


def wait_opening_position_sent(page) -> None:
    """The app takes a first position when it opens and, with signal, sends it at once: wait until
    it has gone, so what a test samples next is all that is queued."""
    wait_until(page, "Promise.all([Store.getMeta('trail'), Store.getMeta('trail_last')])"
                     ".then(([points, last]) => !!last && !(points || []).length)")


def sample_trail_at(context, page, latitudes) -> None:
    """One trail sample at each latitude (longitude 104.09), the interval check set aside by clearing
    the bookmark of the last sample."""
    for lat in latitudes:
        context.set_geolocation({"latitude": lat, "longitude": 104.09, "accuracy": 10})
        page.evaluate("Store.setMeta('trail_last', null).then(() => Sync.sampleTrail())")


def open_campaign_offline(app, page, context, base: str) -> None:
    """Enrol the phone, let a run fetch the office's open campaigns, go offline and open the first
    campaign's household form."""
    enrol_phone(app, page, base)
    page.evaluate("Sync.run({ sendNow: true })")  # the run fetches the office's open campaigns
    wait_for_state(page, "Store.getMeta('campaigns').then((c) => !!c && c.length > 0)")
    page.wait_for_selector("#campaign-card #campaign-new-0")
    context.set_offline(True)
    page.click("#campaign-new-0")
    page.wait_for_selector("#view-campaign:not([hidden])")
