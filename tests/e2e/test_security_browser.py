"""Security in the real browser: the CSP blocks nothing the app itself needs on its main pages,
and data shown by scripts (a borrower's name on the trail map) is text, never markup."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower, FollowUpTask, Loan, Product, User
from app.services import jobs
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]

# The shared desktop and officer_phone contexts keep the app's CSP in force (tests/e2e/conftest.py).
# Reports every CSP violation to the console, whatever the page does with it.
WATCH = """document.addEventListener('securitypolicyviolation', (e) =>
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def _watch(context) -> list[str]:
    problems: list[str] = []
    context.add_init_script(WATCH)

    def on_page(page):
        page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
                if m.type == "error" and ("Content Security Policy" in m.text or "CSP violation" in m.text
                                          or "Permissions-Policy" in m.text or "Permissions policy" in m.text) else None)
        page.on("pageerror", lambda e: problems.append(f"{page.url}: script error {e}"))

    context.on("page", on_page)
    return problems


def _ids(app) -> dict:
    with app.app_context():
        one = lambda stmt: db.session.scalar(stmt)  # noqa: E731
        return {
            "entry": one(select(Application.id).where(Application.state == "awaiting_entry").order_by(Application.id)),
            "app": one(select(Application.id).order_by(Application.id)),
            "borrower": one(select(Borrower.id).order_by(Borrower.id)),
            "loan": one(select(Loan.id).order_by(Loan.id)),
            "officer1": one(select(User.id).where(User.username == "officer1")),
            "product": one(select(Product.id).order_by(Product.id)),
        }


def _visit(page, base: str, paths: list[str]) -> None:
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")


def test_main_pages_raise_no_csp_violation(app, live_server, desktop, officer_phone):
    ids = _ids(app)
    problems = _watch(desktop)
    page = desktop.new_page()
    pages = {
        "clerk1": ["/", "/applications/", f"/applications/{ids['entry']}", f"/applications/{ids['entry']}/entry",
                   "/borrowers/", f"/borrowers/{ids['borrower']}", "/notifications", "/password", "/calculator"],
        "cashier1": ["/loans", f"/loans/{ids['loan']}", f"/loans/{ids['loan']}/note", f"/loans/{ids['loan']}/account"],
        "director1": ["/tasks/", f"/tasks/trail/{ids['officer1']}", f"/applications/{ids['app']}"],
        "admin": ["/admin/users", "/admin/devices", "/admin/products", f"/admin/products/{ids['product']}/rules",
                  f"/admin/products/{ids['product']}/post-loan"],
    }
    for username, paths in pages.items():
        desktop.clear_cookies()
        login(page, live_server, username)
        _visit(page, live_server, paths)
    # A boosted navigation (htmx swaps the body) and an htmx search.
    desktop.clear_cookies()
    login(page, live_server, "clerk1")
    page.click("nav.mainnav >> text=借款人")
    page.wait_for_url(f"{live_server}/borrowers/")
    page.wait_for_load_state("networkidle")
    # The early settlement quote on the loan page: its result swapped in by htmx, no navigation.
    desktop.clear_cookies()
    login(page, live_server, "cashier1")
    _visit(page, live_server, [f"/loans/{ids['loan']}"])
    page.click("#quote button[type=submit]")
    page.wait_for_selector("#quote-total")
    assert page.url == f"{live_server}/loans/{ids['loan']}" and "¥" in page.inner_text("#quote-total")
    # The officer's phone app, with its own scripts, camera and geolocation allowed there.
    phone_problems = _watch(officer_phone)
    phone = officer_phone.new_page()
    login(phone, live_server, "officer1")
    _visit(phone, live_server, ["/m/", "/m/enrol"])
    assert phone.evaluate("document.featurePolicy ? document.featurePolicy.allowsFeature('geolocation') : true")
    assert problems == [] and phone_problems == []


@pytest.mark.csp_violation_expected
def test_an_injected_inline_script_is_refused_by_the_browser(live_server, desktop):
    # The policy really is in force: a script element added without a file does not run.
    page = desktop.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{live_server}/login")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                             document.body.appendChild(s); }""")
    assert page.evaluate("window.__ran === undefined")
    assert any("Content Security Policy" in m for m in messages)


HOSTILE = '<img src=x onerror="window.__xss=1">'


def test_a_hostile_borrower_name_on_the_trail_map_is_shown_as_text(app, live_server, desktop):
    """Stored XSS: the name goes into Leaflet's tooltip, which takes HTML."""
    with app.app_context():
        loan = db.session.scalar(select(Loan).join(Borrower).where(Borrower.name == "冯十二"))
        loan.borrower.name = HOSTILE
        loan.borrower.home_lat, loan.borrower.home_lon = 30.70, 104.14  # apart: its pin covers nothing
        db.session.commit()
        jobs.run_daily(jobs.business_today())
        task = db.session.scalar(select(FollowUpTask).where(FollowUpTask.loan_id == loan.id).order_by(FollowUpTask.id))
        now = datetime.now(timezone.utc) - timedelta(minutes=5)
        task.status, task.completed_at = "done", now
        task.visit_lat, task.visit_lon, task.on_site, task.distance_m = 30.6801, 104.1001, True, 15
        officer_id = task.officer_id
        db.session.commit()
    page = desktop.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/tasks/trail/{officer_id}")
    page.wait_for_selector("#trail-map path.leaflet-interactive")
    visit = page.locator("#trail-map path.leaflet-interactive").last
    visit.dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for()
    assert HOSTILE in tooltip.inner_text()  # the name as typed, as text
    assert tooltip.locator("img").count() == 0
    assert page.evaluate("window.__xss === undefined")
