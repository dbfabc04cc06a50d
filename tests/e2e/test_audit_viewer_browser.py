"""The audit log viewer in Chromium at 360 px and 1366 px (issue 13, audit): it fits the screen,
"more" appends the next page through htmx under the app's CSP, a hostile detail stays text."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import AuditLog
from tests.e2e.conftest import FITS, login, wait_for_state

pytestmark = pytest.mark.e2e

ROWS = "document.querySelectorAll('#audit-rows tr.audit-row').length"


# The same server work runs at 1366 px on both databases; the 360 px layout once, on SQLite.
@pytest.mark.parametrize("size", [pytest.param("phone", marks=pytest.mark.browser_side), "desktop"])
def test_the_audit_viewer_fits_pages_and_escapes(app, live_server, phone, desktop, demo, size):
    with app.app_context():
        db.session.execute(insert(AuditLog), [
            {"at": datetime(2026, 1, 1, tzinfo=timezone.utc), "actor_id": demo["admin"], "action": "e2e.test",
             "object_type": "product", "object_id": i, "ip": "10.0.0.1",
             "detail": {"before": {"name": "<script>window.pwned=1</script>"}, "after": {"name": "新名称"}}}
            for i in range(70)])
        db.session.commit()
    page = (phone if size == "phone" else desktop).new_page()
    login(page, live_server, "auditor1")
    page.goto(f"{live_server}/admin/audit/?action=e2e.test")
    assert page.evaluate(ROWS) == 50
    assert page.evaluate(FITS), "the audit viewer is wider than the screen"
    assert "<script>window.pwned=1</script>" in page.inner_text("#audit-rows")
    page.click("#audit-more")
    wait_for_state(page, f"{ROWS} === 70")
    assert page.query_selector("#audit-more") is None
    assert page.evaluate("window.pwned === undefined")
    assert page.evaluate(FITS)
