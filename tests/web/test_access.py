"""Every route, for every role and for an anonymous visitor: the right answer, never a leak."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from app.config import Config
from app.extensions import db
from app.models import Application, Device, Loan, User
from app.services.scope import scoped
from app.services.demo import DEMO_USERS

ROLE_OF = {username: roles for username, _name, roles, _office in DEMO_USERS}
USERNAMES = sorted(ROLE_OF)


def _routes():
    app = create_app(Config())
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        rules.append((rule.rule, rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}), view))
    return rules


ROUTES = _routes()
PUBLIC = {endpoint for _r, endpoint, _m, view in ROUTES if getattr(view, "public", False)}
# /api/v1 calls authenticate by the phone's device token instead of the session.
DEVICE = {endpoint for _r, endpoint, _m, view in ROUTES if getattr(view, "device_auth", False)}
GET_ROUTES = [(r, e) for r, e, m, _v in ROUTES if "GET" in m and e not in DEVICE]
POST_ROUTES = [(r, e) for r, e, m, _v in ROUTES if "POST" in m and e not in DEVICE]
DEVICE_ROUTES = [(r, e, sorted(m)[0] if m else "HEAD") for r, e, m, _v in ROUTES if e in DEVICE]


def test_every_route_is_public_or_declares_who_may_use_it():
    for rule, endpoint, _methods, view in ROUTES:
        assert endpoint in PUBLIC or endpoint in DEVICE or getattr(view, "allowed_roles", None), f"{rule} declares no roles"


def test_only_the_expected_routes_are_public():
    assert PUBLIC == {
        "auth.login", "main.set_language", "main.healthz",
        "pwa.service_worker", "pwa.manifest", "pwa.offline",
        "mobile.shell", "api_v1.version",
    }
    assert {e for _r, e, _m in DEVICE_ROUTES} == {
        "api_v1.device", "api_v1.bootstrap", "api_v1.post_manifest", "api_v1.application_status",
        "api_v1.upload_head", "api_v1.upload_patch", "api_v1.resubmit", "api_v1.returned",
        "api_v1.plan", "api_v1.task_report", "api_v1.track", "api_v1.notifications", "api_v1.notifications_read",
    }


@pytest.mark.parametrize("rule,endpoint,method", DEVICE_ROUTES)
def test_device_routes_refuse_calls_without_a_device_token(app, client, auth, demo, rule, endpoint, method):
    auth.login("officer1")  # a browser session is not enough
    url = rule.replace("<photo_uuid>", "6f1c0e5e-1111-4222-8333-444455556666")
    response = client.open(url, method=method)
    assert response.status_code == 401
    if method != "HEAD":
        assert response.get_json()["error"] == "unknown_device"


def _url(app, rule: str, username: str) -> str | None:
    """Fill URL parameters with an object inside this user's scope (None: he has none)."""
    if "<" not in rule:
        return rule
    if rule.startswith("/tasks/photos/") or rule.endswith("/receipt"):
        return None  # exist only after a visit / a receipt upload: tests/web/test_tasks_web.py and test_loans_web.py
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        query = select(Application).order_by(Application.id)
        if user.has_role("officer"):
            query = query.where(Application.officer_id == user.id)
        elif user.has_role("director"):
            query = query.where(Application.office_id == user.office_id)
        # The data-entry screen opens only on an application waiting for entry.
        waiting = query.where(Application.state == "awaiting_entry") if rule.startswith("/applications/<int:application_id>/entry") else query
        application = db.session.scalars(waiting).first() or db.session.scalars(query).first()
        device = db.session.scalar(select(Device).order_by(Device.id))
        photo = next(p for p in application.photos if p.received_at is not None)
        ids = {
            "application_id": application.id, "borrower_id": application.borrower_id, "user_id": user.id,
            "device_id": device.id if device else 0, "photo_id": photo.id,
            "product_id": application.product_id,
        }
        if "<int:screenshot_id>" in rule or "<int:run_id>" in rule:
            ids |= _screenshot_and_ocr_run(application, photo)
        if "<int:task_id>" in rule:
            from datetime import date

            from app.models import FollowUpTask

            loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
            task = FollowUpTask(loan_id=loan.id, officer_id=loan.officer_id, kind="revisit", due_date=date.today())
            db.session.add(task)
            db.session.commit()
            ids["task_id"] = task.id
        if "<int:loan_id>" in rule:
            loan = db.session.scalars(scoped(user, Loan).order_by(Loan.id)).first()
            if loan is None:
                return None  # no loan in this user's scope: nothing of his to open
            ids |= {"loan_id": loan.id, "repayment_id": loan.repayments[0].id}
    for name, value in ids.items():
        rule = rule.replace(f"<int:{name}>", str(value))
    rule = rule.replace("<kind>", "thumb")
    assert "<" not in rule, rule
    return rule


def _screenshot_and_ocr_run(application, photo) -> dict:
    """A screenshot of the photo and a finished OCR run of it, as the clerk's screen makes them."""
    from app.models import OcrRun, Screenshot

    run = db.session.scalar(select(OcrRun).where(OcrRun.sha256 == photo.sha256)) or OcrRun(
        sha256=photo.sha256, engine="rapidocr", status="done", lines=[], fields={})
    shot = Screenshot(application=application, photo=photo, sha256=photo.sha256, size_bytes=photo.size_bytes,
                      width=10, height=10, box=[0, 0, 10, 10], created_by_id=application.officer_id)
    db.session.add_all([shot, run])
    db.session.commit()
    return {"screenshot_id": shot.id, "run_id": run.id}


@pytest.mark.parametrize("rule,endpoint", GET_ROUTES)
def test_anonymous_get(client, demo, rule, endpoint, app):
    # Anyone not logged in is sent to the login page before any object is looked up.
    response = client.get(_url(app, rule, "admin") or re.sub(r"<int:\w+>", "1", rule))
    if endpoint in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("username", USERNAMES)
def test_every_get_route_for_every_role(app, client, auth, demo, username):
    assert auth.login(username).status_code == 302
    for rule, endpoint in GET_ROUTES:
        if endpoint == "auth.login":
            continue  # a logged-in user is sent home from the login page
        view = app.view_functions[endpoint]
        allowed = endpoint in PUBLIC or set(ROLE_OF[username]) & set(view.allowed_roles)
        url = _url(app, rule, username)
        if url is None:
            continue  # e.g. an officer with no loan: the scope tests cover other people's objects
        response = client.get(url)
        expected = 200 if allowed else 403
        assert response.status_code == expected, f"{username} GET {rule}: {response.status_code}"


@pytest.mark.parametrize("rule,endpoint", POST_ROUTES)
def test_every_post_route_refuses_a_missing_csrf_token(app, client, auth, demo, rule, endpoint):
    auth.login("admin")
    with app.app_context():
        before = _state_snapshot()
    response = client.post(_url(app, rule, "admin"), data={"event": "withdraw", "version": "1", "lang": "en", "enabled": "0"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    with app.app_context():
        assert _state_snapshot() == before


def _state_snapshot():
    from app.models import AuditLog, Borrower, Transition

    return tuple(
        db.session.scalar(select(db.func.count()).select_from(m)) for m in (Application, Transition, AuditLog, Borrower)
    ) + tuple(db.session.scalars(select(User.is_enabled).order_by(User.id)).all())
