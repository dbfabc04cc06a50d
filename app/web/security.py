"""Login, default-deny access, role checks and the session idle timeout.

Every endpoint is closed unless marked ``@public``; every other view declares the
roles that may use it with ``@roles_required`` (a test walks all of them).
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps
from typing import Callable

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app.extensions import db, login_manager
from app.models import ROLES, User

ALL_ROLES = frozenset(ROLES)


def public(view: Callable) -> Callable:
    view.public = True  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def any_staff(view: Callable) -> Callable:
    return roles_required(*ROLES)(view)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def client_ip() -> str:
    return request.remote_addr or ""


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def unauthorized():
        if g.get("session_expired"):
            flash(_l("Your session has expired. Please log in again."), "warning")
        else:
            flash(_l("Please log in to continue."), "info")
        target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
        if is_htmx():
            # htmx would swap the login page into a fragment; make it navigate instead.
            return "", 401, {"HX-Redirect": target}
        return redirect(target)

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user_id, _, epoch = session_id.partition(":")
        if not user_id.isdigit() or not epoch.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_enabled or user.session_epoch != int(epoch):
            return None
        return user

    @app.before_request
    def require_login_and_check_idle():
        view = app.view_functions.get(request.endpoint or "")
        if request.endpoint == "static" or getattr(view, "public", False) or getattr(view, "device_auth", False):
            return None
        if not current_user.is_authenticated:
            if session.pop("_was_logged_in", None):
                g.session_expired = True
            return login_manager.unauthorized()
        now = datetime.now(timezone.utc).timestamp()
        last = session.get("_last_seen")
        idle_limit = app.config["SESSION_IDLE_MINUTES"] * 60
        if last is not None and now - last > idle_limit:
            logout_user()
            session.clear()
            g.session_expired = True
            return login_manager.unauthorized()
        session["_last_seen"] = now
        session["_was_logged_in"] = True
        session.permanent = True
        return None
