"""Errors a user understands, in their language; htmx requests get a fragment, pages a page.

A service's refusal (``ServiceError``, or the workflow's ``TransitionRefused``) is answered here
once for every view: the message is flashed in the user's language and the user goes back to the
page the action came from (the view names it with ``back_to``, else the page that sent the
request), or, for an htmx fragment request, the message is put into ``#messages``. Nothing of the
refused request is written.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app.domain.workflow import TransitionRefused
from app.http_edge import translate_message
from app.services.errors import ServiceError
from app.services.scope import OutOfScope
from app.storage import StoreMisconfigured, StoreUnavailable
from app.web.htmx import wants_partial

# Refusals that say someone else was quicker, not that the user did wrong.
WARNINGS = frozenset({"loan_changed", "application_changed"})


def back_to(url: str) -> None:
    """Where a refused action sends the user: the page its form is on. Call before the service."""
    g.refused_back_to = url


def _back() -> str:
    if getattr(g, "refused_back_to", None):
        return g.refused_back_to
    referrer = urlsplit(request.referrer or "")
    if referrer.path and referrer.netloc == request.host:  # never off this site
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("main.home")


def refused(e: Exception):
    from app.services import transactions

    transactions.rollback()
    if isinstance(e, TransitionRefused):
        code, said = e.refusal.code, [(e.refusal.message, dict(e.refusal.params))]
    else:
        # Field messages belong beside their fields; with no form to show them in, each is said.
        code, said = e.code, [(m, dict(p)) for m, p in e.fields.values()] or [(e.message, e.params)]
    for message, params in said:
        flash(translate_message(message, params), "warning" if code in WARNINGS else "error")
    if wants_partial():
        return render_template("partials/flashes.html"), 422, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return redirect(_back(), code=303)


def render_error(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "too_large", 500: "server_error"}
        response = jsonify(error=codes.get(status, "error"), message=message)
        response.status_code = status
        return response
    template = "partials/error.html" if wants_partial() else "error.html"
    headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"} if wants_partial() else {}
    return render_template(template, status=status, title=title, message=message), status, headers


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        return render_error(
            400,
            _("The page has expired"),
            _("The form's security token is missing or out of date. Reload the page and try again; nothing was changed."),
        )

    @app.errorhandler(403)
    def forbidden(e):
        return render_error(
            403, _("Not allowed"), _("Your role does not allow this. Nothing was changed.")
        )

    @app.errorhandler(OutOfScope)
    @app.errorhandler(404)
    def not_found(e):
        return render_error(
            404,
            _("Not found"),
            _("This record does not exist or is outside what you may see."),
        )

    app.register_error_handler(ServiceError, refused)
    app.register_error_handler(TransitionRefused, refused)

    @app.errorhandler(413)
    def too_large(e):
        return render_error(
            413, _("Too large"), _("The upload is larger than the server accepts. Nothing was saved.")
        )

    @app.errorhandler(StoreUnavailable)
    @app.errorhandler(StoreMisconfigured)
    def store_fault(e: Exception):
        """The photo store failed under a staff page (a photo, the ZIP, a screenshot, a receipt): a
        503 the user understands, never a 500; nothing of the request was written."""
        from app.api import errors as api_errors
        from app.services import transactions

        if request.path.startswith("/api/"):
            return api_errors.store_fault(e)
        transactions.rollback()
        api_errors.log_store_fault(e)
        return _unavailable(
            _("Photos are unavailable just now"),
            _("The photo store cannot be reached. Nothing was changed; please try again in a minute, and tell the "
              "administrator if it keeps happening."),
            retry_after=api_errors.RETRY_AFTER_S["store_unavailable"],
        )

    def database_fault(e: Exception):
        """The database failed under a page (restarting, a dropped connection): a 503 the user
        understands, never a 500."""
        import contextlib

        from app.api import errors as api_errors
        from app.services import transactions

        if request.path.startswith("/api/"):
            return api_errors.database_fault(e)
        with contextlib.suppress(Exception):
            transactions.rollback()
        api_errors.log_database_fault(e)
        return _unavailable(
            _("The server is busy"),
            _("The server cannot reach its database just now. Please try again in a minute; tell the administrator "
              "if it keeps happening."),
            retry_after=api_errors.RETRY_AFTER_S["database_unavailable"],
        )

    def _unavailable(title: str, text: str, *, retry_after: int):
        # A 503 page: the user is told to come back, a balancer or browser when.
        response = make_response(render_error(503, title, text))
        response.headers["Retry-After"] = str(retry_after)
        return response

    from app.services.transactions import DATABASE_FAULTS

    for fault in DATABASE_FAULTS:
        app.register_error_handler(fault, database_fault)

    @app.errorhandler(500)
    def server_error(e):
        from app.services import transactions

        transactions.rollback()
        return render_error(
            500,
            _("Something went wrong"),
            _("The server could not finish this. Nothing was changed; please try again, and tell the administrator if it keeps happening."),
        )
