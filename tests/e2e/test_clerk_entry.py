"""The HQ clerk's screen in Chromium: pick a region, OCR a photo, accept proposals, complete the entry."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Screenshot
from tests.e2e.conftest import login
from tests.support.entry_photos import attach_form_photo

pytestmark = pytest.mark.e2e


def test_ocr_proposals_are_accepted_never_over_typing_and_the_entry_completes(app, live_server, desktop):
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        app_id = a.id
        low, high = a.product.min_amount, a.product.max_amount
    photo_id, form = attach_form_photo(app, app_id, min_amount=low, max_amount=high)
    page = desktop.new_page()
    login(page, live_server, "clerk1")
    page.goto(f"{live_server}/applications/{app_id}/entry")
    page.click(f".viewer-thumbs [data-photo-id='{photo_id}']")
    page.wait_for_function("document.querySelector('[data-viewer-canvas]').width > 300")

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

    # The name the clerk keyed in stays: the proposal does not replace it.
    page.click("#proposal-name button")
    assert page.input_value("#f-name") == "王五"
    assert page.locator("#proposal-name .proposal-note").is_visible()

    # The amount field held the officer's figure: cleared first, then the IOU's figures and capitals accepted.
    page.fill("#f-amount", "")
    page.click("#proposal-amount button")
    page.click("#proposal-amount_in_capitals button")
    assert page.input_value("#f-amount") == f"{form.amount:.2f}"
    assert page.input_value("#f-amount_in_capitals") == form.amount_in_capitals

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
