"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app import clock
from app.http_edge import client_ip, public, translate_message
from app.services import auth as auth_service
from app.web.security import SESSION_TOKEN_KEY, any_staff

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    # Only same-site paths: never bounce a user to another host after login.
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    if request.args.get("wiped"):
        flash(_("This phone has been revoked. Everything stored on it for the app has been removed."), "warning")
    username = request.form.get("username", "")
    if request.method == "POST":
        throttle = auth_service.Throttle(
            current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_LOCK_SECONDS"]
        )
        result = auth_service.authenticate(
            username,
            request.form.get("password", ""),
            now=clock.now(),
            throttle=throttle,
            ip=client_ip(),
            method=current_app.config["PASSWORD_HASH_METHOD"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        if result.user is not None:
            next_url = safe_next(request.args.get("next"))
            lang = session.get("lang")
            session.clear()  # a fresh session on login: no fixation
            if lang:
                session["lang"] = lang
            login_user(result.user)
            session[SESSION_TOKEN_KEY] = result.session_token
            return redirect(next_url)
        if result.error == "locked":
            minutes = max(1, -(-result.wait_seconds // 60))
            flash(
                ngettext(
                    "Too many wrong passwords. This account is locked for %(num)d minute; try again later.",
                    "Too many wrong passwords. This account is locked for %(num)d minutes; try again later.",
                    minutes,
                ),
                "error",
            )
        elif result.error == "disabled":
            flash(_("This account is disabled. Please contact your administrator."), "error")
        else:
            flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", username=username), 401
    return render_template("auth/login.html", username=username)


@bp.route("/logout", methods=["POST"])
@any_staff
def logout():
    auth_service.record_logout(current_user.id, ip=client_ip(), token=session.get(SESSION_TOKEN_KEY))
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@any_staff
def password():
    errors: dict[str, str] = {}
    if request.method == "POST":
        problems = auth_service.change_password(
            current_user,
            request.form.get("current", ""),
            request.form.get("new", ""),
            request.form.get("confirm", ""),
            method=current_app.config["PASSWORD_HASH_METHOD"],
            now=clock.now(),
            keep_token=session.get(SESSION_TOKEN_KEY),
            ip=client_ip(),
        )
        if not problems:
            flash(_("Your password has been changed. Your other sessions have been logged out."), "success")
            return redirect(url_for("main.home"), code=303)
        errors = {
            field: translate_message(message, {"num": auth_service.MIN_PASSWORD_LENGTH})
            for field, message in problems.items()
        }
    return render_template("auth/password.html", errors=errors, min_length=auth_service.MIN_PASSWORD_LENGTH), (
        422 if errors else 200)
