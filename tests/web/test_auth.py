"""Logging in and out, and every way it can go wrong: a clear message, nothing changed."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from tests.conftest import Auth, csrf_token


def _user(app, username):
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def test_login_default_language_is_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and "用户名" in html


def test_successful_login_and_logout(app, client, auth, demo):
    r = auth.login("officer1")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "李明" in client.get("/").get_data(as_text=True)
    r = auth.post("/logout")
    assert r.status_code == 302
    assert client.get("/").status_code == 302  # logged out
    with app.app_context():
        actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["login", "logout"]


def test_wrong_password_and_unknown_user_get_the_same_message(client, auth, demo):
    for username, password in (("officer1", "nope"), ("nobody", "demo1234")):
        r = auth.login(username, password)
        assert r.status_code == 401
        assert "用户名或密码错误" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_disabled_user_is_told_so(app, client, auth, demo):
    auth.login("admin")
    r = auth.post(f"/admin/users/{demo['officer2']}/enabled", data={"enabled": "0"})
    assert r.status_code == 303
    auth.post("/logout")
    r = auth.login("officer2")
    assert r.status_code == 401
    assert "账号已停用" in r.get_data(as_text=True)
    # A wrong password for a disabled account says nothing about it being disabled.
    r = auth.login("officer2", "wrong")
    assert "账号已停用" not in r.get_data(as_text=True)


def test_disabling_a_user_ends_their_open_session(app, demo):
    officer = app.test_client()
    from tests.conftest import Auth

    Auth(officer).login("officer1")
    assert officer.get("/").status_code == 200
    admin = Auth(app.test_client())
    admin.login("admin")
    admin.post(f"/admin/users/{demo['officer1']}/enabled", data={"enabled": "0"})
    assert officer.get("/").status_code == 302


def test_five_wrong_passwords_lock_the_account(app, client, auth, demo):
    for _ in range(5):
        assert auth.login("clerk1", "wrong").status_code == 401
    # Now even the right password is refused until the lock runs out.
    r = auth.login("clerk1")
    assert r.status_code == 401
    assert "账号已锁定" in r.get_data(as_text=True)
    user = _user(app, "clerk1")
    assert user.failed_logins == 5 and user.locked_until is not None
    # Other accounts are not affected.
    assert auth.login("cashier1").status_code == 302


def test_lock_runs_out_and_success_resets_the_counter(app, client, auth, demo):
    app.config["LOGIN_LOCK_SECONDS"] = 1
    for _ in range(5):
        auth.login("clerk1", "wrong")
    time.sleep(1.1)
    assert auth.login("clerk1").status_code == 302
    assert _user(app, "clerk1").failed_logins == 0


def test_idle_session_expires_with_a_message(client, auth, demo):
    auth.login("officer1")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["_last_seen"] -= 2 * 3600
    r = client.get("/applications/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "登录已过期" in html
    assert client.get("/").status_code == 302


def test_htmx_request_after_expiry_is_told_to_navigate(client, auth, demo):
    auth.login("officer1")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["_last_seen"] -= 2 * 3600
    r = client.get("/applications/?q=x", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/login")


def test_login_without_csrf_token_is_refused(client, demo):
    r = client.post("/login", data={"username": "officer1", "password": "demo1234"})
    assert r.status_code == 400
    assert "安全令牌" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_next_parameter_never_leaves_the_site(client, demo):
    token = csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        r = client.post(f"/login?next={target}", data={"username": "officer1", "password": "demo1234", "csrf_token": token})
        assert r.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
        token = csrf_token(client)
    r = client.post("/login?next=/borrowers/", data={"username": "officer1", "password": "demo1234", "csrf_token": token})
    assert r.headers["Location"] == "/borrowers/"


def test_language_switch_to_english_and_back(client, auth, demo):
    token = csrf_token(client)
    client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert "Log in" in client.get("/login").get_data(as_text=True)
    auth.login("officer1")
    assert "My queue" in client.get("/").get_data(as_text=True)  # kept across login
    auth.post("/lang", data={"lang": "zh", "next": "/"})
    assert "我的待办" in client.get("/").get_data(as_text=True)


def test_htmx_requests_carry_the_csrf_token_as_a_header(client, auth, demo):
    auth.login("officer1")
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    headers = {"HX-Request": "true"}
    r = client.post("/lang", data={"lang": "en", "next": "/"}, headers={**headers, "X-CSRFToken": token})
    assert r.status_code == 302
    r = client.post("/lang", data={"lang": "zh", "next": "/"}, headers=headers)
    assert r.status_code == 400
    assert 'id="messages"' not in r.get_data(as_text=True)  # a fragment, not a page
    assert r.headers["HX-Retarget"] == "#messages"


# --- server-side sessions (issue 11 item 6) ------------------------------------------------------


def _replay(app, cookie: str):
    """A second browser holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _sessions(app, username):
    from app.models.org import UserSession

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return db.session.scalars(select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)).all()


