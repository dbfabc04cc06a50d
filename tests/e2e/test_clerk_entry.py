"""The HQ clerk's screen in Chromium: pick a region, OCR a photo, accept proposals, complete the entry."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.money import to_capitals
from app.extensions import db
from app.models import Application, Borrower, Screenshot
from tests.e2e.conftest import login, wait_for_state
from tests.support.entry_photos import attach_form_photo

pytestmark = pytest.mark.e2e


def test_the_clerk_keys_from_empty_fields_and_the_l1_reviewer_sees_what_differs(app, live_server, desktop):
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        app_id = a.id
        low, high = a.product.min_amount, a.product.max_amount
        captured_amount, id_number = a.amount, a.borrower.id_number
    photo_id, form = attach_form_photo(app, app_id, min_amount=low, max_amount=high)
    assert form.amount != captured_amount and form.name != "王五"  # the IOU says something else
    page = desktop.new_page()
    login(page, live_server, "clerk1")
    page.goto(f"{live_server}/applications/{app_id}/entry")

    # What must be read off the documents starts empty, and nothing on the screen gives it away.
    for field in ("name", "id_number", "amount", "amount_in_capitals", "signed_on"):
        assert page.input_value(f"#f-{field}") == "", field
    screen = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    for text in ("王五", id_number[-4:], f"{captured_amount:,.2f}", to_capitals(captured_amount)):
        assert text not in screen, text

    page.click(f".viewer-thumbs [data-photo-id='{photo_id}']")
    wait_for_state(page, "document.querySelector('[data-viewer-canvas]').width > 300")

    # A region dragged over the photo becomes a screenshot attachment.
    box = page.locator("[data-viewer-canvas]").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3, steps=5)
    page.mouse.up()
    page.fill("input[name=label]", "借据金额栏")
    page.click("button[value=screenshot]")
    page.wait_for_selector("#screenshots figure:has-text('借据金额栏')")

    # OCR of the whole photo (the box cleared) runs in the background; proposals appear under the fields.
    page.click("[data-act=clear]")
    page.click("button[value=ocr]")
    page.wait_for_selector("#proposal-amount_in_capitals button", timeout=90_000)

    # The name the clerk keyed in from the ID card stays: the proposal does not replace it.
    page.fill("#f-name", "王五")
    page.click("#proposal-name button")
    assert page.input_value("#f-name") == "王五"
    assert page.locator("#proposal-name .proposal-note").is_visible()

    # The IOU's figures and capitals, accepted into the empty fields.
    page.click("#proposal-amount button")
    page.click("#proposal-amount_in_capitals button")
    assert page.input_value("#f-amount") == f"{form.amount:.2f}"
    assert page.input_value("#f-amount_in_capitals") == form.amount_in_capitals
    # Typing the figures prints no capitals to copy.
    assert to_capitals(form.amount) not in page.inner_text("#entry-form")

    page.fill("#f-id_number", id_number)
    page.fill("#f-household_size", "5")
    page.fill("#f-income_sources", "种植玉米、外出务工")
    page.fill("#f-annual_income", "52000")
    page.click("button[value=complete]")
    page.wait_for_url(f"{live_server}/applications/{app_id}")
    assert "录入完成" in page.inner_text("#messages")

    with app.app_context():
        done = db.session.get(Application, app_id)
        assert done.state == "awaiting_l1"
        assert done.amount == form.amount
        assert done.entry_data["values"]["amount_in_capitals"] == form.amount_in_capitals
        assert done.entry_data["values"]["name"] == "王五"
        shot = db.session.scalar(select(Screenshot).where(Screenshot.application_id == app_id))
        assert shot.label == "借据金额栏" and shot.width > 100

    # The first-level reviewer sees the differences as findings on the application page.
    reviewer = desktop.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        review = reviewer.new_page()
        login(review, live_server, "reviewer1")
        review.goto(f"{live_server}/applications/{app_id}")
        findings = review.locator("#entry-findings")
        findings.wait_for()
        amount = findings.locator("li[data-field=amount][data-source=capture]")
        assert f"{form.amount:,.2f}" in amount.inner_text() and f"{captured_amount:,.2f}" in amount.inner_text()
        name = findings.locator("li[data-field=name][data-source=ocr]")
        assert name.count() == 1 and "王五" in name.inner_text()
        assert findings.is_visible()
    finally:
        reviewer.close()


def _entry_page(app, live_server, browser, height: int):
    with app.app_context():
        app_id = db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == "王五"))
    context = browser.new_context(viewport={"width": 1366, "height": height})
    page = context.new_page()
    login(page, live_server, "clerk1")
    page.goto(f"{live_server}/applications/{app_id}/entry")
    wait_for_state(page, "document.querySelector('[data-viewer-canvas]').width > 0")
    return context, page


VIEWER_FITS = """() => {
  const vh = innerHeight, rect = (s) => document.querySelector(s).getBoundingClientRect();
  const stage = rect('.viewer-stage'), ocr = rect('[data-region-form] button[value=screenshot]');
  return {stage: stage.bottom <= vh && stage.top >= 0, buttons: ocr.bottom <= vh, pane: rect('.viewer-pane').bottom <= vh};
}"""


@pytest.mark.parametrize("height", [768, 900])
def test_the_zoomed_photo_and_its_buttons_stay_on_a_1366_screen_while_the_form_scrolls(app, live_server, browser, height):
    """Issue 12 item 11: zoomed in, the photo pane (sticky beside the form) grew taller than the
    screen, so its bottom — the photo's lower part, the screenshot and OCR buttons — was cut off."""
    context, page = _entry_page(app, live_server, browser, height)
    try:
        for _ in range(3):
            page.click("[data-act=zoom-in]")
        wait_for_state(page, "document.querySelector('[data-viewer-canvas]').width > 1000")
        for scroll in (600, 1200):  # the pane is held beside the form once the page scrolls past its top
            page.evaluate(f"window.scrollTo(0, {scroll})")
            wait_for_state(page, "document.querySelector('.viewer-pane').getBoundingClientRect().top < 20")
            fits = page.evaluate(VIEWER_FITS)
            assert fits == {"stage": True, "buttons": True, "pane": True}, (scroll, fits)
    finally:
        context.close()


