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


def test_the_fields_read_off_the_documents_start_empty_and_nothing_gives_them_away(app, client, auth, demo):
    a = _app(app)
    with app.app_context():
        stored = db.session.get(Application, a.id)
        captured = {"name": stored.borrower.name, "id": stored.borrower.id_number, "amount": stored.amount}
    auth.login("clerk1")
    page = client.get(f"/applications/{a.id}/entry").get_data(as_text=True)
    assert "data-viewer" in page and 'name="household_size"' in page
    for key in ("name", "id_number", "amount", "amount_in_capitals", "signed_on"):
        assert f'name="{key}" value=""' in page, key
    form = page.split('id="entry-form"')[1]
    for text in (captured["name"], captured["id"][:6], captured["id"][-4:], f"{captured['amount']:.2f}",
                 f"{captured['amount']:,.2f}", to_capitals(captured["amount"])):
        assert text not in page.split("<body")[1] if text == captured["name"] else text not in form, text
    # What the clerk types for the figures does not print its capitals above the capitals field either.
    r = auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "amount": "18000"})
    assert "壹万捌仟" not in r.get_data(as_text=True).split('id="entry-form"')[1]


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


# --- findings: keyed values against the capture and OCR (issue 11, item 14) ---------------------


def _complete(app, auth, a, **changes):
    return auth.post(f"/applications/{a.id}/entry", {**_complete_values(app, a.id, **changes), "version": a.version,
                                                     "action": "complete"})


def test_a_keyed_amount_other_than_the_capture_is_a_finding_the_reviewer_sees(app, client, auth, demo):
    from decimal import Decimal

    a = _app(app)
    with app.app_context():
        captured = db.session.get(Application, a.id).amount
    keyed = captured - Decimal("1000")
    auth.login("clerk1")
    r = _complete(app, auth, a, amount=f"{keyed:.2f}", amount_in_capitals=to_capitals(keyed))
    assert r.status_code == 303
    after = _fresh(app, a.id)
    assert after["state"] == "awaiting_l1"
    assert [(f["field"], f["source"], f["other"]) for f in after["entry"]["findings"]] == [
        ("amount", "capture", f"{captured:.2f}"), ("amount_in_capitals", "capture", f"{captured:.2f}")]
    reviewer = Auth(app.test_client())
    reviewer.login("reviewer1")
    page = reviewer.client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert 'id="entry-findings"' in page
    section = page.split('id="entry-findings"')[1].split("</section>")[0]
    assert f"¥{keyed:,.2f}" in section and f"¥{captured:,.2f}" in section and "客户经理" in section


def test_an_entry_that_agrees_with_everything_has_no_finding(app, client, auth, demo):
    a = _app(app)
    auth.login("clerk1")
    assert _complete(app, auth, a).status_code == 303
    assert _fresh(app, a.id)["entry"]["findings"] == []
    assert 'id="entry-findings"' not in client.get(f"/applications/{a.id}").get_data(as_text=True)


def test_another_id_number_is_a_masked_finding_not_an_error_that_tells_the_captured_one(app, client, auth, demo):
    from app.domain import idcard

    a = _app(app)
    with app.app_context():
        captured = db.session.get(Application, a.id).borrower.id_number
    other = captured[:14] + ("1" if captured[14] != "1" else "2") + captured[15:17]
    other += idcard.check_digit(other)
    auth.login("clerk1")
    assert _complete(app, auth, a, id_number=other).status_code == 303
    [finding] = _fresh(app, a.id)["entry"]["findings"]
    assert finding["field"] == "id_number" and finding["other"] == captured
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert captured not in page and other not in page  # masked on screen
    assert captured[:6] + "********" + captured[-4:] in page.split('id="entry-findings"')[1]


def test_an_ocr_reading_that_differs_is_a_finding_with_the_photo_it_read(app, client, auth, demo):
    a = _app(app)
    photo_id, _ = _with_form_photo(app, a.id)
    with app.app_context():
        from app.models import Photo

        photo = db.session.get(Photo, photo_id)
        db.session.add(OcrRun(sha256=photo.sha256, engine="rapidocr", status="done", lines=[], seconds=1.0,
                              fields={"name": {"value": "王午", "confidence": 0.93}}))
        db.session.commit()
        where = f"{photo.item.name} (9)"
    auth.login("clerk1")
    assert _complete(app, auth, a).status_code == 303
    [finding] = _fresh(app, a.id)["entry"]["findings"]
    assert (finding["field"], finding["source"], finding["keyed"], finding["other"]) == ("name", "ocr", "王五", "王午")
    section = client.get(f"/applications/{a.id}").get_data(as_text=True).split('id="entry-findings"')[1]
    assert "王午" in section and where in section and "93%" in section


