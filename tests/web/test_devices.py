"""Officers' phones: one in use unless the admin allows more, a replacement only after the officer
confirms, told apart by model and number, and switched off as lost only after a confirmation."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Device, User
from app.services import devices as device_service
from tests.conftest import Auth

ANDROID = ("Mozilla/5.0 (Linux; Android 13; 2201123C Build/TKQ1.221114.001; wv) AppleWebKit/537.36 "
           "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36")
OTHER = "Mozilla/5.0 (Linux; Android 12; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Mobile Safari/537.36"


def _code(app, username: str = "officer1") -> str:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        officer = db.session.scalar(select(User).where(User.username == username))
        return device_service.create_enrolment_code(officer, admin=admin, now=datetime.now(timezone.utc))


def _enrol(officer: Auth, code: str, user_agent: str, **extra):
    token = officer.client.get("/m/enrol").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    return officer.client.post("/m/enrol", json={"code": code, "label": "", "phone_number": extra.pop("number", ""), **extra},
                               headers={"X-CSRFToken": token, "User-Agent": user_agent})


def _devices(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(d.status, d.model, d.phone_number) for d in db.session.scalars(select(Device).order_by(Device.id))]


def test_a_second_phone_replaces_the_first_only_after_the_officer_confirms(app, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    first = _enrol(officer, _code(app), ANDROID, number="13800000001")
    assert first.status_code == 200
    code = _code(app)
    asked = _enrol(officer, code, OTHER)
    assert asked.status_code == 409 and asked.get_json()["error"] == "replace_needed"
    message = asked.get_json()["message"]
    assert "2201123C" in message and "13800000001" in message  # which phone it would replace
    assert _devices(app) == [("active", "2201123C · Android 13", "13800000001")]  # nothing changed, code unused
    confirmed = _enrol(officer, code, OTHER, replace=True)
    assert confirmed.status_code == 200
    assert _devices(app) == [("revoked", "2201123C · Android 13", "13800000001"), ("active", "SM-A525F · Android 12", "")]
    # The officer stays logged in on the new phone (a replacement, not a loss).
    assert officer.client.get("/m/enrol").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "device_replaced")) is not None


def test_with_the_admins_allowance_an_officer_holds_two_phones(app, client, auth, demo):
    auth.login("admin")
    with app.app_context():
        officer_id = db.session.scalar(select(User.id).where(User.username == "officer1"))
    assert auth.post(f"/admin/users/{officer_id}/device-allowance", {"max_active": "2"}).status_code == 303
    assert auth.post(f"/admin/users/{officer_id}/device-allowance", {"max_active": "9"}).status_code == 303  # refused
    officer = Auth(app.test_client())
    officer.login("officer1")
    assert _enrol(officer, _code(app), ANDROID).status_code == 200
    assert _enrol(officer, _code(app), OTHER).status_code == 200
    assert [s for s, _m, _n in _devices(app)] == ["active", "active"]
    assert _enrol(officer, _code(app), OTHER).status_code == 409  # the third needs a replacement
    with app.app_context():
        assert device_service.allowance(db.session.get(User, officer_id)) == 2


def test_report_lost_is_never_one_click_and_says_what_will_happen(app, client, auth, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    _enrol(officer, _code(app), ANDROID, number="13800000001")
    with app.app_context():
        device_id = db.session.scalar(select(Device.id))
    auth.login("admin")
    page = client.get("/admin/devices").get_data(as_text=True)
    assert "2201123C · Android 13" in page and "13800000001" in page and "挂失停用" in page and "更换" in page
    one_click = auth.post(f"/admin/devices/{device_id}/status", {"status": "revoked"})
    assert one_click.status_code == 303 and one_click.headers["Location"].endswith(f"/admin/devices/{device_id}/lost")
    assert _devices(app)[0][0] == "active"
    confirm = client.get(f"/admin/devices/{device_id}/lost").get_data(as_text=True)
    assert "删除" in confirm and "李明" in confirm and "退出登录" in confirm and "2201123C" in confirm
    assert auth.post(f"/admin/devices/{device_id}/status", {"status": "revoked", "confirm": "1"}).status_code == 303
    assert _devices(app)[0][0] == "revoked"
    assert officer.client.get("/m/enrol").status_code in (302, 303, 401)  # logged out everywhere


def test_the_model_follows_what_the_phone_s_requests_say(app, client, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    body = _enrol(officer, _code(app), "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36").get_json()
    assert _devices(app)[0][1] == "Android 10"  # Chrome's reduced user agent names no model
    headers = {"Authorization": f"Bearer {body['token']}", "X-Device-Id": body["device_uuid"],
               "X-Client-Version": app.config["CLIENT_VERSION"], "User-Agent": ANDROID}
    assert client.get("/api/v1/device", headers=headers).status_code == 200
    assert _devices(app)[0][1] == "2201123C · Android 13"


def test_putting_a_phone_back_in_use_beyond_the_allowance_is_refused(app, client, auth, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    _enrol(officer, _code(app), ANDROID)
    with app.app_context():
        first = db.session.scalar(select(Device.id))
    auth.login("admin")
    auth.post(f"/admin/devices/{first}/status", {"status": "retired"})
    _enrol(officer, _code(app), OTHER)  # the retired one is not in use: no replacement needed
    assert [s for s, _m, _n in _devices(app)] == ["retired", "active"]
    r = auth.post(f"/admin/devices/{first}/status", {"status": "active"})
    assert r.status_code == 303 and [s for s, _m, _n in _devices(app)] == ["retired", "active"]
