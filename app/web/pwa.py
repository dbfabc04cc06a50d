"""The service worker and the web app manifest, served from the site root for full scope."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory
from flask_babel import gettext as _

from app import __version__
from app.config import PROJECT_ROOT
from app.http_edge import public

bp = Blueprint("pwa", __name__)


@bp.route("/sw.js")
@public
def service_worker():
    # The client version is written into the worker: a new version changes its bytes, which is
    # what makes browsers install the update.
    source = (PROJECT_ROOT / "sw.js").read_text(encoding="utf-8")
    body = source.replace("__CLIENT_VERSION__", current_app.config["CLIENT_VERSION"])
    response = current_app.response_class(body, mimetype="application/javascript")
    # Browsers must always re-check the worker, or an update never reaches the phones.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    data = {
        "name": _("Daidaitong rural microcredit"),
        "short_name": _("Daidaitong"),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b22222",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = current_app.response_class(
        current_app.json.dumps(data), mimetype="application/manifest+json"
    )
    return response


@bp.route("/favicon.ico")
@public
def favicon():
    # Browsers ask for /favicon.ico on every page that names no icon (a PDF, an image, JSON) and on
    # some that do: answer it from static/ and let it be cached for a week instead of a 404 each time.
    return send_from_directory(PROJECT_ROOT / "static", "favicon.ico", mimetype="image/x-icon", max_age=7 * 24 * 3600)


@bp.route("/offline")
@public
def offline():
    return render_template("offline.html", version=__version__)
