"""The officer's repayment calculator works offline and gives exactly the server's figures."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain.schedule import ScheduleRequest, build_schedule
from app.extensions import db
from app.models import Product
from tests.e2e.officer import enrol_phone

pytestmark = [pytest.mark.e2e, pytest.mark.browser_side]


def test_offline_calculator_matches_the_server_engine(app, live_server, officer_phone):
    page = officer_phone.new_page()
    enrol_phone(app, page, live_server)
    officer_phone.set_offline(True)
    page.reload()
    page.wait_for_selector("#view-home:not([hidden])")
    page.click("#open-calculator")
    page.wait_for_selector("#view-calc:not([hidden])")
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.code == "XYD"))
        expected = build_schedule(ScheduleRequest(
            principal=Decimal("23456.78"), annual_rate=Decimal("0.108"), term_months=18, method=product.repayment_method,
            start=date(2026, 1, 31), frequency=product.frequency, day_count=product.day_count,
        ))
        product_id = product.id
    page.select_option("#calc-product", str(product_id))
    page.fill("#calc-form input[name=amount]", "23456.78")
    page.fill("#calc-form input[name=term_months]", "18")
    page.fill("#calc-form input[name=rate_percent]", "10.8")
    page.fill("#calc-form input[name=start]", "2026-01-31")
    page.click("#calc-form button[type=submit]")
    page.wait_for_selector("#calc-result:not([hidden])")
    rows = page.eval_on_selector_all("#calc-lines tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert len(rows) == 18
    for row, line in zip(rows, expected.lines):
        assert row[1] == line.due_date.isoformat()
        assert [cell.replace("¥", "").replace(",", "") for cell in row[2:5]] == [f"{line.principal:.2f}", f"{line.interest:.2f}", f"{line.total:.2f}"]
    assert page.inner_text("#calc-interest").replace("¥", "").replace(",", "") == f"{expected.total_interest:.2f}"
    # A rate the product does not allow is refused, offline too, in the officer's language.
    page.fill("#calc-form input[name=rate_percent]", "99")
    page.click("#calc-form button[type=submit]")
    assert "利率" in page.inner_text("#calc-error") and page.is_hidden("#calc-result")
