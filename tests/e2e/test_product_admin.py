"""Creating a loan product with two collection items and seeing the phone's checklist preview, at
360 px and 1366 px (issue 13 items 1 and 2), in a real browser under the app's CSP."""
from __future__ import annotations


import pytest

from tests.e2e.conftest import FITS, login, screenshot, wait_for_state

pytestmark = pytest.mark.e2e

PREVIEW_ITEMS = "document.querySelectorAll('#checklist-preview .photo-item:not(.draft)').length"


# The same server work runs at 1366 px on both databases; the 360 px layout once, on SQLite.
@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_create_a_product_with_two_items_and_see_the_preview(live_server, phone, desktop, size):
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/products")
    page.click("#new-product")
    page.wait_for_selector("#terms-form")
    for name, value in (("code", "CYD"), ("name", "创业贷款"), ("annual_rate", "10"), ("min_rate", "6"),
                        ("max_rate", "15"), ("penalty_rate", "15"), ("min_amount", "2000"), ("max_amount", "80000"),
                        ("min_term_months", "6"), ("max_term_months", "24")):
        page.fill(f"#f-{name}", value)
    page.select_option("#f-repayment_method", "equal_principal")
    page.check("#f-holiday_shift")
    page.click("#terms-form button[type=submit].primary")
    page.wait_for_selector("#add-item")
    for n, (code, name, required, most) in enumerate((("id_card", "身份证", "2", "2"), ("house", "房屋照片", "1", "3")), 1):
        page.fill("#new-item_code", code)
        page.fill("#new-item_name", name)
        page.fill("#new-required_count", required)
        page.fill("#new-max_count", most)
        # The preview follows the typing: the draft item appears before it is added.
        wait_for_state(page, f"document.querySelector('#checklist-preview .draft .item-name')?.textContent === '{name}'")
        page.click("#add-item button[type=submit]")
        wait_for_state(page, f"{PREVIEW_ITEMS} === {n}")
    preview = page.inner_text("#checklist-preview")
    assert "身份证" in preview and "0 / 1–3" in preview and "已拍0张，需要2张" in preview
    assert page.evaluate(FITS), "the product page is wider than the screen"
    screenshot(page, f"product-{360 if size == 'phone' else 1366}.png")
