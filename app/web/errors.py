"""Errors a user understands, in their language; htmx requests get a fragment, pages a page."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app.services.scope import OutOfScope
from app.web.htmx import wants_partial


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

    @app.errorhandler(413)
    def too_large(e):
        return render_error(
            413, _("Too large"), _("The upload is larger than the server accepts. Nothing was saved.")
        )

    @app.errorhandler(500)
    def server_error(e):
        from app.services import transactions

        transactions.rollback()
        return render_error(
            500,
            _("Something went wrong"),
            _("The server could not finish this. Nothing was changed; please try again, and tell the administrator if it keeps happening."),
        )
