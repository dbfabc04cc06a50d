"""In Chromium: the clerk keys in a guarantor at data entry; the first-level reviewer sees him on the
application page, logs a credit-bureau query and uploads its report, and sees the figures read;
the guarantor box on a 360 px phone."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, Borrower
from app.models.credit import BureauQuery, Guarantee
from app.services.demo import demo_entry, demo_id_number
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state
from tests.support.bureau_report import report_text, text_pdf

pytestmark = pytest.mark.e2e

GUARANTOR_ID = demo_id_number("513401", date(1972, 2, 2), 582)


def test_clerk_keys_a_guarantor_and_the_reviewer_queries_the_bureau(app, live_server, desktop, tmp_path):
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower, Application.borrower_id == Borrower.id)
                              .where(Borrower.name == "王五"))
        app_id, values = a.id, demo_entry(a)
    values.update(guarantor_name="陈保人", guarantor_id_number=GUARANTOR_ID, guarantor_phone="13990001111")
    page = desktop.new_page()
    login(page, live_server, "clerk1")
    page.goto(f"{live_server}/applications/{app_id}/entry")
    for key, value in values.items():
        field = page.locator(f"#f-{key}")
        if not field.count() or not value:
            continue
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("button[value=complete]")
    page.wait_for_url(f"{live_server}/applications/{app_id}")
    with app.app_context():
        g = db.session.scalar(select(Guarantee).where(Guarantee.application_id == app_id))
        assert g is not None and g.guarantor.name == "陈保人" and g.status == "active"

    reviewer = desktop.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        review = reviewer.new_page()
        login(review, live_server, "reviewer1")
        review.goto(f"{live_server}/applications/{app_id}")
        box = review.locator("#guarantors .guarantor")
        box.wait_for()
        text = box.inner_text()
        assert "陈保人" in text and GUARANTOR_ID not in text and GUARANTOR_ID[-4:] in text
        assert "100,000.00" in text and "20,000.00" in text
        # The bureau: purpose, reference, the report PDF; the figures read appear beside its link.
        review.locator("#bureau-form").wait_for()
        review.select_option("#bureau-form select[name=purpose]", "loan_approval")
        pdf = tmp_path / "征信报告.pdf"
        pdf.write_bytes(text_pdf(report_text(open_loans=2, overdue_count=1, worst="关注")))
        review.set_input_files("#bureau-form input[name=report]", str(pdf))
        review.click("#bureau-form button[type=submit]")
        review.wait_for_selector("#bureau .bureau-figures")
        figures = review.inner_text("#bureau .bureau-figures")
        assert "未结清贷款笔数" in figures and "关注" in figures
        assert "征信查询已登记" in review.inner_text("#messages")
        link = review.locator("#bureau a:has-text('打开报告')")
        assert link.count() == 1
        screenshot(review, "reviewer-bureau.png")
    finally:
        reviewer.close()
    with app.app_context():
        q = db.session.scalar(select(BureauQuery))
        assert q.figures["open_loans"] == 2 and q.status == "report_attached"


def test_the_guarantor_box_fits_a_360_px_phone(app, live_server, phone):
    with app.app_context():
        a = db.session.scalar(select(Application).join(Borrower, Application.borrower_id == Borrower.id)
                              .where(Borrower.name == "张三"))
        guarantor = db.session.scalar(select(Borrower).where(Borrower.name == "冯十二"))
        db.session.add(Guarantee(application_id=a.id, guarantor_id=guarantor.id, amount=a.amount))
        db.session.commit()
        app_id = a.id
    page = phone.new_page()
    login(page, live_server, "director1")
    page.goto(f"{live_server}/applications/{app_id}")
    page.locator("#guarantors .guarantor").wait_for()
    assert "冯十二" in page.inner_text("#guarantors")
    wait_for_state(page, FITS)
    box = page.locator("#guarantors").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    screenshot(page, "guarantors-360.png")
