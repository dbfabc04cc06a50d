"""Login, default-deny access, role checks, the session idle timeout, and the security headers.

Every endpoint is closed unless marked ``@public``; every other view declares the
roles that may use it with ``@roles_required`` (a test walks all of them).
Every response gets the security headers (CSP, frame-ancestors, nosniff, Referrer-Policy,
Permissions-Policy, HSTS over HTTPS); a dynamic response that sets no Cache-Control of its own is
``no-store``. The session cookie is Secure unless the site is served to localhost.
"""
from __future__ import annotations

import ipaddress
import logging
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, Response, abort, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app import clock
from app.domain import basemap
from app.extensions import login_manager
from app.http_edge import client_ip
from app.services import auth as auth_service
from app.services import identity_access
from app.services.scope import ALL_ROLES
# The session key holding the login's server-side session token (services/auth.UserSession).
SESSION_TOKEN_KEY = "_sid"
# Pages of the officer's phone app, the only ones that may use the camera and geolocation.
DEVICE_FEATURE_PREFIXES = ("/m/",)
LAST_SEEN_STEP_SECONDS = 60  # how finely the idle timeout is measured
# All a user with a temporary password may reach (User.must_change_password).
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.password", "auth.logout", "main.set_language"})

log = logging.getLogger(__name__)


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
    return roles_required(*ALL_ROLES)(view)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


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
    def load_user(session_id: str):
        user_id, _, epoch = session_id.partition(":")
        if not user_id.isdigit() or not epoch.isdigit():
            return None
        user = auth_service.find_user(int(user_id))
        if user is None or not user.is_enabled or user.session_epoch != int(epoch):
            return None
        # The cookie is only a pointer: the login must still be open on the server (logout, a
        # password change or disabling ended it), so a copied cookie dies with its session.
        if not auth_service.check_session(
            session.get(SESSION_TOKEN_KEY), user.id, now=clock.now(),
            idle_seconds=app.config["SESSION_IDLE_MINUTES"] * 60,
            max_seconds=int(app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()),
        ):
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
        now = clock.now().timestamp()
        last = session.get("_last_seen")
        idle_limit = app.config["SESSION_IDLE_MINUTES"] * 60
        if last is not None and now - last > idle_limit:
            auth_service.record_logout(current_user.id, ip=client_ip(), why="idle", token=session.get(SESSION_TOKEN_KEY))
            logout_user()
            session.clear()
            g.session_expired = True
            return login_manager.unauthorized()
        # The session is written (a Set-Cookie) only when something in it changes, at most once a
        # minute for the idle clock: a request that began before a POST (a thumbnail, the menu's
        # badges) and ends after it would otherwise answer with its older cookie and lose what the
        # POST put there (its flash message).
        if last is None or now - last >= LAST_SEEN_STEP_SECONDS:
            session["_last_seen"] = now
        if not session.get("_was_logged_in"):
            session["_was_logged_in"] = True
        if not session.permanent:
            session.permanent = True
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            # A temporary password (new account, reset by the admin): nothing else until it is changed.
            target = url_for("auth.password")
            if is_htmx():
                # The menu's badges poll from the password page itself: nothing to show, no reload
                # (an HX-Redirect there would reload the page for ever); from any other page, go.
                if (urlsplit(request.headers.get("HX-Current-URL", "")).path == target
                        and request.headers.get("HX-Boosted") != "true"):
                    return "", 204
                return "", 200, {"HX-Redirect": target}
            return redirect(target, code=303)
        return None

    app.session_interface = SessionInterface()
    app.after_request(security_headers)

    @app.after_request
    def write_identity_views(response):
        # What a page showed of borrowers' identity data is written as it leaves; an error showed nothing.
        if response.status_code < 400:
            identity_access.write_pending()
        else:
            identity_access.discard_pending()
        return response

    @app.teardown_request
    def forget_identity_views(_exc):
        identity_access.discard_pending()
    warn_if_insecure_production(app)
    basemap.from_config(app.config)  # a map setting that cannot be right stops the start, not every page

    @app.before_request
    def warn_once_about_plain_http():
        if not app.config.get("_WARNED_PLAIN_HTTP") and not request.is_secure and not is_local_host(request.host):
            app.config["_WARNED_PLAIN_HTTP"] = True
            log.warning(
                "Served over plain HTTP to %s: browsers do not keep the Secure session cookie, so "
                "nobody can stay logged in, and passwords travel in clear. Serve the site over HTTPS "
                "(behind a reverse proxy set PROXY_FIX_HOPS so the app sees https), or set "
                "SESSION_COOKIE_SECURE=0 for a trial on a closed network.", request.host,
            )


