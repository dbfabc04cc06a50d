"""HQ data entry over HTTP: save, complete with the checks, screenshots of regions, OCR off the request thread."""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.domain.money import to_capitals
from app.extensions import db
from app.models import Application, AuditLog, Borrower, OcrRun, Screenshot
from app.services.demo import demo_entry
from app.storage import make_store
from tests.conftest import Auth
from tests.support.entry_photos import attach_form_photo


def _app(app, name: str = "王五") -> Application:
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == name))
        db.session.expunge(a)
        return a


def _fresh(app, app_id: int) -> dict:
    with app.app_context():
        a = db.session.get(Application, app_id)
        return {"state": a.state, "version": a.version, "amount": a.amount, "entry": a.entry_data,
                "events": [t.event for t in a.transitions]}


def _complete_values(app, app_id: int, **changes: str) -> dict:
    with app.app_context():
        values = demo_entry(db.session.get(Application, app_id))
    values.update(changes)
    return values


def test_the_clerk_sees_the_form_prefilled_from_the_capture(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    page = client.get(f"/applications/{a.id}/entry").get_data(as_text=True)
    assert 'name="household_size"' in page and 'value="王五"' in page
    assert 'name="amount_in_capitals" value=""' in page  # always keyed in from the IOU
    assert "data-viewer" in page


def test_other_roles_cannot_open_data_entry(app, demo):
    a = _app(app)
    for user in ("reviewer1", "officer2", "director1"):
        client = app.test_client()
        Auth(client).login(user)
        assert client.get(f"/applications/{a.id}/entry").status_code == 403


def test_a_draft_is_saved_as_typed_without_moving_on(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "name": "王五",
                                                  "household_size": "abc", "amount": "20000"})
    assert r.status_code == 200
    after = _fresh(app, a.id)
    assert after["state"] == "awaiting_entry"
    assert after["entry"]["values"]["household_size"] == "abc"  # kept exactly as typed
    assert after["entry"]["complete"] is False


def test_completion_needs_figures_and_capitals_to_agree_and_keeps_the_typing(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    values = _complete_values(app, a.id, amount_in_capitals="贰万伍仟元整")
    r = auth.post(f"/applications/{a.id}/entry", {**values, "version": a.version, "action": "complete"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "大写金额" in page or "25,000.00" in page
    assert 'value="贰万伍仟元整"' in page
    after = _fresh(app, a.id)
    assert after["state"] == "awaiting_entry"
    assert after["entry"]["values"]["amount_in_capitals"] == "贰万伍仟元整"


def test_a_complete_entry_moves_to_first_level_review_with_the_keyed_terms(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    values = _complete_values(app, a.id, amount="18,000", amount_in_capitals=to_capitals(__import__("decimal").Decimal("18000")))
    r = auth.post(f"/applications/{a.id}/entry", {**values, "version": a.version, "action": "complete"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    after = _fresh(app, a.id)
    assert after["state"] == "awaiting_l1"
    assert str(after["amount"]) == "18000.00"
    assert after["events"][-1] == "entry_complete"
    with app.app_context():
        changed = db.session.scalar(select(AuditLog).where(AuditLog.action == "entry_changed_capture"))
        assert changed is not None and "amount" in str(changed.detail)


def test_completion_through_the_bare_workflow_button_is_refused(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/act", {"event": "entry_complete", "version": a.version})
    assert r.status_code == 303
    assert _fresh(app, a.id)["state"] == "awaiting_entry"
    assert "录入" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_a_stale_form_is_told_who_changed_it_and_keeps_the_typing(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "name": "王五"})
    r = auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "name": "王五",
                                                  "livestock": "牛 2 头"})
    assert r.status_code == 409
    assert 'value="牛 2 头"' in r.get_data(as_text=True)


def _with_form_photo(app, app_id: int):
    return attach_form_photo(app, app_id)


def test_a_region_is_saved_as_a_screenshot_from_the_turned_photo(app, client, auth, demo):
    a = _app(app)
    photo_id, _ = _with_form_photo(app, a.id)
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 90, "x0": 0.1, "y0": 0.2,
                                                   "x1": 0.6, "y1": 0.4, "label": "签名", "action": "screenshot"})
    assert r.status_code == 200 and "签名" in r.get_data(as_text=True)
    with app.app_context():
        shot = db.session.scalar(select(Screenshot))
        # Turned a quarter, the 1600x1200 photo is 1200 wide and 1600 high.
        assert shot.box == [120, 320, 720, 640] and (shot.width, shot.height) == (600, 320)
        with make_store(app.config).open(shot.sha256) as f:
            assert Image.open(io.BytesIO(f.read())).size == (600, 320)
    assert client.get(f"/applications/{a.id}/screenshots/{shot.id}/thumb").status_code == 200


@pytest.mark.parametrize("box", [{"x0": 0.5, "y0": 0.2, "x1": 0.4, "y1": 0.4}, {"x0": 0.1, "y0": 0.1, "x1": 0.1001, "y1": 0.5},
                                 {"x0": "a", "y0": 0, "x1": 1, "y1": 1}])
def test_a_bad_region_is_explained_and_nothing_is_saved(app, client, auth, demo, box):
    a = _app(app)
    photo_id, _ = _with_form_photo(app, a.id)
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 0, **box, "action": "screenshot"})
    assert r.status_code == 422 and "flash-error" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Screenshot)) == 0