def test_with_the_product_rule_a_finding_blocks_completion_without_telling_the_value(app, client, auth, demo):
    from decimal import Decimal

    from app.models import Product

    a = _app(app)
    with app.app_context():
        application = db.session.get(Application, a.id)
        captured = application.amount
        db.session.get(Product, application.product_id).entry_mismatch_blocks = True
        db.session.commit()
    keyed = captured - Decimal("1000")
    auth.login("clerk1")
    r = _complete(app, auth, a, amount=f"{keyed:.2f}", amount_in_capitals=to_capitals(keyed))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="err-amount"' in page and f"{captured:.2f}" not in page and f"{captured:,.2f}" not in page
    after = _fresh(app, a.id)
    assert after["state"] == "awaiting_entry" and after["entry"]["values"]["amount"] == f"{keyed:.2f}"
    # Nor does the bare workflow button get round it.
    auth.post(f"/applications/{a.id}/act", {"event": "entry_complete", "version": after["version"]})
    assert _fresh(app, a.id)["state"] == "awaiting_entry"
    # Keyed as the documents say, it completes.
    a = _app(app)
    assert _complete(app, auth, a).status_code == 303


def test_the_admin_sets_whether_a_difference_blocks_and_it_is_audited(app, client, auth, demo):
    from app.models import Product

    with app.app_context():
        product_id = db.session.scalar(select(Product.id).order_by(Product.id))
    auth.login("admin")
    assert 'id="entry-rule-' in client.get("/admin/products").get_data(as_text=True)
    r = auth.post(f"/admin/products/{product_id}/entry-rule", {"entry_mismatch_blocks": "1"})
    assert r.status_code == 303
    auth.post(f"/admin/products/{product_id}/entry-rule", {"entry_mismatch_blocks": "1"})  # unchanged: nothing written
    with app.app_context():
        assert db.session.get(Product, product_id).entry_mismatch_blocks is True
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "product_entry_rule_changed")).all()
        # The audit viewer's before/after table: {field: value}, never a bare value.
        assert len(rows) == 1 and rows[0].detail["after"] == {"entry_mismatch_blocks": True}
        assert rows[0].detail["before"] == {"entry_mismatch_blocks": False}
    clerk = Auth(app.test_client())
    clerk.login("clerk1")
    assert clerk.post(f"/admin/products/{product_id}/entry-rule", {"entry_mismatch_blocks": "0"}).status_code == 403


def test_an_iou_dated_today_in_china_is_not_in_the_future_before_8_am(app, demo):
    """Between 00:00 and 08:00 in China the UTC date is still yesterday: the business date decides."""
    from datetime import datetime, timedelta, timezone

    from app.domain.dates import business_today
    from app.models import User
    from app.services import entry as entry_service

    now = datetime.now(timezone.utc).replace(hour=17, minute=30, second=0, microsecond=0)  # 01:30 next day in China
    china_today = business_today(now)
    assert china_today == now.date() + timedelta(days=1)
    a = _app(app)
    with app.app_context():
        application = db.session.get(Application, a.id)
        clerk = db.session.scalar(select(User).where(User.username == "clerk1"))
        values = {**demo_entry(application), "signed_on": china_today.isoformat()}
        result = entry_service.save(application, values, clerk, complete=True, expected_version=application.version, now=now)
        assert "signed_on" not in result.errors, result.errors
        assert db.session.get(Application, a.id).state == "awaiting_l1"


def test_saving_in_place_says_saved_there_and_leaves_no_stale_saved_for_the_next_page(app, client, auth, demo):
    """Issue 12 item 11: the htmx save swapped in the form alone, so its "已保存。" waited in the session
    and turned up beside "录入完成" on the application page after completion."""
    a = _app(app)
    auth.login("clerk1")
    htmx = {"HX-Request": "true", "HX-Target": "entry-form"}
    saved = auth.post(f"/applications/{a.id}/entry", {"version": a.version, "action": "save", "name": "王五"},
                      headers=htmx)
    assert saved.status_code == 200
    body = saved.get_data(as_text=True)
    assert 'id="messages"' in body and 'hx-swap-oob="true"' in body and "已保存。" in body  # said in place
    values = _complete_values(app, a.id)
    done = auth.post(f"/applications/{a.id}/entry", {**values, "version": _fresh(app, a.id)["version"],
                                                      "action": "complete"}, headers=htmx)
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/applications/{a.id}"
    page = client.get(done.headers["HX-Redirect"]).get_data(as_text=True)
    assert "录入完成" in page
    assert "已保存。" not in page
