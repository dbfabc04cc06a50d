"""Logging in and out, and every way it can go wrong: a clear message, nothing changed."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from tests.conftest import csrf_token


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
