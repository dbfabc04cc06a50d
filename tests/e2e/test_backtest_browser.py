"""The scorecard back-test's report screen in Chromium at 360 px and 1366 px, on a generated book:
the verdict, Gini and KS above the band table, the product filter swapping the results through htmx
(and into the URL), nothing wider than the screen, and the CSV download."""
from __future__ import annotations

import pytest

from app import clock
from app.services import backtest_book
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state

pytestmark = pytest.mark.e2e


@pytest.fixture()
def book(app, demo):
    with app.app_context():
        return backtest_book.generate(600, seed=21, as_of=clock.business_today())


@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_the_back_test_shows_its_verdict_filters_and_fits(app, live_server, phone, desktop, book, size, tmp_path):
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "reviewer1")
    page.goto(f"{live_server}/reports")
    page.click("#report-scorecard_backtest")
    page.wait_for_url("**/reports/scorecard_backtest*")
    assert page.is_visible("#report-table")
    # The link is boosted: the URL changes before htmx has taken the swapped-in filter form on, and a
    # choice made in between would be lost (wait until htmx has processed the form).
    wait_for_state(page, "'htmx-internal-data' in document.querySelector('#report-form')")
    page.select_option("select[name=product]", "XYD")
    wait_for_state(page, "location.search.includes('product=XYD')")
    wait_for_state(page, "document.querySelector('#report-results').innerText.includes('Gini')")
    notes = page.inner_text("#report-results")
    assert "评分卡" in notes and "KS" in notes and "违约" in notes
    rows = page.eval_on_selector_all("#report-table tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    assert rows == ["<50", "50–59", "60–69", "70–79", "80–89", "≥90"], rows
    assert page.evaluate(FITS), "the back-test is wider than the screen"
    screenshot(page, f"scorecard-backtest-{size}.png")
    with page.expect_download() as info:
        page.click("#report-csv")
    path = tmp_path / "backtest.csv"
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert "分数段" in text and "Gini" in text
