"""The desk pages a director opens on his phone, at 360 px: the top bar and the task list (issue 12 item 11)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Borrower, Loan
from app.services import jobs
from tests.e2e.conftest import PHONE, login, wait_for_state

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]

BAR_LINES = """() => {
  const bar = document.querySelector('header.topbar');
  const boxes = Array.from(bar.querySelectorAll('a, button, label, span.muted'))
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
    .map(e => e.getBoundingClientRect()).sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -1;  // a box that starts below the current line's bottom starts a new line
  for (const b of boxes) { if (b.top >= bottom - 2) { lines += 1; bottom = b.bottom; } else bottom = Math.max(bottom, b.bottom); }
  return {height: bar.getBoundingClientRect().height, lines, wide: document.documentElement.scrollWidth};
}"""


@pytest.mark.parametrize("scripts", [True, False], ids=["with-js", "without-js"])
def test_the_directors_top_bar_is_one_line_at_360_px_and_its_menu_opens(browser, live_server, scripts):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, java_script_enabled=scripts)
    try:
        page = context.new_page()
        login(page, live_server, "director1")
        bar = page.evaluate(BAR_LINES)
        assert bar["lines"] == 1 and bar["height"] < 60 and bar["wide"] <= 360, bar  # was three lines, ~130 px
        assert page.locator("header.topbar a:has-text('我的待办')").is_visible()
        assert page.locator("header.topbar a:has-text('通知')").is_visible()
        assert not page.locator("nav.mainnav >> text=贷后任务").is_visible()
        page.click("label.menu-button")
        wait_for_state(page, "document.querySelector('#menu-toggle').checked")
        for text in ("贷款申请", "借款人", "贷款", "贷后任务", "还款计算器", "退出"):
            assert page.locator(f"header.topbar >> text={text}").first.is_visible(), text
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.click("nav.mainnav >> text=贷后任务")
        page.wait_for_url(f"{live_server}/tasks/")  # waits for "load": the stylesheet is applied
        assert page.evaluate(BAR_LINES)["lines"] == 1  # the next page starts with the menu closed
    finally:
        context.close()


def test_the_directors_task_list_reads_in_whole_lines_at_360_px(app, browser, live_server):
    with app.app_context():
        jobs.run_daily(jobs.business_today())
        assert db.session.scalar(select(Loan.id).join(Borrower).where(Borrower.name == "冯十二"))
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        login(page, live_server, "director1")
        page.goto(f"{live_server}/tasks/")
        rows = page.evaluate("""() => Array.from(document.querySelectorAll('li.row[id^=task-]')).map(li => {
          const sub = li.querySelector('.row-sub'), link = sub.querySelector('a');
          const select = li.querySelector('select'), button = li.querySelector('form button');
          const r = (e) => e.getBoundingClientRect();
          return {linkOnOfficersLine: Math.abs(r(link).top - r(sub).top) < 4,
                  selectBesideButton: Math.abs(r(select).top - r(button).top) < 8 && r(select).right <= r(button).left,
                  inside: r(li).right <= 360};
        })""")
        assert rows and all(r == {"linkOnOfficersLine": True, "selectBesideButton": True, "inside": True} for r in rows), rows
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
