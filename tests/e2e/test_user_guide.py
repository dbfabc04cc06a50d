"""The screenshots of the Chinese user guides (docs/zh/), made by this test in real Chromium from the
demo data set, so the pictures never go stale: every picture a guide names must be one this run
wrote, and every picture this run writes is named by a guide.

Officers and directors at phone width (360 px), headquarters roles at 1366 px; one browser context
per role, only the screens the guides explain.
"""
from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.config import PROJECT_ROOT
from app.extensions import db
from app.models import Application, Borrower, Loan, Product, User
from tests.e2e.conftest import PHONE, login, wait_for_state
from tests.e2e.officer import enrol_phone

# The pictures are documentation: made once, on SQLite (Makefile: the MariaDB run leaves out browser_side).
pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]

GUIDES = PROJECT_ROOT / "docs" / "zh"
IMAGES = GUIDES / "img"
ROLE_GUIDES = ("officer", "director", "clerk", "reviewer", "cashier", "admin")
DESKTOP = {"width": 1366, "height": 900}
ZH = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
IMAGE_REF = re.compile(r"\]\((img/[a-z0-9-]+\.png)\)")
# The pictures show dates and times; on one fixed moment they come out the same from run to run
# (10:00 in Beijing), so a run changes a picture only when its screen changed.
FROZEN = datetime(2026, 6, 15, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    """The app's one clock (app/clock.py, the only reader of the system's time) stands at FROZEN,
    also where a module took ``now`` by name; set before the demo data is loaded (autouse)."""
    real = clock.now

    def fixed() -> datetime:
        return FROZEN

    monkeypatch.setattr(clock, "now", fixed)
    for name, module in list(sys.modules.items()):
        if name.startswith("app.") and module is not None:
            for attribute, value in list(vars(module).items()):
                if value is real:
                    monkeypatch.setattr(module, attribute, fixed)


def _application_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == name))


def _loan_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Loan.id).join(Application).join(Borrower).where(Borrower.name == name))


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def _product_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Product.id).where(Product.code == code))


class Camera:
    def __init__(self) -> None:
        IMAGES.mkdir(parents=True, exist_ok=True)
        self.written: set[str] = set()

    def shot(self, page, name: str, *, full_page: bool = False) -> None:
        page.wait_for_load_state("load")
        if page.locator("#nav-counts").count():  # the menu's badges arrive by htmx after the page
            page.wait_for_load_state("networkidle")
        # Thumbnails load lazily, below the fold only once scrolled to: a full-page picture wants them all.
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => { i.loading = 'eager'; })")
        wait_for_state(page, "[...document.images].every(i => i.complete)")
        page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring by chance
        # A whole-page picture takes the page's height as it is then: wait until it stops changing.
        wait_for_state(page, "(() => { const h = document.scrollingElement.scrollHeight;"
                             " const same = window.__guideHeight === h; window.__guideHeight = h; return same; })()")
        # caret="initial": hiding the caret leaves style="" on the inputs, which htmx's settle would
        # copy onto the next boosted page as an inline style (a CSP violation not of the app's making).
        page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=full_page, caret="initial")
        self.written.add(f"img/{name}.png")


def _officer(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow", **ZH,
                                  permissions=["geolocation"],
                                  geolocation={"latitude": 30.6612, "longitude": 104.0932, "accuracy": 12})
    context.clock.set_fixed_time(FROZEN)  # the phone's own clock agrees with the server's (timers still run)
    try:
        page = context.new_page()
        enrol_phone(app, page, base, "officer1")
        page.wait_for_selector("#view-home:not([hidden])")
        page.click("#send-now")  # the work plan comes with the next contact
        page.wait_for_selector("#list-plan li button")
        camera.shot(page, "officer-home", full_page=True)
        page.click("#new-application")
        page.wait_for_selector("#view-draft:not([hidden])")
        page.fill("#view-draft input[name=name]", "周大福")
        page.fill("#view-draft input[name=phone]", "13800138000")
        page.fill("#view-draft input[name=village]", "红星村")
        camera.shot(page, "officer-new-application", full_page=True)
        page.click("#back-home")
        page.wait_for_selector("#view-home:not([hidden])")
        page.click("#open-calculator")
        page.wait_for_selector("#view-calc:not([hidden])")
        camera.shot(page, "officer-calculator")
        page.click("#calc-back")
        page.wait_for_selector("#view-home:not([hidden])")
        page.locator("#list-plan li button").first.click()
        page.wait_for_selector("#view-visit:not([hidden])")
        camera.shot(page, "officer-visit", full_page=True)
    finally:
        context.close()


