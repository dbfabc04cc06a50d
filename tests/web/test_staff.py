"""Staff accounts (issue 13, Staff): create with a one-time temporary password, the forced change at
first login, every refusal in Chinese with nothing written, reset, force logout, transfer (kept or
handed over, never orphaned) and moving a portfolio — audited with before/after, never a password."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.domain.workflow import TERMINAL
from app.extensions import db
from app.models import Application, AuditLog, Borrower, FollowUpTask, Loan, Office, User
from app.models.org import UserSession
from app.services.auth import dummy_hash, hash_parameters
from app.services import staff as staff_service
from app.services.staff import StaffError
from tests.conftest import Auth, csrf_token
from tests.sync_helpers import enrol


def _office(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Office.id).where(Office.code == code))


def _count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def _new(auth, app, **form):
    data = {"full_name": "钱进", "username": "qianjin", "mobile": "138 1234 5678",
            "office_id": str(_office(app, "CG")), "roles": ["officer"], **form}
    return auth.post("/admin/users/new", data)


def _post_on_password_page(client, data: dict):
    """A POST from the password page: with a temporary password every other page redirects there."""
    return client.post("/password", data={**data, "csrf_token": csrf_token(client, "/password")})


def _temporary(html: str) -> str:
    start = html.index('id="temporary-password">') + len('id="temporary-password">')
    return html[start:html.index("<", start)]


def test_create_shows_a_temporary_password_once_and_audits_without_it(app, auth, demo):
    auth.login("admin")
    r = _new(auth, app)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    temporary = _temporary(html)
    assert len(temporary) >= 10
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "qianjin"))
        assert user.must_change_password and user.phone == "13812345678" and user.roles == {"officer"}
        assert temporary not in user.password_hash
        # Hashed like every password: the configured method and cost (scrypt by default).
        assert hash_parameters(user.password_hash) == hash_parameters(dummy_hash(app.config["PASSWORD_HASH_METHOD"]))
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.created"))
        assert row.object_id == user.id and row.detail["after"]["roles"] == ["officer"]
        dumped = json.dumps(row.detail)
        assert temporary not in dumped and "password_hash" not in dumped
    # The list does not show it again.
    assert temporary not in auth.client.get("/admin/users").get_data(as_text=True)


def test_first_login_leads_only_to_the_password_change(app, client, auth, demo):
    auth.login("admin")
    temporary = _temporary(_new(auth, app).get_data(as_text=True))
    auth.post("/logout")
    r = auth.login("qianjin", temporary)
    assert r.status_code == 302
    for path in ("/", "/tasks", "/admin/users", "/notifications"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["Location"].endswith("/password"), path
    r = client.get("/", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Redirect", "").endswith("/password")
    # The menu's badges polling from the password page itself: no reload loop.
    r = client.get("/nav/counts", headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/password"})
    assert r.status_code == 204 and "HX-Redirect" not in r.headers
    page = client.get("/password").get_data(as_text=True)
    assert "您正在使用临时密码" in page
    r = _post_on_password_page(client, {"current": temporary, "new": "稻田-river-2026", "confirm": "稻田-river-2026"})
    assert r.status_code == 303
    assert client.get("/").status_code == 200
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.username == "qianjin")).must_change_password


def test_the_phone_api_refuses_until_the_password_is_changed(app, client, demo):
    headers = enrol(app, "officer1")
    assert client.get("/api/v1/bootstrap", headers=headers).status_code == 200
    with app.app_context():
        user = db.session.get(User, demo["officer1"])
        staff_service.reset_password(user, actor_id=demo["admin"], method=app.config["PASSWORD_HASH_METHOD"])
    r = client.get("/api/v1/bootstrap", headers=headers)
    assert r.status_code == 403 and r.get_json()["error"] == "password_change_required"
    assert "设置新密码" in r.get_json()["message"]


@pytest.mark.parametrize("form, field, words", [
    ({"username": "officer1"}, "username", "登录名：officer1 已被占用"),
    ({"username": "OFFICER1"}, "username", "已被占用"),
    ({"username": "a b"}, "username", "登录名："),
    ({"roles": ["director"], "office_id": ""}, "office_id", "所属机构：请选择"),
    ({"roles": ["director"], "office": "HQ"}, "roles", "办事处主任须属于办事处，不能属于总部"),
    ({"roles": ["officer"], "office": "HQ"}, "roles", "客户经理须属于办事处"),
    ({"roles": ["clerk"]}, "roles", "录入员须属于总部"),
    ({"roles": ["cashier", "reviewer1"], "office": "HQ"}, "roles", "不能由同一人担任（岗位分离）"),
    ({"roles": ["admin", "reviewer2"], "office": "HQ"}, "roles", "岗位分离"),
    ({"roles": ["auditor", "clerk"], "office": "HQ"}, "roles", "岗位分离"),
    ({"roles": []}, "roles", "请至少选择一个角色"),
    ({"mobile": "12345"}, "mobile", "手机号"),
    ({"full_name": "x1"}, "full_name", ""),
])
def test_create_refusals_name_the_field_and_write_nothing(app, auth, demo, form, field, words):
    auth.login("admin")
    if "office" in form:
        form = {**form, "office_id": str(_office(app, form.pop("office")))}
    before = _count_users(app)
    r = _new(auth, app, **form)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="err-{field}"' in html and words in html
    assert _count_users(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditLog.action == "user.created")) == 0


def test_a_closed_office_is_refused(app, auth, demo):
    if not hasattr(Office, "closed_at"):
        pytest.skip("offices cannot be closed yet")
    from app import clock

    with app.app_context():
        office = db.session.get(Office, _office(app, "HK"))
        office.closed_at = clock.now()
        db.session.commit()
        office_id = office.id
    auth.login("admin")
    r = _new(auth, app, office_id=str(office_id))
    assert r.status_code == 422 and "已撤销" in r.get_data(as_text=True)
    r = auth.post(f"/admin/users/{demo['officer1']}/transfer", {"office_id": str(office_id), "mode": "keep"})
    assert r.status_code == 422 and "已撤销" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, demo["officer1"]).office_id == _office(app, "CG")


def test_the_last_administrator_stays(app, auth, demo):
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['admin']}", {"full_name": "系统管理员", "mobile": "", "roles": ["auditor"]})
    assert r.status_code == 422 and "最后一个启用的管理员" in r.get_data(as_text=True)
    with app.app_context():
        admin = db.session.get(User, demo["admin"])
        assert admin.roles == {"admin"}
        with pytest.raises(StaffError) as refused:  # disabled by someone else (no other admin left)
            staff_service.set_enabled(admin, False, actor_id=demo["auditor1"])
        assert refused.value.code == "last_admin"
        db.session.rollback()
        assert db.session.get(User, demo["admin"]).is_enabled
    # A second administrator: now the first may be disabled by him.
    r = _new(auth, app, username="admin2", full_name="候补管理员", office_id=str(_office(app, "HQ")), roles=["admin"])
    assert r.status_code == 200
    with app.app_context():
        admin2 = db.session.scalar(select(User).where(User.username == "admin2"))
        assert staff_service.set_enabled(db.session.get(User, demo["admin"]), False, actor_id=admin2.id)


def test_the_officer_role_stays_while_he_has_open_work(app, auth, demo):
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['officer1']}", {"full_name": "李明", "mobile": "", "roles": ["director"]})
    assert r.status_code == 422 and "仍有未结业务" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, demo["officer1"]).roles == {"officer"}


def test_own_account_cannot_be_disabled(app, auth, demo):
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['admin']}/enabled", {"enabled": "0"})
    assert r.status_code == 303
    assert "不能停用自己的账号" in auth.client.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, demo["admin"]).is_enabled


@pytest.mark.parametrize("new, words", [
    ("short-9", "至少需要 10 个字符"),
    ("password123", "太常见"),
    ("12345678910", "太常见"),
    ("Officer1", "至少需要 10 个字符"),
    ("OFFICER1OFFICER1", None),
])
def test_own_password_rules(app, client, auth, demo, new, words):
    auth.login("officer1")
    r = auth.post("/password", {"current": "demo1234", "new": new, "confirm": new})
    if words is None:
        assert r.status_code == 303
        return
    assert r.status_code == 422 and words in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditLog.action == "password_changed")) == 0


def test_the_login_itself_is_refused_as_a_password(app, auth, demo):
    auth.login("admin")
    temporary = _temporary(_new(auth, app, username="zhangwei2026", full_name="张伟").get_data(as_text=True))
    auth.post("/logout")
    auth.login("zhangwei2026", temporary)
    for new in ("ZhangWei2026", "6202iewgnahz"):
        r = _post_on_password_page(auth.client, {"current": temporary, "new": new, "confirm": new})
        assert r.status_code == 422 and "密码不能与登录名相同" in r.get_data(as_text=True)


def test_edit_reset_and_force_logout(app, client, auth, demo):
    officer = Auth(app.test_client())
    officer.login("officer2")
    assert officer.client.get("/").status_code == 200
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['officer2']}", {"full_name": "王芳芳", "mobile": "13912345678",
                                                      "roles": ["officer"]})
    assert r.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.updated"))
        assert row.detail["before"] == {"full_name": "王芳", "phone": ""} or row.detail["before"]["full_name"] == "王芳"
        assert row.detail["after"]["full_name"] == "王芳芳"
    r = auth.post(f"/admin/users/{demo['officer2']}/logout")
    assert r.status_code == 303
    assert officer.client.get("/").status_code == 302  # back to the login page
    officer.login("officer2")
    r = auth.post(f"/admin/users/{demo['officer2']}/password-reset")
    temporary = _temporary(r.get_data(as_text=True))
    assert officer.client.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession).where(
            UserSession.user_id == demo["officer2"], UserSession.ended_at.is_(None))) == 0
        reset = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.password_reset"))
        assert temporary not in json.dumps(reset.detail)
    assert officer.login("officer2", "demo1234").status_code == 401
    assert officer.login("officer2", temporary).status_code == 302
    assert officer.client.get("/").headers["Location"].endswith("/password")


def _open_records(officer_id: int):
    return {
        "borrowers": list(db.session.scalars(select(Borrower).where(Borrower.officer_id == officer_id))),
        "applications": list(db.session.scalars(select(Application).where(
            Application.officer_id == officer_id, Application.state.not_in([s.value for s in TERMINAL])))),
        "loans": list(db.session.scalars(select(Loan).where(Loan.officer_id == officer_id, Loan.status == "active"))),
    }


def _nothing_orphaned() -> None:
    """Every open record's office is its officer's office."""
    users = {u.id: u for u in db.session.scalars(select(User))}
    for model, clause in ((Borrower, True), (Application, Application.state.not_in([s.value for s in TERMINAL])),
                          (Loan, Loan.status == "active")):
        for row in db.session.scalars(select(model).where(clause)):
            assert users[row.officer_id].office_id == row.office_id, (model.__name__, row.id)
    for task in db.session.scalars(select(FollowUpTask).where(FollowUpTask.status == "open")):
        assert users[task.officer_id].office_id == task.loan.office_id, ("task", task.id)


def _give_tasks(app, officer_id: int) -> None:
    from datetime import date

    with app.app_context():
        for loan in db.session.scalars(select(Loan).where(Loan.officer_id == officer_id, Loan.status == "active")):
            db.session.add(FollowUpTask(loan_id=loan.id, officer_id=officer_id, kind="revisit", due_date=date(2030, 1, 1)))
        db.session.commit()


def test_transfer_page_lists_the_counts_and_refuses_the_same_office(app, auth, demo):
    auth.login("admin")
    r = auth.client.get(f"/admin/users/{demo['officer1']}/transfer?office_id={_office(app, 'HK')}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="transfer-counts"' in html and "未结业务" in html
    r = auth.client.get(f"/admin/users/{demo['officer1']}/transfer?office_id={_office(app, 'CG')}")
    assert r.status_code == 422 and "已在 城关办事处 工作" in r.get_data(as_text=True)
    r = auth.client.get(f"/admin/users/{demo['officer1']}/transfer?office_id={_office(app, 'HQ')}")
    assert r.status_code == 422 and "客户经理须属于办事处" in r.get_data(as_text=True)
    # Handing over needs an officer of the office he leaves.
    r = auth.post(f"/admin/users/{demo['officer1']}/transfer", {"office_id": _office(app, "HK"), "mode": "reassign",
                                                               "to_officer_id": str(demo["officer3"])})
    assert r.status_code == 422 and "接手的客户经理" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, demo["officer1"]).office_id == _office(app, "CG")


def test_transfer_keeping_the_portfolio_moves_it_with_him(app, auth, demo):
    _give_tasks(app, demo["officer1"])
    with app.app_context():
        before = {k: len(v) for k, v in _open_records(demo["officer1"]).items()}
    assert before["borrowers"] and before["loans"]
    auth.login("admin")
    hk = _office(app, "HK")
    r = auth.post(f"/admin/users/{demo['officer1']}/transfer", {"office_id": str(hk), "mode": "keep"})
    assert r.status_code == 303
    with app.app_context():
        after = _open_records(demo["officer1"])
        assert {k: len(v) for k, v in after.items()} == before
        assert all(row.office_id == hk for rows in after.values() for row in rows)
        _nothing_orphaned()
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.transferred"))
        assert row.detail["before"] == {"office_id": _office(app, "CG")} and row.detail["after"] == {"office_id": hk}
        assert row.detail["portfolio_mode"] == "kept"


def test_transfer_handing_the_portfolio_over_leaves_nothing_behind(app, auth, demo):
    _give_tasks(app, demo["officer1"])
    with app.app_context():
        before = {k: len(v) for k, v in _open_records(demo["officer1"]).items()}
        before_o2 = {k: len(v) for k, v in _open_records(demo["officer2"]).items()}
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['officer1']}/transfer", {"office_id": str(_office(app, "HK")),
                                                               "mode": "reassign", "to_officer_id": str(demo["officer2"])})
    assert r.status_code == 303
    with app.app_context():
        assert all(not rows for rows in _open_records(demo["officer1"]).values())
        assert db.session.scalar(select(func.count()).select_from(FollowUpTask).where(
            FollowUpTask.officer_id == demo["officer1"], FollowUpTask.status == "open")) == 0
        now_o2 = {k: len(v) for k, v in _open_records(demo["officer2"]).items()}
        assert now_o2 == {k: before[k] + before_o2[k] for k in before}
        _nothing_orphaned()


def test_move_portfolio_to_an_officer_of_another_office(app, auth, demo):
    _give_tasks(app, demo["officer1"])
    with app.app_context():
        before = {k: len(v) for k, v in _open_records(demo["officer1"]).items()}
    auth.login("admin")
    page = auth.client.get(f"/admin/users/{demo['officer1']}/portfolio").get_data(as_text=True)
    assert f"借款人 {before['borrowers']} 户" in page
    r = auth.post(f"/admin/users/{demo['officer1']}/portfolio", {"to_officer_id": str(demo["director1"])})
    assert r.status_code == 422 and "接手的客户经理" in r.get_data(as_text=True)  # not an officer
    r = auth.post(f"/admin/users/{demo['officer1']}/portfolio", {"to_officer_id": str(demo["officer3"])})
    assert r.status_code == 303
    with app.app_context():
        assert all(not rows for rows in _open_records(demo["officer1"]).values())
        _nothing_orphaned()
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.portfolio_moved"))
        assert row.detail["after"] == {"officer_id": demo["officer3"]} and row.detail["portfolio"]["borrowers"] == before["borrowers"]


def test_disabling_an_officer_with_open_work_leads_to_handing_it_over(app, auth, demo):
    # Disabling is never refused for open work (a leaver must stop at once); the admin is sent on to
    # hand the work over, and the staff list keeps saying so until it is done.
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['officer1']}/enabled", {"enabled": "0"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/admin/users/{demo['officer1']}/portfolio")
    page = auth.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "仍有" in page and "请移交给其他客户经理" in page
    with app.app_context():
        assert not db.session.get(User, demo["officer1"]).is_enabled
    listing = auth.client.get("/admin/users").get_data(as_text=True)
    assert listing.count("尚有未结业务，请移交") == 1
    auth.post(f"/admin/users/{demo['officer1']}/portfolio", {"to_officer_id": str(demo["officer2"])})
    assert "尚有未结业务，请移交" not in auth.client.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        _nothing_orphaned()
    # An officer with nothing open goes back to the list.
    r = auth.post(f"/admin/users/{demo['officer1']}/enabled", {"enabled": "1"})
    r = auth.post(f"/admin/users/{demo['officer1']}/enabled", {"enabled": "0"})
    assert r.headers["Location"].endswith("/admin/users")
