"""The household survey in a real browser, at 360 px and 1366 px: the admin adds a question to a
loan type's survey (a bad range first, refused in Chinese) and publishes it; the clerk corrects an
answer of an application on the data-entry page (an answer out of range first, refused)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.workflow import State
from app.extensions import db
from app.models import Application, Product
from app.services import surveys
from tests.e2e.conftest import FITS, PHONE, login, screenshot, wait_for_state

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_admin_edits_the_survey_and_clerk_corrects_an_answer(app, browser, live_server, phone, desktop, size):
    width = 360 if size == "phone" else 1366
    context = phone if size == "phone" else desktop
    with app.app_context():
        pid = db.session.scalar(select(Product.id).where(Product.code == "XYD"))
        aid = db.session.scalar(select(Application.id).where(Application.state == State.AWAITING_ENTRY.value))

    page = context.new_page()
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/products/{pid}")
    page.click("#survey-link")
    page.wait_for_selector("#survey-form")
    assert "当前第 1 版" in page.inner_text("#survey-version")
    # A new question in the first section.
    page.click("#s0 button[value=add_q_0]")
    page.wait_for_selector("[name=s0_q3_key]")
    page.fill("[name=s0_q3_key]", "elders")
    page.fill("[name=s0_q3_label]", "60岁以上老人")
    # Each question shows only the settings of its type.
    page.select_option("[name=s0_q3_type]", "choice")
    wait_for_state(page, "!document.querySelector('[name=s0_q3_options]').closest('label').hidden")
    assert not page.is_visible("[name=s0_q3_unit]")
    page.select_option("[name=s0_q3_type]", "number")
    wait_for_state(page, "document.querySelector('[name=s0_q3_options]').closest('label').hidden")
    assert page.is_visible("[name=s0_q3_unit]") and not page.is_visible("[name=s0_q3_max_length]")
    page.fill("[name=s0_q3_unit]", "人")
    page.fill("[name=s0_q3_min]", "5")
    page.fill("[name=s0_q3_max]", "2")
    page.click("button.primary[value=publish]")
    page.wait_for_selector("#survey-errors")
    assert "最大值小于最小值" in page.inner_text("#err-s0_q3_max")
    assert "当前第 1 版" in page.inner_text("#survey-version")
    assert page.evaluate(FITS), "the survey editor is wider than the screen"
    screenshot(page, f"survey-editor-error-{width}.png")
    page.fill("[name=s0_q3_min]", "0")
    page.fill("[name=s0_q3_max]", "10")
    page.click("button.primary[value=publish]")
    page.wait_for_selector(".flash-success")
    assert "当前第 2 版" in page.inner_text("#survey-version")
    assert "系统管理员" in page.inner_text("#survey-history")
    assert page.evaluate(FITS)
    screenshot(page, f"survey-editor-{width}.png")
    with app.app_context():
        assert surveys.definition_of(surveys.current_version(pid)).question("elders") is not None

    # The clerk in a browser of his own (the admin's session stays in the other).
    viewport = PHONE if size == "phone" else {"width": 1366, "height": 900}
    clerk_context = browser.new_context(viewport=viewport, has_touch=size == "phone", is_mobile=size == "phone")
    request_close = clerk_context.close
    clerk = clerk_context.new_page()
    login(clerk, live_server, "clerk1")
    clerk.goto(f"{live_server}/applications/{aid}/entry")
    clerk.wait_for_selector("#survey-form")
    # The application keeps the version it was answered on: no "elders" question here.
    assert clerk.locator("[name=sv_elders]").count() == 0
    clerk.fill("#sv-members", "31")
    clerk.click("#survey-save")
    clerk.wait_for_selector("#err-sv-members")
    assert "1 到 30" in clerk.inner_text("#err-sv-members")
    clerk.fill("#sv-members", "5")
    clerk.fill("#sv-land_mu", "12.5")
    clerk.click("#survey-save")
    wait_for_state(clerk, "!document.querySelector('#err-sv-members') && "
                          "document.querySelector('#survey-form .flash-success') !== null")
    assert clerk.input_value("#sv-members") == "5"
    assert clerk.evaluate(FITS), "the entry page is wider than the screen"
    screenshot(clerk, f"survey-entry-{width}.png")
    with app.app_context():
        a = db.session.get(Application, aid)
        assert a.survey_answers["members"] == "5" and a.survey_answers["land_mu"] == "12.5"
    request_close()
