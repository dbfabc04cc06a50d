"""A loan extended after a harvest failure, in Chromium: the officer asks on his phone (360 px), the
first-level reviewer approves at his desk, and the loan's page and account show the new schedule
and the entry it made."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Loan, User
from app.models.restructuring import LoanRestructuring
from tests.e2e.conftest import FITS, login, screenshot

pytestmark = pytest.mark.e2e


def _late_loan_of_officer1(app) -> tuple[int, str]:
    with app.app_context():
        officer = db.session.scalar(select(User.id).where(User.username == "officer1"))
        loan = db.session.scalar(select(Loan).where(Loan.status == "active", Loan.officer_id == officer).order_by(Loan.id))
        return loan.id, loan.repayment_method


def test_an_extension_asked_on_the_phone_and_approved_at_the_desk(app, live_server, browser, desktop, phone):
    loan_id, method = _late_loan_of_officer1(app)
    small = phone.new_page()
    login(small, live_server, "officer1")
    small.goto(f"{live_server}/loans/{loan_id}")
    small.click("#restructuring a.button")
    small.wait_for_selector("#restructure-form")
    assert small.evaluate(FITS), "the request form is wider than the phone"
    small.check("input[name=kind][value=extension]")
    small.select_option("select[name=reason]", "harvest_failure")
    small.fill("textarea[name=note]", "6月12日冰雹，玉米绝收")
    small.fill("input[name=term_months]", "12")
    small.click("#restructure-form button[type=submit]")
    small.wait_for_selector("#restructure-request")
    assert "等待决定" in small.inner_text("#restructure-status") or "待审批" in small.inner_text("#restructure-status")
    assert small.evaluate(FITS)
    screenshot(small, "restructure-request-phone.png")

    page = desktop.new_page()
    login(page, live_server, "reviewer1")
    page.click("#main-menu a[href='/restructurings']")
    page.click("#restructurings-pending a")
    page.fill("#restructure-decision input[name=comment]", "经核实，冰雹灾害属实")
    page.click("#restructure-decision button[value=approve]")
    page.wait_for_selector("#old-schedule")
    assert "经核实" in page.inner_text("#restructure-decisions")
    screenshot(page, "restructure-approved-desktop.png")
    page.goto(f"{live_server}/loans/{loan_id}")
    assert "已于" in page.inner_text("#restructuring")  # 已于 … 重组
    accountant = browser.new_context(viewport={"width": 1366, "height": 900})
    books = accountant.new_page()  # the loan's account is the books' (cashier, accountant, auditor)
    login(books, live_server, "accountant1")
    books.goto(f"{live_server}/loans/{loan_id}/account")
    with app.app_context():
        row = db.session.scalar(select(LoanRestructuring).where(LoanRestructuring.loan_id == loan_id))
        assert row.status == "approved"
        posted = row.entry_id is not None
    # Carried, not capitalised: an entry only where the books move (penalty becomes interest owed,
    # interest earned but not yet accrued is recognised); the page shows it when there is one.
    assert (books.locator("#account-entries tr.entry-restructure").count() >= 1) == posted
    assert books.evaluate(FITS), "the loan's account is wider than the desk window"
    assert "放款" in books.inner_text("#account-entries")  # each entry's summary names its kind
    screenshot(books, "restructure-account-desktop.png")
    accountant.close()
