"""A phone enrolled from the Android app is bound to its SIM card: another SIM (or none) holds it —
refused with 403 sim_changed, recorded once, the admins and the office director told — until the
admin re-approves the new SIM or revokes the phone. A phone enrolled from a browser is not bound.
The SIMs are the protocol's example identities (tests/sim_identities.py)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Device, Notification, User
from tests.conftest import Auth
from tests.sim_identities import compact, header
from tests.sync_helpers import jpeg_bytes, manifest, upload
from tests.web.test_devices import ANDROID, _code

HELD = "本机 SIM 卡已更换（或已取出），暂停同步，请联系管理员重新核准。"


def _enrol(app, sim: dict | None, **extra) -> tuple[Auth, dict, object]:
    """Enrol officer1's phone through /m/enrol as the page does; the API headers and the answer."""
    officer = Auth(app.test_client())
    officer.login("officer1")
    csrf = officer.client.get("/m/enrol").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    body = {"code": _code(app), "label": "", "phone_number": "13800138000", **extra}
    if sim is not None:
        body["sim"] = sim
    answer = officer.client.post("/m/enrol", json=body, headers={"X-CSRFToken": csrf, "User-Agent": ANDROID})
    data = answer.get_json()
    headers = {"Authorization": f"Bearer {data.get('token')}", "X-Device-Id": str(data.get("device_uuid")),
               "X-Client-Version": app.config["CLIENT_VERSION"], "User-Agent": ANDROID}
    return officer, headers, answer


def _device(app) -> Device:
    with app.app_context():
        device = db.session.scalar(select(Device).order_by(Device.id.desc()))
        db.session.expunge(device)
        return device


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _notified(app, kind: str = "device_sim_changed") -> dict[str, str]:
    with app.app_context():
        return {u: link for u, link in db.session.execute(
            select(User.username, Notification.link).join(User, User.id == Notification.user_id)
            .where(Notification.kind == kind))}


def test_enrolment_with_a_sim_binds_the_phone_to_a_fingerprint_and_a_safe_label(app, demo):
    _officer, headers, answer = _enrol(app, compact("full"))
    assert answer.status_code == 200
    device = _device(app)
    assert len(device.sim_fingerprint) == 64 and device.sim_label == "中国移动 …1234" and device.sim_bound_at
    assert device.sim_changed_at is None
    with app.app_context():  # the IMSI is kept nowhere: not in the row, not in the audit
        row = db.session.execute(select(Device.__table__)).mappings().one()
        assert not any("460001234567890" in str(v) for v in row.values())
        assert "460001234567890" not in str(db.session.scalars(select(AuditLog.detail)).all())


def test_the_same_sim_passes_another_sim_is_held_once_and_told_to_admin_and_director(app, client, demo):
    _officer, headers, _answer = _enrol(app, compact("full"))
    same = client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("full")})
    assert same.status_code == 200
    other = client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("other-sim")})
    assert other.status_code == 403
    assert other.get_json() == {"error": "sim_changed", "message": HELD, "wipe": False}
    device = _device(app)
    assert device.sim_changed_at and device.sim_changed_label == "中国联通 …9876" and device.status == "active"
    # Held until the admin acts: the old SIM back is refused too, and recorded only once.
    back = client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("full")})
    assert back.status_code == 403 and back.get_json()["error"] == "sim_changed"
    assert client.get("/api/v1/bootstrap", headers={**headers, "X-Device-Sim": header("other-sim")}).status_code == 403
    assert _count(app, AuditLog, AuditLog.action == "device_sim_changed") == 1
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "device_sim_changed"))
        assert "中国移动 …1234" in str(entry.detail) and "中国联通 …9876" in str(entry.detail)
    assert _notified(app) == {"admin": f"/admin/devices#device-{device.id}", "director1": f"/phones/#device-{device.id}"}


