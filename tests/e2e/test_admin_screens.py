"""The SMS outbox, the daily job and the settings screens at 360 px and at 1366 px (issue 12
item 10): nothing wider than the screen, the resend button and the run-now button work in a real
browser under the app's CSP. Screenshots go to $SCREENSHOT_DIR when set."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Borrower, SmsMessage
from app.services import jobs
from tests.e2e.conftest import FITS, login, screenshot, wait_for_state

pytestmark = pytest.mark.e2e


def _messages(app, demo) -> int:
    today = jobs.business_today()
    with app.app_context():
        borrowers = db.session.scalars(select(Borrower).where(Borrower.officer_id == demo["officer1"])
                                       .order_by(Borrower.id)).all()
        rows = [SmsMessage(borrower_id=borrowers[0].id, kind="due", for_date=today, phone="13812345678",
                           body="【贷贷通】张三您好，您的贷款第3期应还 ¥1,234.56，今日到期，请于今日还款。", status="failed",
                           attempts=5, last_error="HTTP 503 Service Unavailable from the gateway")]
        for i, b in enumerate(borrowers):
            rows.append(SmsMessage(borrower_id=b.id, kind="before", for_date=today - timedelta(days=i + 1),
                                   phone="13912345678", body="【贷贷通】到期前提醒", status="sent", attempts=1))
        db.session.add_all(rows)
        db.session.commit()
        return rows[0].id, borrowers[0].id


# The same server work runs at 1366 px on both databases; the 360 px layout once, on SQLite.
@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_the_admin_screens_fit_and_work(app, live_server, phone, desktop, demo, size):
    message_id, borrower_id = _messages(app, demo)
    context = phone if size == "phone" else desktop
    page = context.new_page()
    login(page, live_server, "admin")
    width = 360 if size == "phone" else 1366

    page.goto(f"{live_server}/outbox/")
    assert page.evaluate(FITS), "the outbox is wider than the screen"
    assert "138****5678" in page.inner_text(f"#sms-{message_id}")
    screenshot(page, f"outbox-{width}.png")
    page.click(f"#sms-{message_id} button")
    wait_for_state(page, f"document.querySelector('#sms-{message_id}')?.dataset.status === 'queued'")
    screenshot(page, f"outbox-resent-{width}.png")

    page.goto(f"{live_server}/admin/jobs/")
    page.click("#run-now")
    wait_for_state(page, "document.querySelectorAll('#job-runs tbody tr').length === 1")
    assert page.evaluate(FITS), "the job screen is wider than the screen"
    screenshot(page, f"jobs-{width}.png")

    page.goto(f"{live_server}/admin/settings/")
    page.fill("input[name=min_client_version]", "9.0.0")
    page.click("button[type=submit].primary")
    wait_for_state(page, "!!document.querySelector('#err-min-version')")
    assert page.evaluate(FITS), "the settings screen is wider than the screen"
    screenshot(page, f"settings-{width}.png")

    page.goto(f"{live_server}/borrowers/{borrower_id}")
    wait_for_state(page, "!!document.querySelector('#borrower-sms')")
    assert page.evaluate(FITS), "the borrower page is wider than the screen"
    screenshot(page, f"borrower-{width}.png")
