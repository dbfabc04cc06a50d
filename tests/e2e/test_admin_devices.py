"""The admin's phones page on a 360 px phone: each phone told apart by model and number, and
"report lost" only after a page that says what will happen."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Device, User
from app.services import devices as device_service
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

XIAOMI = ("Mozilla/5.0 (Linux; Android 13; 2201123C Build/TKQ1.221114.001; wv) AppleWebKit/537.36 "
          "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36")
SAMSUNG = "Mozilla/5.0 (Linux; Android 12; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Mobile Safari/537.36"


def _enrol(app, user_agent: str, number: str, replace: bool = False) -> int:
    now = datetime.now(timezone.utc)
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        officer = db.session.scalar(select(User).where(User.username == "officer1"))
        code = device_service.create_enrolment_code(officer, admin=admin, now=now)
        return device_service.redeem(code, officer, label="", phone_number=number, now=now, user_agent=user_agent,
                                     replace=replace).device.id


def test_the_admin_tells_phones_apart_and_reports_one_lost_after_confirming(app, live_server, phone):
    old = _enrol(app, XIAOMI, "13800000001")
    new = _enrol(app, SAMSUNG, "13800000002", replace=True)  # a replacement: the old one is switched off
    page = phone.new_page()
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/devices")

    old_row, new_row = page.locator(f"#device-{old}"), page.locator(f"#device-{new}")
    assert "2201123C · Android 13" in old_row.inner_text() and "13800000001" in old_row.inner_text()
    assert "SM-A525F · Android 12" in new_row.inner_text() and "13800000002" in new_row.inner_text()
    assert "已挂失停用或已更换" in old_row.inner_text() and "使用中" in new_row.inner_text()
    assert "1 部" in page.inner_text("#officer-" + str(_officer_id(app)))  # one in use of one allowed

    # Plain words, reachable at 360 px without scrolling sideways.
    lost = new_row.get_by_role("link", name="挂失停用")
    replace = new_row.get_by_role("button", name="更换")
    for control in (lost, replace):
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # One tap does not switch it off: a page says what will happen.
    lost.click()
    page.wait_for_url(f"{live_server}/admin/devices/{new}/lost")
    text = page.inner_text("#device-lost")
    assert "SM-A525F" in text and "13800000002" in text and "李明" in text
    assert "删除" in text and "退出登录" in text and "无法撤销" in text
    with app.app_context():
        assert db.session.get(Device, new).status == "active"
    page.get_by_role("button", name="确定挂失停用").click()
    page.wait_for_url(f"{live_server}/admin/devices")
    assert "已挂失停用或已更换" in page.locator(f"#device-{new}").inner_text()
    with app.app_context():
        assert db.session.get(Device, new).status == "revoked"


def _officer_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == "officer1"))
