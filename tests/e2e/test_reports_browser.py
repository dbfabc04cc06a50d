"""The reports' screens in Chromium at 360 px and 1366 px: the index and a report fit the screen
(wide tables scroll inside their wrapper), a filter swaps the results through htmx under the app's
CSP and lands in the URL, and the XLSX download opens with openpyxl."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from app import clock
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.support import tiny_report

pytestmark = pytest.mark.e2e


@pytest.fixture()
def book(app, demo):
    with app.app_context():
        return tiny_report.add_loans(clock.business_today())


@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_the_reports_index_lists_every_report_and_fits(app, live_server, phone, desktop, book, size):
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "reviewer1")
    page.goto(f"{live_server}/reports")
    names = page.eval_on_selector_all("#report-list a", "links => links.map(a => a.id)")
    assert "report-par" in names and "report-arrears" in names, names
    assert page.evaluate(FITS), "the reports' index is wider than the screen"
    screenshot(page, f"reports-index-{size}.png")


@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_a_report_filters_live_fits_and_downloads(app, live_server, phone, desktop, book, size, tmp_path):
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "reviewer1")
    page.goto(f"{live_server}/reports/par")
    assert page.is_visible("#report-table")
    assert page.evaluate(FITS), "the report is wider than the screen"
    page.select_option("select[name=by]", "office")
    wait_for_state(page, "location.search.includes('by=office')")
    wait_for_state(page, "document.querySelector('#report-table').innerText.includes('河口办事处')")
    assert page.evaluate(FITS)
    page.select_option("select[name=office]", "HK")
    wait_for_state(page, "location.search.includes('office=HK')")
    wait_for_state(page, "!document.querySelector('#report-table tbody').innerText.includes('城关办事处')")
    screenshot(page, f"reports-par-{size}.png")
    with page.expect_download() as info:
        page.click("#report-xlsx")
    path = tmp_path / "par.xlsx"
    info.value.save_as(path)
    ws = load_workbook(path).active
    values = [tuple(v) for v in ws.iter_rows(values_only=True)]
    assert ("机构", "HK") in [v[:2] for v in values] and ws.freeze_panes


@pytest.mark.browser_side
def test_headquarters_opens_every_report_and_downloads_each_as_xlsx_and_csv(app, live_server, desktop, book, tmp_path):
    """The issue's walk-through at desk size: from the index, each report opens, takes a filter
    (the as-of date or the period, in the URL), and both of its files download and open."""
    import csv
    import io

    page = desktop.new_page()
    login(page, live_server, "reviewer1")
    page.goto(f"{live_server}/reports")
    names = [i.removeprefix("report-") for i in
             page.eval_on_selector_all("#report-list a", "links => links.map(a => a.id)")]
    assert sorted(names) == sorted(["par", "classification", "disbursements", "collection", "arrears",
                                    "officers", "pipeline", "upcoming", "scorecard_backtest"]), names
    today = clock.business_today()
    for name in names:
        page.click(f"#report-{name}")
        page.wait_for_selector("#report-results")
        assert not page.is_visible("#report-error"), f"{name}: {page.inner_text('#report-error')}"
        title = page.inner_text("h1")
        if page.query_selector("input[name=from]"):
            page.fill("input[name=from]", today.replace(day=1).isoformat())
            page.dispatch_event("input[name=from]", "change")
            wait_for_state(page, "location.search.includes('from=')")
        page.wait_for_selector("#report-xlsx")
        with page.expect_download() as info:
            page.click("#report-xlsx")
        info.value.save_as(tmp_path / f"{name}.xlsx")
        sheet = load_workbook(tmp_path / f"{name}.xlsx").active
        assert sheet.freeze_panes and title in str(sheet.cell(1, 1).value), (name, sheet.cell(1, 1).value)
        with page.expect_download() as info:
            page.click("#report-csv")
        info.value.save_as(tmp_path / f"{name}.csv")
        raw = (tmp_path / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))), name
        page.goto(f"{live_server}/reports")