def test_a_copied_cookie_is_refused_after_logout(app, client, auth, demo):
    auth.login("officer1")
    cookie = client.get_cookie("session").value
    assert _replay(app, cookie).get("/").status_code == 200  # the copy works while the login is open
    auth.post("/logout")
    r = _replay(app, cookie).get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    [row] = _sessions(app, "officer1")
    assert row.ended_at is not None and row.ended_why == "logout"


def test_logout_ends_only_that_session(app, demo):
    desktop, phone = Auth(app.test_client()), Auth(app.test_client())
    desktop.login("director1")
    phone.login("director1")
    desktop.post("/logout")
    assert desktop.client.get("/").status_code == 302
    assert phone.client.get("/").status_code == 200
    assert [s.ended_why for s in _sessions(app, "director1")] == ["logout", ""]


def test_idle_expiry_ends_the_session_on_the_server(app, client, auth, demo):
    auth.login("officer1")
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("session").value
    with client.session_transaction() as session:
        session["_last_seen"] -= 2 * 3600
    assert client.get("/").status_code == 302
    assert _replay(app, cookie).get("/").status_code == 302  # the copy taken before dies with it
    assert _sessions(app, "officer1")[0].ended_why == "idle"


def test_a_session_idle_on_the_server_is_refused(app, client, auth, demo):
    # The row's own clock: a cookie replayed long after its last use is refused even though the
    # cookie itself (signed, unchanged) still claims the old _last_seen.
    from datetime import timedelta

    from app.models.org import UserSession

    auth.login("officer1")
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        row.last_seen_at -= timedelta(hours=2)
        row.created_at -= timedelta(hours=2)
        db.session.commit()
    assert client.get("/").status_code == 302
    assert _sessions(app, "officer1")[0].ended_why == "idle"


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app, demo):
    here, elsewhere = Auth(app.test_client()), Auth(app.test_client())
    here.login("clerk1")
    elsewhere.login("clerk1")
    stolen = elsewhere.client.get_cookie("session").value
    r = here.post("/password", data={"current": "demo1234", "new": "a-new-pass-9", "confirm": "a-new-pass-9"})
    assert r.status_code == 303
    assert here.client.get("/").status_code == 200
    assert elsewhere.client.get("/").status_code == 302
    assert _replay(app, stolen).get("/").status_code == 302
    assert [s.ended_why for s in _sessions(app, "clerk1")] == ["", "password_changed"]
    assert Auth(app.test_client()).login("clerk1", "a-new-pass-9").status_code == 302
    assert Auth(app.test_client()).login("clerk1", "demo1234").status_code == 401
    with app.app_context():
        assert "password_changed" in db.session.scalars(select(AuditLog.action)).all()


def test_password_change_refuses_bad_input_and_changes_nothing(app, client, auth, demo):
    auth.login("clerk1")
    before = _user(app, "clerk1").password_hash
    cases = (
        ({"current": "wrong", "new": "a-new-pass-9", "confirm": "a-new-pass-9"}, "当前密码不正确"),
        ({"current": "demo1234", "new": "short-pw9", "confirm": "short-pw9"}, "至少需要 10 个字符"),
        ({"current": "demo1234", "new": "CLERK1", "confirm": "CLERK1"}, "至少需要 10 个字符"),
        ({"current": "demo1234", "new": "qwertyuiop", "confirm": "qwertyuiop"}, "太常见"),
        ({"current": "demo1234", "new": "Password123", "confirm": "Password123"}, "太常见"),
        ({"current": "demo1234", "new": "demo1234", "confirm": "demo1234"}, "不能与当前密码相同"),
        ({"current": "demo1234", "new": "a-new-pass-9", "confirm": "a-new-pass-8"}, "两次输入的新密码不一致"),
    )
    for data, message in cases:
        r = auth.post("/password", data=data)
        assert r.status_code == 422, data
        assert message in r.get_data(as_text=True), data
    assert _user(app, "clerk1").password_hash == before
    assert client.get("/").status_code == 200