def test_the_admin_sees_the_badge_and_re_approves_the_new_sim_then_the_old_one_is_refused(app, client, auth, demo):
    _officer, headers, _answer = _enrol(app, compact("full"))
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("other-sim")}).status_code == 403
    device = _device(app)
    auth.login("admin")
    page = client.get("/admin/devices").get_data(as_text=True)
    row = page.split(f'id="device-{device.id}"')[1].split("</tr>")[0]
    assert "SIM 卡已更换" in row and "中国联通 …9876" in row and "重新核准" in row and "460019876543210" not in row
    assert "SIM 卡已更换" in client.get("/notifications").get_data(as_text=True)
    approved = auth.post(f"/admin/devices/{device.id}/sim-approve")
    assert approved.status_code == 303
    assert "重新核准" not in client.get("/admin/devices").get_data(as_text=True).split(f'id="device-{device.id}"')[1].split("</tr>")[0]
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("other-sim")}).status_code == 200
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("full")}).status_code == 403
    assert _count(app, AuditLog, AuditLog.action == "device_sim_reapproved") == 1
    assert _count(app, AuditLog, AuditLog.action == "device_sim_changed") == 2  # the old SIM is now the change


def test_the_admin_may_revoke_a_held_phone_instead_and_it_is_told_to_wipe(app, client, auth, demo):
    _officer, headers, _answer = _enrol(app, compact("full"))
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("no-sim")}).status_code == 403
    device = _device(app)
    assert device.sim_changed_label == "absent"
    auth.login("admin")
    assert "无 SIM 卡" in client.get("/admin/devices").get_data(as_text=True)
    assert auth.post(f"/admin/devices/{device.id}/status", {"status": "revoked", "confirm": "1"}).status_code == 303
    gone = client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("full")})
    assert gone.status_code == 401 and gone.get_json()["error"] == "device_revoked" and gone.get_json()["wipe"] is True
    # A revoked phone is not re-approved.
    refused = auth.post(f"/admin/devices/{device.id}/sim-approve")
    assert refused.status_code == 303 and _device(app).status == "revoked"
    assert _count(app, AuditLog, AuditLog.action == "device_sim_reapproved") == 0


def test_a_bound_phone_without_the_header_or_with_a_malformed_one_is_held_never_a_500(app, client, auth, demo):
    _officer, headers, _answer = _enrol(app, compact("restricted"))
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("restricted")}).status_code == 200
    for bad in (None, "{", "[]", header("restricted").replace('"v":1', '"v":2'), "x" * 2000, header("full") + " "):
        sent = headers if bad is None else {**headers, "X-Device-Sim": bad}
        r = client.get("/api/v1/device", headers=sent)
        assert r.status_code == 403 and r.is_json and r.get_json()["error"] == "sim_changed", bad
    device = _device(app)
    assert device.sim_changed_label == "unreadable" and device.sim_changed_fingerprint == ""
    assert _count(app, AuditLog, AuditLog.action == "device_sim_changed") == 1
    # Nothing readable to approve: the admin is told to revoke it or have it enrolled again.
    auth.login("admin")
    row = client.get("/admin/devices").get_data(as_text=True).split(f'id="device-{device.id}"')[1].split("</tr>")[0]
    assert "无可读取的 SIM 卡信息" in row and "重新核准" not in row
    assert auth.post(f"/admin/devices/{device.id}/sim-approve").status_code == 303
    assert _device(app).sim_changed_at is not None


def test_a_phone_enrolled_from_a_browser_is_not_bound_and_any_header_is_ignored(app, client, demo):
    _officer, headers, answer = _enrol(app, None)
    assert answer.status_code == 200 and _device(app).sim_fingerprint == ""
    assert client.get("/api/v1/device", headers=headers).status_code == 200
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("other-sim")}).status_code == 200
    assert client.get("/api/v1/device", headers={**headers, "X-Device-Sim": "{"}).status_code == 200
    assert _count(app, AuditLog, AuditLog.action == "device_sim_changed") == 0


def test_a_malformed_sim_at_enrolment_is_refused_in_chinese_and_nothing_is_written(app, demo):
    for bad in ("460001234567890", [1], compact("full") | {"imsi": "46000abc"}, compact("full") | {"extra": 1},
                compact("no-sim") | {"serial": "89860012345678901234"}):
        _officer, _headers, answer = _enrol(app, bad)
        assert answer.status_code == 422 and answer.get_json()["error"] == "bad_sim", bad
        assert "SIM 卡信息" in answer.get_json()["message"]
    # Android refused every identifier (the phone permission denied): told what to allow.
    _officer, _headers, answer = _enrol(app, compact("restricted") | {"subscription_id": None})
    assert answer.status_code == 422 and "电话" in answer.get_json()["message"] and "权限" in answer.get_json()["message"]
    assert _count(app, Device) == 0