def _poll(client, url: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(url).get_data(as_text=True)
        if "hx-trigger=\"load delay:1s\"" not in page:
            return page
        assert time.monotonic() < deadline, "OCR did not finish"
        time.sleep(0.5)


def test_ocr_runs_in_the_background_proposes_values_and_is_cached(app, client, auth, demo):
    a = _app(app)
    photo_id, fields = _with_form_photo(app, a.id)
    auth.login("clerk1")
    started = time.monotonic()
    r = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0, "y0": 0,
                                                   "x1": 1, "y1": 1, "action": "ocr"})
    answered = time.monotonic() - started
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'hx-trigger="load delay:1s"' in page  # answered before the OCR ran
    with app.app_context():
        run = db.session.scalar(select(OcrRun))
    result = _poll(client, f"/applications/{a.id}/ocr/{run.id}")
    assert f'data-ocr-field="name" data-ocr-value="{fields.name}"' in result
    assert f'data-ocr-value="{fields.amount:.2f}"' in result
    assert f'data-ocr-value="{fields.amount_in_capitals}"' in result
    assert 'id="proposal-amount" class="proposal" hx-swap-oob="true"' in result
    with app.app_context():
        run = db.session.get(OcrRun, run.id)
        assert run.status == "done" and run.seconds > 0
        assert answered < run.seconds  # the request did not wait for the reading
    # The same photo again: the cached result, at once, and still one run.
    again = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0, "y0": 0,
                                                       "x1": 1, "y1": 1, "action": "ocr"}).get_data(as_text=True)
    assert "data-ocr-field=\"name\"" in again
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OcrRun)) == 1


def test_with_ocr_switched_off_there_is_no_button_and_a_clear_refusal(app, client, auth, demo):
    app.config["OCR_ENGINE"] = "none"
    a = _app(app)
    photo_id, _ = _with_form_photo(app, a.id)
    auth.login("clerk1")
    page = client.get(f"/applications/{a.id}/entry").get_data(as_text=True)
    assert 'value="ocr"' not in page
    r = auth.post(f"/applications/{a.id}/region", {"photo_id": photo_id, "rotation": 0, "x0": 0, "y0": 0,
                                                   "x1": 1, "y1": 1, "action": "ocr"})
    assert r.status_code == 409 and "OCR" in r.get_data(as_text=True)


# --- stored drafts never break a page (issue 11, item 11) ---------------------------------------


def test_a_draft_amount_that_is_not_a_number_is_shown_as_typed_to_every_role(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    r = auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "name": "王五",
                                                  "amount": "三千元", "annual_income": "about 5k",
                                                  "id_number": "1234"})
    assert r.status_code == 200
    assert _fresh(app, a.id)["entry"]["values"]["amount"] == "三千元"  # the draft keeps the typing
    for user in ("clerk1", "reviewer1", "reviewer2", "cashier1", "director1"):
        c = app.test_client()
        Auth(c).login(user)
        page = c.get(f"/applications/{a.id}")
        assert page.status_code == 200, user
        html = page.get_data(as_text=True)
        if 'id="entered-data"' in html:
            assert "三千元" in html and "about 5k" in html
            assert "1234" not in html.split('id="entered-data"')[1].split("</section>")[0]  # still masked
    assert client.get(f"/applications/{a.id}/entry").status_code == 200


@pytest.mark.parametrize("field", ["household_size", "term_months", "product_id"])
def test_digits_python_calls_digits_but_int_refuses_are_a_message_not_a_500(app, client, auth, demo, field):
    a = _app(app)
    auth.login("clerk1")
    for action in ("save", "complete"):
        a = _app(app)
        r = auth.post(f"/applications/{a.id}/entry", {**_complete_values(app, a.id), field: "²",
                                                      "version": a.version, "action": action})
        assert r.status_code in (200, 422), (action, r.status_code)
    assert _fresh(app, a.id)["entry"]["values"][field] == "²"
    assert client.get(f"/applications/{a.id}").status_code == 200
