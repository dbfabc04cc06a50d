"""The score on the director's phone (360 px) and on the desktop: the score, each factor's reason,
the suggested limit and the amount asked against it, readable without sideways scrolling; the
admin's scorecard editor fits too."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, Product
from tests.e2e.conftest import FITS, login, screenshot

pytestmark = pytest.mark.e2e


def _ids(app) -> tuple[int, int, int]:
    with app.app_context():
        zhang = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "张三"))
        pid = db.session.scalar(select(Product.id).where(Product.code == "XYD"))
        return zhang.id, zhang.score, pid


def test_director_reads_the_score_on_his_phone(app, live_server, phone):
    app_id, score, _pid = _ids(app)
    page = phone.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/applications/{app_id}")
    section = page.locator("#score")
    section.scroll_into_view_if_needed()
    assert page.inner_text("#score-value") == str(score)
    text = section.inner_text()
    assert "村委评议" in text and "建议额度" in text and "申请金额" in text
    assert page.evaluate(FITS), "the application page scrolls sideways at 360 px"
    box = section.bounding_box()
    assert box is not None and box["width"] <= 360
    page.click("#score-limit-steps summary")
    assert "向下取整" in page.inner_text("#score-limit-steps")
    assert page.evaluate(FITS)
    screenshot(page, "score-phone.png")


def test_admin_editor_fits_phone_and_desktop(app, live_server, phone, desktop):
    _app_id, _score, pid = _ids(app)
    for context in (phone, desktop):
        page = context.new_page()
        login(page, live_server, "admin")
        page.goto(f"{live_server}/admin/products/{pid}/scorecard")
        assert page.locator(".scorecard-factor").count() == 10
        assert page.evaluate(FITS), "the scorecard editor scrolls sideways"
        screenshot(page, f"scorecard-editor-{context is phone}.png")


def test_clerk_sees_the_score_beside_the_entry_without_the_amount(app, live_server, desktop):
    with app.app_context():
        wang = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "王五"))
        app_id, score = wang.id, wang.score
    page = desktop.new_page()
    login(page, live_server, "clerk1")
    page.goto(f"{live_server}/applications/{app_id}/entry")
    assert page.inner_text("#score-value") == str(score)
    assert "申请金额" not in page.inner_text("#score")
    assert page.evaluate(FITS)
