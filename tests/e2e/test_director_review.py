"""The director's preliminary review on a phone, and a return answered from the officer's phone."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application
from app.storage import make_store
from tests.e2e.conftest import PHONE, login
from tests.e2e.officer import capture, drafts, enrol_phone, phone_photos, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def photos(tmp_path_factory):
    return phone_photos(tmp_path_factory.mktemp("camera"), count=3)


def _application(app, name: str) -> Application:
    with app.app_context():
        a = db.session.scalar(select(Application).join(Application.borrower).where(Application.borrower.has(name=name)))
        db.session.expunge_all()
        return a


def test_director_returns_officer_adds_a_photo_and_resubmits(app, live_server, officer_phone, phone, photos):
    officer = officer_phone.new_page()
    enrol_phone(app, officer, live_server)
    capture(officer, photos, name="钱多多", serial=654)
    wait_until(officer, "Store.allDrafts().then(ds => ds.length === 1 && ds[0].status === 'sent')", timeout=60)

    # The director, on his phone: the application is in his queue; he returns it with a reason.
    director = phone.new_page()
    login(director, live_server, "director1")
    director.click("#queue-director a:has-text('钱多多')")
    director.wait_for_selector("#decision")
    assert director.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # readable at 360 px
    director.fill("#decision textarea[name=comment]", "借据照片不清楚，请补拍一张")
    director.click("#decision button[value=director_return]")
    director.wait_for_selector(".flash-success")
    assert _application(app, "钱多多").state == "returned"

    # The officer's phone learns of it on its next contact and shows it as a to-do with the reason.
    officer.click("#send-now")
    officer.wait_for_selector("#list-todo .row-todo")
    assert "借据照片不清楚" in officer.inner_text("#list-todo")
    officer.click("#list-todo button")
    officer.wait_for_selector("#view-draft:not([hidden])")
    assert officer.is_disabled("#view-draft input[name=amount]")  # what was sent stays as sent
    item = officer.locator(".photo-item").nth(1)
    before = officer.locator(".thumb").count()
    item.locator("input[type=file]").set_input_files(str(photos[2]))
    wait_until(officer, f"document.querySelectorAll('.thumb').length > {before}")
    officer.fill("#view-draft textarea[name=resubmit_note]", "已补拍借据")
    officer.wait_for_selector("#missing li.ok")
    officer.click("#finish")
    wait_until(officer, "Store.allDrafts().then(ds => ds[0].status === 'sent' && ds[0].photos.every(p => p.confirmed))", timeout=60)
    new_photo = [p for p in drafts(officer)[0]["photos"] if p["sequence"] == 2]
    assert len(new_photo) == 1

    a = _application(app, "钱多多")
    assert a.state == "awaiting_director"
    with app.app_context():
        a = db.session.get(Application, a.id)
        added = [p for p in a.photos if p.uuid == new_photo[0]["uuid"]][0]
        with make_store(app.config).open(added.sha256) as f:
            assert hashlib.sha256(f.read()).hexdigest() == new_photo[0]["sha256"]
        assert [t.event for t in a.transitions][-2:] == ["resubmit", "photos_complete"]
        assert a.transitions[-2].comment == "已补拍借据"

    # Back in the director's queue, where he approves it.
    director.goto(live_server + "/")
    director.click("#queue-director a:has-text('钱多多')")
    assert "已补拍借据" in director.inner_text("#timeline")
    director.click("#decision button[value=director_approve]")
    director.wait_for_selector(".flash-success")
    assert _application(app, "钱多多").state == "awaiting_entry"