def test_no_field_the_clerk_tabs_to_hides_behind_the_floating_save_bar(app, live_server, browser):
    """Issue 12 item 11: the sticky 保存 / 完成录入 bar covered the field the browser scrolled to."""
    context, page = _entry_page(app, live_server, browser, 768)
    try:
        page.focus("#f-name")
        names = page.evaluate("Array.from(document.querySelectorAll('#entry-form input:not([type=hidden]), #entry-form select')).map(e => e.name)")
        covered = []
        for _ in names[1:]:
            page.keyboard.press("Tab")
            hit = page.evaluate("""() => {
              const el = document.activeElement, bar = document.querySelector('.sticky-actions').getBoundingClientRect();
              if (!el.closest('#entry-form') || el.closest('.sticky-actions')) return null;
              const r = el.getBoundingClientRect();
              return r.bottom > bar.top && r.top < bar.bottom ? el.name : null; }""")
            if hit:
                covered.append(hit)
        assert covered == []
    finally:
        context.close()


def test_a_photo_opens_whole_in_the_stage_beside_the_form(app, live_server, browser):
    """Issue 12 item 11: a 1600 x 1200 officer photo opened at a fixed half size (800 px) in a stage
    about 570 px wide at 1366 px: its right side and bottom were cut off until the clerk zoomed out."""
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        app_id, low, high = a.id, a.product.min_amount, a.product.max_amount
    photo_id, _form = attach_form_photo(app, app_id, min_amount=low, max_amount=high)
    context, page = _entry_page(app, live_server, browser, 768)
    try:
        page.click(f".viewer-thumbs [data-photo-id='{photo_id}']")
        wait_for_state(page, "document.querySelector('[data-viewer-label]').textContent.includes('(')")
        size = wait_for_state(page, """() => { const c = document.querySelector('[data-viewer-canvas]'), s = c.parentNode;
          return c.width > 300 && c.width / c.height > 1.3 && {w: c.width, h: c.height, sw: s.clientWidth, sh: s.clientHeight}; }""")
        assert size["w"] <= size["sw"] and size["h"] <= size["sh"], size
        page.click("[data-act=zoom-in]")  # zooming in still enlarges it, inside the scrolling stage
        wait_for_state(page, f"document.querySelector('[data-viewer-canvas]').width > {size['w']}")
    finally:
        context.close()
