"""The dashboard in a real browser: director1 on a 360 px phone, headquarters at 1366 px."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import FITS, login, screenshot

# As `make run` shows it: the demo with its last 12 month openings kept.
pytestmark = pytest.mark.demo_history

CHARTS = "#dashboard svg.chart"


def _charts_fit(page) -> bool:
    """Every chart is drawn inside the screen, at a readable size (not shrunk to a stamp)."""
    return page.evaluate("""() => [...document.querySelectorAll('#dashboard svg.chart')].every(svg => {
        const box = svg.getBoundingClientRect();
        return box.width >= 250 && box.right <= window.innerWidth + 0.5; })""")


def test_director_opens_his_dashboard_on_a_phone(live_server, phone):
    page = phone.new_page()
    login(page, live_server, "director1")
    page.click("a[href='#dashboard']")
    assert page.locator("#dashboard h2").first.inner_text().startswith("今日贷款组合")
    assert page.locator(CHARTS).count() == 5
    assert page.evaluate(FITS)
    assert _charts_fit(page)
    # The figures are there as text, beside each chart and month by month.
    assert "¥" in page.locator("#kpi-outstanding .figure").inner_text()
    assert page.locator("#kpi-par30 .figure").inner_text().endswith("%")
    page.click("#dashboard-months summary")
    assert page.locator("#dashboard-months tbody tr").count() == 12
    assert page.evaluate(FITS)
    screenshot(page, "dashboard-phone.png")
    # From his figures to the list his office works from each morning.
    page.click("#dashboard a:has-text('逾期催收清单')")
    page.wait_for_selector("h1:has-text('逾期催收清单')")
    assert page.evaluate(FITS)
    screenshot(page, "dashboard-phone-arrears.png")


def test_headquarters_dashboard_on_a_desktop(live_server, desktop):
    page = desktop.new_page()
    login(page, live_server, "reviewer1")
    assert page.locator(CHARTS).count() == 5
    # Two key figures side by side on a wide screen.
    first, second = (page.locator(f"#{k}").bounding_box() for k in ("kpi-outstanding", "kpi-par30"))
    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"]
    assert _charts_fit(page) and page.evaluate(FITS)
    screenshot(page, "dashboard-desktop.png")