# --- cookies and headers -------------------------------------------------------------------------


def is_local_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1, with or without a port: the only hosts served without HTTPS."""
    if host.startswith("["):  # [::1]:5000
        name = host[1:].split("]", 1)[0]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# What the service worker fetches to keep offline (sw.js SHELL) never writes the session cookie.
# The worker installs from the login page and fetches these with the cookie of that moment; on a slow
# network such a request, sent before the login and answered after it, carried the signed-out
# session back (Flask-Login marks an anonymous session on every request) and replaced the new one:
# the user was logged out just after logging in.
SHELL_ENDPOINTS = frozenset({"mobile.shell", "pwa.offline", "pwa.manifest", "pwa.service_worker", "static"})


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; with SESSION_COOKIE_SECURE unset the cookie is Secure on
    every host but localhost (``make run`` serves http://127.0.0.1)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE_AUTO"):
            return not is_local_host(request.host)
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def save_session(self, app: Flask, session, response: Response) -> None:
        if request.endpoint in SHELL_ENDPOINTS:
            return
        super().save_session(app, session, response)


def warn_if_insecure_production(app: Flask) -> None:
    """A production configuration (a database server, not the embedded SQLite file) that sends
    session cookies without Secure is said so at start-up."""
    production = not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not app.testing
    if production and not app.config.get("SESSION_COOKIE_SECURE") and not app.config.get("SESSION_COOKIE_SECURE_AUTO"):
        log.warning(
            "SESSION_COOKIE_SECURE=0 in a production configuration: session cookies and passwords "
            "can travel over plain HTTP. Serve the site over HTTPS and remove SESSION_COOKIE_SECURE=0."
        )


def tile_source(url: str) -> str:
    """The CSP source of a Leaflet tile URL template ('https://{s}.tile.example.org/…' → 'https://*.tile.example.org')."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    host = parts.netloc.replace("{s}", "*")
    if "{" in host or " " in host or ";" in host:
        return ""
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_sources: tuple[str, ...] = ()) -> str:
    # No inline script and no eval anywhere: every script is a file under /static, data for scripts
    # travels in <script type="application/json"> blocks. No inline style either (htmx's indicator
    # <style> is switched off by the htmx-config meta tag); scripts may still set element.style.
    # img-src: blob: for the phone's photo thumbnails (object URLs of the IndexedDB blobs, also
    # offline); data: for Leaflet, which blanks tiles it drops with a data: GIF; the configured tile
    # server's hosts only (app/domain/basemap.py).
    images = " ".join(["'self'", "data:", "blob:", *tile_sources])
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def permissions_policy(path: str) -> str:
    device = "(self)" if path.startswith(DEVICE_FEATURE_PREFIXES) else "()"
    return (
        f"camera={device}, geolocation={device}, microphone=(), payment=(), usb=(), "
        "display-capture=()"
    )


def security_headers(response: Response) -> Response:
    headers = response.headers
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Personal data must not stay in any cache (the browser's, a proxy's, the back button's).
        # A view that may be cached says so itself (sw.js, photos by their own rules).
        headers["Cache-Control"] = "no-store"
    headers.setdefault("Content-Security-Policy", content_security_policy(_tile_sources()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Other sites learn at most our origin, never a path (paths may hold search terms).
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", permissions_policy(request.path))
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _tile_sources() -> tuple[str, ...]:
    from flask import current_app

    return basemap.from_config(current_app.config).sources


def _config(key: str) -> str:
    from flask import current_app

    return current_app.config.get(key, "") or ""
