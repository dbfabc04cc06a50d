"""The book import page at 360 px and 1366 px (issue 13): upload a workbook, see the dry-run summary,
import it, nothing wider than the screen. Screenshots go to $SCREENSHOT_DIR when set."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Loan
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.integration.test_book import write_book

pytestmark = pytest.mark.e2e


# The same server work runs at 1366 px on both databases; the 360 px layout once, on SQLite.
@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_upload_check_and_import_a_book(app, live_server, phone, desktop, demo, tmp_path, size):
    context = phone if size == "phone" else desktop
    width = 360 if size == "phone" else 1366
    page = context.new_page()
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/book/")
    page.set_input_files("#book-upload input[type=file]", str(write_book(tmp_path / "旧账.xlsx")))
    page.click("#book-check")
    wait_for_state(page, "!!document.querySelector('#book-import')")
    assert "2" in page.inner_text("#book-summary")
    assert page.evaluate(FITS), "the check report is wider than the screen"
    screenshot(page, f"book-checked-{width}.png")
    page.click("#book-import")
    wait_for_state(page, "!!document.querySelector('#book-imported')")
    assert page.evaluate(FITS), "the import report is wider than the screen"
    screenshot(page, f"book-imported-{width}.png")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan).where(Loan.contract_no.like("OLD%"))) == 2