def test_an_enrolment_body_that_is_not_an_object_is_refused_not_a_500(app, demo):
    officer = Auth(app.test_client())
    officer.login("officer1")
    csrf = officer.client.get("/m/enrol").get_data(as_text=True).split('"X-CSRFToken": "')[1].split('"')[0]
    r = officer.client.post("/m/enrol", json=[1, 2], headers={"X-CSRFToken": csrf})
    assert r.status_code == 400 and r.get_json()["error"] == "bad_code"


def test_the_uploads_of_a_held_phone_are_refused_too(app, client, demo):
    _officer, headers, _answer = _enrol(app, compact("full"))
    good = {**headers, "X-Device-Sim": header("full")}
    body, blobs = manifest(app, [jpeg_bytes(seed=s) for s in range(5)])
    assert client.post("/api/v1/applications", json=body, headers=good).status_code == 201
    first = body["photos"][0]["uuid"]
    assert client.head(f"/api/v1/uploads/{first}", headers=good).status_code == 200
    other = {**headers, "X-Device-Sim": header("other-sim")}
    head = client.head(f"/api/v1/uploads/{first}", headers=other)
    assert head.status_code == 403 and "Upload-Offset" not in head.headers
    patch = upload(client, other, first, blobs[0])
    assert patch.status_code == 403 and patch.get_json()["error"] == "sim_changed"
    assert client.head(f"/api/v1/uploads/{first}", headers=good).headers.get("Upload-Offset") is None


def test_the_director_sees_his_officers_held_phone_and_other_directors_do_not(app, client, auth, demo):
    _officer, headers, _answer = _enrol(app, compact("full"))
    client.get("/api/v1/device", headers={**headers, "X-Device-Sim": header("other-sim")})
    device = _device(app)
    auth.login("director1")
    assert 'href="/phones/"' in client.get("/tasks/").get_data(as_text=True)  # where he finds it unprompted
    notices = client.get("/notifications").get_data(as_text=True)
    assert "SIM 卡已更换" in notices and f"/phones/#device-{device.id}" in notices
    page = client.get("/phones/").get_data(as_text=True)
    row = page.split(f'id="device-{device.id}"')[1].split("</tr>")[0]
    assert "SIM 卡已更换" in row and "中国联通 …9876" in row and "sim-approve" not in page
    other = Auth(app.test_client())
    other.login("director2")
    assert f'id="device-{device.id}"' not in other.client.get("/phones/").get_data(as_text=True)
    officer = Auth(app.test_client())
    officer.login("officer1")
    assert officer.client.get("/phones/").status_code == 403
    assert 'href="/phones/"' not in officer.client.get("/tasks/").get_data(as_text=True)


def _statements(app, client, path: str, headers: dict) -> int:
    from sqlalchemy import event

    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path, headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_sim_check_costs_no_query_on_the_hot_path(app, client, demo):
    _officer, bound, _answer = _enrol(app, compact("full"))
    bound = {**bound, "X-Device-Sim": header("full")}
    client.get("/api/v1/device", headers=bound)  # last_seen written once; the calls below write nothing
    with_sim = _statements(app, client, "/api/v1/device", bound)
    _officer, browser, _answer = _enrol(app, None, replace=True)  # the browser phone replaces it
    client.get("/api/v1/device", headers=browser)
    without = _statements(app, client, "/api/v1/device", browser)
    assert with_sim == without


def test_concurrent_calls_with_another_sim_record_the_change_once(app, demo):
    import threading

    _officer, headers, _answer = _enrol(app, compact("full"))
    other = {**headers, "X-Device-Sim": header("other-sim")}
    start = threading.Barrier(4)
    statuses: list[int] = []

    def call():
        client = app.test_client()
        start.wait()
        statuses.append(client.get("/api/v1/device", headers=other).status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [403] * 4
    assert _count(app, AuditLog, AuditLog.action == "device_sim_changed") == 1
    assert _count(app, Notification, Notification.kind == "device_sim_changed") == 2  # admin, director1
