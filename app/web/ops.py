"""The operations endpoints, for load balancers, orchestration and Prometheus (docs/ARCHITECTURE.md,
"Operations"). Open without login, outside CSRF (GET only) and outside the daily job's
first-request hook; cheap enough to be polled every few seconds.

- ``/healthz``: the process is up and answers; touches nothing else (no database).
- ``/readyz``: the database answers, the photo store's ``check()`` passes and the database is at the
  migration scripts' head (the head is read from disk once per process; the database every time).
  200 when all hold, else 503; the JSON names each check's state, never a URL or a password.
- ``/metrics``: Prometheus text, for a scraper presenting ``Authorization: Bearer <METRICS_TOKEN>``
  (compared in constant time). With no METRICS_TOKEN configured the endpoint does not exist (404),
  so metrics are never open by accident; a missing or wrong token is 401.
"""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request

from app import clock, metrics
from app.extensions import photo_store
from app.http_edge import public
from app.logging_setup import scrub_text
from app.services import ops as ops_service
from app.storage import StoreMisconfigured, StoreUnavailable

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)
OK = "ok"


@bp.route("/healthz")
@public
def healthz():
    return {"status": OK}


@bp.route("/readyz")
@public
def readyz():
    checks: dict[str, str] = {}
    try:
        at = ops_service.database_revisions()
        checks["database"] = OK
    except ops_service.DatabaseDown as down:
        at = None
        checks["database"] = f"unreachable ({down.params['error']})"
    try:
        photo_store().check()
        checks["photo_store"] = OK
    except (StoreUnavailable, StoreMisconfigured) as exc:
        checks["photo_store"] = f"{type(exc).__name__}: {scrub_text(str(exc))[:200]}"
    except Exception as exc:  # a store's unexpected error is a failed check, not a 500
        checks["photo_store"] = f"error ({type(exc).__name__})"
    if at is None:
        checks["migrations"] = "unknown (database unreachable)"
    else:
        head = ops_service.script_heads(current_app.extensions["migrate"].directory)
        if at == head:
            checks["migrations"] = OK
        else:
            checks["migrations"] = (f"database at {', '.join(sorted(at)) or 'nothing'}, "
                                    f"code needs {', '.join(sorted(head))}: run flask db upgrade")
    ready = all(state == OK for state in checks.values())
    response = jsonify(status="ready" if ready else "unready", checks=checks)
    response.status_code = 200 if ready else 503
    return response


@bp.route("/metrics", endpoint="metrics")  # the function is not named metrics: that is the module
@public
def metrics_view():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        return Response("Not Found\n", 404, mimetype="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("Unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    try:
        readings = ops_service.backlog_readings(clock.business_today())
        readings.append(metrics.Reading("database_up", "1 when the database answered this scrape.", 1))
    except Exception:  # the process's own metrics are still worth having
        current_app.logger.warning("/metrics: the database did not answer; backlogs left out", exc_info=True)
        readings = [metrics.Reading("database_up", "1 when the database answered this scrape.", 0)]
    return Response(metrics.render(readings), 200, content_type=metrics.CONTENT_TYPE_LATEST)



MIN_TOKEN_CHARS = 16


def init_app(app) -> None:
    from app.extensions import csrf

    token = app.config.get("METRICS_TOKEN") or ""
    if token and (len(token) < MIN_TOKEN_CHARS or token.upper().startswith("CHANGE")):
        log.warning("METRICS_TOKEN is short or a placeholder: anyone who guesses it reads the metrics. "
                            "Set a long random one (openssl rand -hex 32).")
    csrf.exempt(bp)  # GET only; a scraper or a load balancer has no session
    app.register_blueprint(bp)
