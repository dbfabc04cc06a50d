"""The search box live in Chromium: typed at 1366 px, the results arrive without a reload and the
URL carries the query; at 360 px the search, the borrower page and the statement never scroll
sideways (their wide tables scroll inside their box)."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import PHONE, login, wait_for_state

pytestmark = [pytest.mark.e2e]

WIDE = "document.documentElement.scrollWidth"


def test_search_live_then_borrower_then_statement_at_1366(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        login(page, live_server, "director1")
        page.goto(f"{live_server}/search/")
        assert "张三" in page.inner_text("#search-table")  # no query: every borrower in reach, by name
        page.fill("#search-q", "冯")
        wait_for_state(page, "!document.querySelector('#search-table').textContent.includes('张三')")
        assert "冯十二" in page.inner_text("#search-table")
        wait_for_state(page, "location.search.includes('q=')")  # shareable: the query is in the address
        page.click("#search-table a:has-text('冯十二')")
        page.wait_for_selector("#lend-again")
        assert "暂不" in page.inner_text("#lend-verdict")
        page.click("#borrower-loans a:has-text('对账单')")
        page.wait_for_selector("#statement-events")
        assert page.inner_text("#statement-outstanding").strip()
        assert page.locator("#statement-events tr.event-repayment").count() == 1
    finally:
        context.close()


def test_search_borrower_and_statement_fit_a_360_px_phone(browser, live_server):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        login(page, live_server, "director1")
        page.goto(f"{live_server}/search/?q=冯")
        page.wait_for_load_state("load")
        assert "冯十二" in page.inner_text("#search-results")
        assert page.evaluate(WIDE) <= 360
        page.click("#search-table a:has-text('冯十二')")
        page.wait_for_selector("#lend-again")
        page.wait_for_load_state("load")
        assert page.evaluate(WIDE) <= 360
        page.click("#borrower-loans a:has-text('对账单')")
        page.wait_for_selector("#statement-events")
        page.wait_for_load_state("load")
        assert page.evaluate(WIDE) <= 360
    finally:
        context.close()