def _director(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, service_workers="allow", **ZH)
    try:
        page = context.new_page()
        login(page, base, "director1")
        camera.shot(page, "director-queue", full_page=True)
        page.click("#queue-director a:has-text('张三')")
        page.wait_for_selector("#decision")
        camera.shot(page, "director-application", full_page=True)
        page.goto(f"{base}/tasks/")
        camera.shot(page, "director-tasks", full_page=True)
    finally:
        context.close()


def _clerk(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=DESKTOP, service_workers="allow", **ZH)
    try:
        page = context.new_page()
        login(page, base, "clerk1")
        camera.shot(page, "clerk-queue")
        page.goto(f"{base}/applications/{_application_id(app, '王五')}/entry")
        page.wait_for_selector("#f-name")
        camera.shot(page, "clerk-entry")
    finally:
        context.close()


def _reviewer(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=DESKTOP, service_workers="allow", **ZH)
    try:
        page = context.new_page()
        login(page, base, "reviewer1")
        camera.shot(page, "reviewer-queue")
        page.goto(f"{base}/applications/{_application_id(app, '李四')}")
        page.wait_for_selector("#decision")
        camera.shot(page, "reviewer-l1-application", full_page=True)
        page.click("form[action$='/logout'] button")
        page.wait_for_url(f"{base}/login*")
        login(page, base, "special1")
        page.goto(f"{base}/applications/{_application_id(app, '赵六')}")
        page.wait_for_selector("#decision")
        camera.shot(page, "reviewer-special-application", full_page=True)
    finally:
        context.close()


def _cashier(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=DESKTOP, service_workers="allow", **ZH)
    try:
        page = context.new_page()
        login(page, base, "cashier1")
        camera.shot(page, "cashier-queue")
        page.goto(f"{base}/applications/{_application_id(app, '钱七')}")
        page.wait_for_selector("#decision, form[action*='disburse']")
        camera.shot(page, "cashier-disbursement", full_page=True)
        page.goto(f"{base}/loans/{_loan_id(app, '冯十二')}")
        camera.shot(page, "cashier-loan", full_page=True)
    finally:
        context.close()


ADMIN_SCREENS = (  # (picture, page, whole page)
    ("admin-offices", "/admin/offices/", False),
    ("admin-staff", "/admin/users", False),
    ("admin-products", "/admin/products", False),
    ("admin-import", "/admin/book/", False),
    ("admin-audit-log", "/admin/audit/", True),
    ("admin-daily-job", "/admin/jobs/", False),
)


def _admin(camera, app, browser, base) -> None:
    context = browser.new_context(viewport=DESKTOP, service_workers="allow", **ZH)
    try:
        page = context.new_page()
        login(page, base, "admin")
        for name, path, full_page in ADMIN_SCREENS:
            response = page.goto(base + path)
            assert response is not None and response.ok, (path, response and response.status)
            camera.shot(page, name, full_page=full_page)
        page.goto(f"{base}/admin/users/{_user_id(app, 'officer1')}")
        camera.shot(page, "admin-staff-account", full_page=True)
        page.goto(f"{base}/admin/products/{_product_id(app, 'XYD')}")
        camera.shot(page, "admin-product-terms", full_page=True)
    finally:
        context.close()


def test_the_user_guides_pictures_are_made_by_this_run(app, live_server, browser):
    started = time.time()
    # The daily job brings the demo's loans up to date: the post-loan tasks the director and the
    # officer's work plan show.
    result = app.test_cli_runner().invoke(args=["jobs", "daily"])
    assert result.exit_code == 0, result.output
    camera = Camera()
    for role in (_officer, _director, _clerk, _reviewer, _cashier, _admin):
        role(camera, app, browser, live_server)

    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    referenced: set[str] = set()
    for role in ROLE_GUIDES:
        assert f"({role}.md)" in index, f"docs/zh/README.md does not link {role}.md"
        text = (GUIDES / f"{role}.md").read_text(encoding="utf-8")
        pictures = set(IMAGE_REF.findall(text))
        assert pictures, f"{role}.md shows no screenshot"
        referenced |= pictures
    missing = referenced - camera.written
    assert not missing, f"the guides name pictures this test does not make: {sorted(missing)}"
    unused = camera.written - referenced
    assert not unused, f"pictures made but named by no guide: {sorted(unused)}"
    for picture in referenced:
        assert (GUIDES / picture).stat().st_mtime >= started - 1, f"{picture} was not written by this run"
