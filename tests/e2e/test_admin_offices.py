"""The offices screen at 360 px and at 1366 px (issue 13 item 2): the tree fits the screen, a branch
is created through the form, a bad latitude is refused beside its field, and an office is moved
under the new branch, in a real browser under the app's CSP."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import FITS, login, wait_for_state

pytestmark = pytest.mark.e2e


# The same server work runs at 1366 px on both databases; the 360 px layout once, on SQLite.
@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_the_offices_screen_fits_and_works(app, live_server, phone, desktop, size):
    from app.services import app_settings

    with app.app_context():  # a long name, as `flask setup` sets it, in the top bar
        app_settings.set_institution_name("青山县农村小额信贷服务中心有限责任公司（试点）", actor_id=None)
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "admin")

    page.goto(f"{live_server}/admin/offices/")
    assert "青山县农村小额信贷服务中心" in page.inner_text("#institution-name")
    assert page.evaluate(FITS), "the offices tree is wider than the screen"
    page.click("#new-branch")
    page.wait_for_selector("#office-form")
    page.fill("#f-code", "DQ")
    page.fill("#f-name", "东区支行")
    page.fill("#f-lat", "95")
    page.fill("#f-lon", "104.1")
    page.click("#office-save")
    page.wait_for_selector("#err-lat")
    assert "纬度" in page.inner_text("#err-lat") and page.evaluate(FITS)
    page.fill("#f-lat", "30.7")
    page.click("#office-save")
    page.wait_for_selector("#offices")
    assert "东区支行" in page.inner_text("#offices")

    page.click("#offices >> text=城关办事处")
    page.wait_for_selector("#office-move")
    assert page.evaluate(FITS), "the office page is wider than the screen"
    page.select_option("#f-move-parent", label="东区支行 (支行)")
    page.click("#office-move-submit")
    page.wait_for_selector("#offices")
    wait_for_state(page, "document.querySelector('#offices').innerText.indexOf('东区支行') "
                         "< document.querySelector('#offices').innerText.indexOf('城关办事处')")
    assert "城关办事处 现隶属于 东区支行" in page.inner_text("body")
