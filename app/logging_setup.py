"""Logs and error reports: one line per record, JSON with LOG_FORMAT=json (for a log collector) or
text (the default, for a terminal); a request id on every request; optional Sentry (SENTRY_DSN).

- Every record of a request carries its request id (the client's ``X-Request-Id`` when it is sane,
  e.g. nginx's ``$request_id``, else a new one; returned in the response's ``X-Request-Id``), the
  user id and the phone's device id when known. One line per request (logger
  ``daidaitong.request``) adds method, Flask endpoint, status and duration; never the body, the
  query string or a header, so no password or token reaches it. The operations endpoints'
  successful answers are logged at DEBUG only (a load balancer polls them every few seconds).
- ``Scrub``, a filter on our handler, masks every 18-character ID number (``110101********1234``)
  and the value after password=/token=/secret=/Bearer, in the message, its arguments and the
  traceback; Sentry's events and breadcrumbs go through the same masking (``before_send``), and
  Sentry is told to send no personal data (no cookies, no user, no request body, no local variables).
- With SENTRY_DSN unset nothing of Sentry is imported.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from app import metrics
from app.domain import idcard

__all__ = ["REQUEST_ID_HEADER", "JsonFormatter", "Scrub", "configure", "init_app", "scrub_text"]

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
# 17 digits and a check character, not part of a longer run of digits or letters.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_SECRET_VALUE = re.compile(
    r"(?i)((?:password|passwd|token|secret|api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?|\bBearer\s+)"
    r"([^\s\"'&,;]+)"
)
OPS_ENDPOINTS = frozenset({"ops.healthz", "ops.readyz", "ops.metrics"})
_HANDLER_MARK = "_daidaitong_handler"

request_log = logging.getLogger("daidaitong.request")


def scrub_text(text: str) -> str:
    """``text`` with every 18-character ID number masked and secrets' values replaced by ***."""
    if not text:
        return text
    text = _ID_NUMBER.sub(lambda m: idcard.mask(m.group(0)), text)
    return _SECRET_VALUE.sub(lambda m: m.group(1) + "***", text)


class Scrub(logging.Filter):
    """Masks ID numbers and secrets in a record (message with its arguments, traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw message, masked
            message = str(record.msg)
        record.msg, record.args = scrub_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True


class RequestContext(logging.Filter):
    """Puts the request id, user id and device id on every record made during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            record.user_id = _user_id()
            record.device_id = _device_id()
        return True


def _user_id() -> int | None:
    # Only a user already loaded for this request: asking Flask-Login would query the database.
    user = g.get("_login_user")
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def _device_id() -> str | None:
    device = g.get("device")
    return getattr(device, "uuid", None) if device is not None else None


_FIELDS = ("request_id", "user_id", "device_id", "method", "endpoint", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the request's fields
    when there are any, and the traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.context = f" [{rid}]" if rid else ""
        return super().format(record)


def configure(config) -> logging.Handler:
    """Our one handler on the root logger (replacing the one an earlier create_app put there, and no
    other), at LOG_LEVEL, in LOG_FORMAT ("json" or "text")."""
    fmt = str(config.get("LOG_FORMAT") or "text").strip().lower()
    if fmt not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be 'json' or 'text', not {fmt!r}")
    handler = logging.StreamHandler(config.get("LOG_STREAM") or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestContext())
    handler.addFilter(Scrub())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(str(config.get("LOG_LEVEL") or "INFO").upper())
    return handler


def _scrub_event(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_event(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_event(v) for v in value]
    return value


def sentry_before_send(event: dict, _hint: dict) -> dict:
    return _scrub_event(event)


def init_sentry(config) -> bool:
    """Error reports to SENTRY_DSN (any Sentry-protocol server); nothing at all when unset."""
    dsn = config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration()],
        # send_default_pii left unset (it is deprecated): the SDK's default sends no cookies, user or IP.
        max_request_body_size="never",
        include_local_variables=False,  # a frame's locals may hold a borrower's data or a password
        environment=config.get("SENTRY_ENVIRONMENT") or None,
        release=f"daidaitong@{config.get('APP_VERSION') or ''}".rstrip("@"),
        traces_sample_rate=float(config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        before_send=sentry_before_send,
        before_breadcrumb=lambda crumb, _hint: _scrub_event(crumb),
    )
    return True


def init_app(app: Flask) -> None:
    """Logging, Sentry, and the request hooks: registered first, so the id exists before any other
    hook answers (a login redirect) and the line is written after every other hook."""
    configure(app.config)
    init_sentry(app.config)

    @app.before_request
    def start_request() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def finish_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # a response made before our hook ran
            return response
        seconds = time.perf_counter() - started
        endpoint = request.endpoint or "unmatched"  # never the raw path: ids would make endless series
        metrics.request_seconds.labels(endpoint, request.method, metrics.status_class(response.status_code)).observe(seconds)
        response.headers[REQUEST_ID_HEADER] = g.request_id
        quiet = endpoint in OPS_ENDPOINTS and response.status_code < 400
        request_log.log(
            logging.DEBUG if quiet else logging.INFO, "%s %s %s %.1f ms",
            request.method, endpoint, response.status_code, seconds * 1000,
            extra={"method": request.method, "endpoint": endpoint, "status": response.status_code,
                   "duration_ms": round(seconds * 1000, 1)},
        )
        return response