def test_disabling_ends_every_session_on_the_server(app, demo):
    officer = Auth(app.test_client())
    officer.login("officer2")
    cookie = officer.client.get_cookie("session").value
    admin = Auth(app.test_client())
    admin.login("admin")
    admin.post(f"/admin/users/{demo['officer2']}/enabled", data={"enabled": "0"})
    admin.post(f"/admin/users/{demo['officer2']}/enabled", data={"enabled": "1"})
    assert _replay(app, cookie).get("/").status_code == 302
    assert [s.ended_why for s in _sessions(app, "officer2")] == ["disabled"]


# --- usernames cannot be discovered (issue 11 item 7) ---------------------------------------------


def test_an_unknown_name_is_checked_against_a_hash_of_the_real_cost(app, client, auth, demo, monkeypatch):
    """Same work for both: the hash checked for an unknown name has the method and cost of the
    hash checked for a real account's wrong password (the configured method)."""
    from werkzeug.security import check_password_hash

    from app.services import auth as auth_service

    method = "pbkdf2:sha256:1200"  # not the default of the tests, nor the old dummy's
    app.config["PASSWORD_HASH_METHOD"] = method
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "clerk1"))
        user.password_hash = auth_service.hash_password("demo1234", method)
        db.session.commit()
    checked: list[str] = []

    def real_check(pwhash, password):  # the real function, watched
        checked.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(auth_service, "check_password_hash", real_check)
    auth.login("clerk1", "wrong")
    auth.login("no-such-user", "wrong")
    assert len(checked) == 2
    known, unknown = (auth_service.hash_parameters(h) for h in checked)
    assert known == unknown == method


def test_the_dummy_hash_of_the_production_method_costs_what_a_real_one_does(app):
    from app.services import auth as auth_service
    from app.config import Config

    method = Config().PASSWORD_HASH_METHOD
    real = auth_service.hash_password("some password", method)
    assert auth_service.hash_parameters(auth_service.dummy_hash(method)) == auth_service.hash_parameters(real)


def test_an_older_hash_is_brought_to_the_configured_method_at_login(app, client, auth, demo):
    from app.services import auth as auth_service

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "cashier1"))
        user.password_hash = auth_service.hash_password("demo1234", "pbkdf2:sha256:900")
        db.session.commit()
    assert auth.login("cashier1").status_code == 302
    stored = _user(app, "cashier1").password_hash
    assert auth_service.hash_parameters(stored) == app.config["PASSWORD_HASH_METHOD"]


def test_unknown_names_are_locked_out_exactly_like_accounts(app, demo):
    answers = {}
    for username in ("clerk1", "no-such-user"):
        a = Auth(app.test_client())
        first = [a.login(username, "wrong") for _ in range(5)]
        assert {r.status_code for r in first} == {401}
        assert all("用户名或密码错误" in r.get_data(as_text=True) for r in first)
        sixth = a.login(username, "whatever")
        answers[username] = (sixth.status_code, re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', sixth.get_data(as_text=True)))
    assert answers["clerk1"] == answers["no-such-user"]
    assert answers["clerk1"][0] == 401 and "账号已锁定" in " ".join(answers["clerk1"][1])
    from app.models.org import LoginFailure

    with app.app_context():
        row = db.session.scalar(select(LoginFailure).where(LoginFailure.username == "no-such-user"))
        assert row.failures == 5 and row.locked_until is not None


def test_a_page_view_leaves_the_session_cookie_alone_so_a_slower_request_cannot_undo_a_post(app, client, auth, demo):
    """A thumbnail or the menu's badges, begun before a POST and answered after it, used to send the
    session cookie as it was before the POST and so drop its flash message: only a change sets it."""
    auth.login("director1")
    client.get("/")
    assert "Set-Cookie" not in client.get("/").headers  # nothing changed: no cookie
    with client.session_transaction() as s:
        s["_last_seen"] -= 120  # two idle minutes later the idle clock moves on
    assert "Set-Cookie" in client.get("/").headers
