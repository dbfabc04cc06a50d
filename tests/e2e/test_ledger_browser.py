"""The books in Chromium: at desk size the accountant posts a manual entry (an unbalanced one is
refused in Chinese first) and the trial balance swaps in by htmx, balanced; at 360 px the journal,
the trial balance and the closing screen fit the screen (wide tables scroll inside their wrapper)."""
from __future__ import annotations

import pytest

from app import clock
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state

pytestmark = pytest.mark.e2e


def test_the_accountant_posts_an_entry_and_reads_the_books_at_desk_and_phone_size(app, live_server, desktop, phone):
    today = clock.business_today().isoformat()
    page = desktop.new_page()
    login(page, live_server, "accountant1")
    page.click("#main-menu a[href='/ledger/']")
    page.wait_for_selector("#ledger-table")
    page.click("#ledger-menu a[href='/ledger/entries/new']")
    page.fill("input[name=summary]", "收到股东投资款")
    codes, debits, credits = (page.query_selector_all(f"input[name={n}]") for n in ("code", "debit", "credit"))
    codes[0].fill("1002"), debits[0].fill("800")
    codes[1].fill("4001"), credits[1].fill("799")
    page.click("#entry-form button[type=submit]")
    assert "借贷不平" in page.inner_text("#entry-error")
    page.query_selector_all("input[name=credit]")[1].fill("800")
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector("#ledger-table")
    assert "收到股东投资款" in page.inner_text("#ledger-table")
    page.click("#ledger-menu a[href='/ledger/']")
    page.fill("input[name=as_of]", today)
    page.dispatch_event("input[name=as_of]", "change")
    wait_for_state(page, f"location.search.includes('as_of={today}')")
    assert "实收资本" in page.inner_text("#ledger-table") and page.is_visible("#ledger-check.flash-success")
    screenshot(page, "ledger-trial-balance-desktop.png")

    small = phone.new_page()
    login(small, live_server, "accountant1")
    for path in (f"/ledger/journal?from={today}&to={today}", "/ledger/", "/ledger/close", "/ledger/accounts",
                 "/ledger/entries/new", "/ledger/vouchers"):
        small.goto(f"{live_server}{path}")
        assert small.evaluate(FITS), f"{path} is wider than the phone"
        screenshot(small, "ledger-phone" + path.split("?")[0].replace("/", "-") + ".png")
    small.goto(f"{live_server}/ledger/journal?from={today}&to={today}")
    assert "收到股东投资款" in small.inner_text("#ledger-table")
    screenshot(small, "ledger-journal-phone.png")
