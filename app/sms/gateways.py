"""SMS gateway adapters: one small interface over "write it to the log" (default) and an HTTP API.

Plain Python (the standard library's urllib), no Flask: usable from the CLI, jobs and tests alike.
A gateway only sends; the outbox (``app.models.SmsMessage``) and ``app.services.sms`` decide what
and when, and retry what a gateway calls retryable.
"""
from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.sms.templates import DEFAULT_SIGN, sign_text

__all__ = [
    "DEFAULT_BODY_TEMPLATE",
    "GATEWAY_NAMES",
    "ConsoleGateway",
    "HttpGateway",
    "ReminderSettings",
    "SendResult",
    "SmsGateway",
    "make_gateway",
    "parse_days",
    "reminder_settings",
]

log = logging.getLogger("app.sms")
if log.level == logging.NOTSET:
    # What the console gateway writes is its whole point: not lost below the root's WARNING.
    log.setLevel(logging.INFO)

GATEWAY_NAMES: tuple[str, ...] = ("console", "http")
# Each string value of the JSON body template may hold these placeholders:
#   {phone} the 11-digit mobile number   {text} the whole message, sign included (what is stored)
#   {sign} SMS_SIGN as configured        {content} the message without its leading sign
#   {ref} our stable reference for the message ("ddt-sms-<id>"), the same on every retry
DEFAULT_BODY_TEMPLATE = '{"phone": "{phone}", "text": "{text}", "sign": "{sign}"}'
PLACEHOLDERS: tuple[str, ...] = ("phone", "text", "sign", "content", "ref")
MAX_RESPONSE_BYTES = 64 * 1024
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class SendResult:
    """What a gateway says about one message.

    ``retryable`` only matters when not ``ok``: True when trying again later may succeed (5xx, 429,
    timeouts, connection errors); False when it never will (4xx, the provider's own refusal).
    """

    ok: bool
    provider_id: str = ""
    error: str = ""
    retryable: bool = False


class SmsGateway(Protocol):
    name: str

    def send(self, phone: str, body: str, *, ref: str = "") -> SendResult:
        """Send ``body`` to ``phone`` (11 digits). ``ref`` is stable across retries of one message, so
        a provider that deduplicates on a client reference can drop a resend after a timeout."""
        ...


class ConsoleGateway:
    """The default: writes each message to the log and counts it as sent (development, demo)."""

    name = "console"

    def send(self, phone: str, body: str, *, ref: str = "") -> SendResult:
        if log.hasHandlers():
            log.info("SMS (console) to %s [%s]: %s", phone, ref, body)
        else:  # nothing configured logging (a bare CLI run): still show it
            print(f"SMS (console) to {phone} [{ref}]: {body}", file=sys.stderr, flush=True)
        return SendResult(ok=True, provider_id=f"console:{ref}" if ref else "console")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: urllib would resend a POST as a bodiless GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


class HttpGateway:
    """A JSON-over-HTTP SMS API.

    The request body is ``body_template`` (JSON) with the placeholders above filled in inside its
    string values — filled after parsing, so a quote in a message can never break the JSON. Success
    is an HTTP 2xx and, when ``ok_field`` is set, that field of the JSON answer (a dotted path such
    as ``result.code``) equal to ``ok_value`` as text. ``id_field`` names where the provider's
    message id is. Redirects are not followed. 5xx, 408, 429, timeouts and connection errors are
    retryable; any other answer is not.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        body_template: str | Mapping[str, Any] | None = None,
        token: str = "",
        sign: str = DEFAULT_SIGN,
        timeout: float = 10.0,
        ok_field: str = "",
        ok_value: str = "",
        id_field: str = "",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"SMS_HTTP_URL must be an http:// or https:// URL, not {url!r}")
        if timeout <= 0:
            raise ValueError("SMS_HTTP_TIMEOUT must be positive")
        if body_template is None or isinstance(body_template, str):
            try:
                template = json.loads(body_template or DEFAULT_BODY_TEMPLATE)
            except ValueError as e:
                raise ValueError(f"SMS_HTTP_BODY is not valid JSON: {e}") from None
        else:
            template = dict(body_template)
        if not isinstance(template, dict):
            raise ValueError("SMS_HTTP_BODY must be a JSON object")
        self.url = url
        self.method = method.strip().upper() or "POST"
        self.template: dict[str, Any] = template
        self.token = token
        self.sign = sign
        self.timeout = timeout
        self.ok_field = ok_field.strip()
        self.ok_value = ok_value
        self.id_field = id_field.strip()
        # Proxies come from the environment (http_proxy/https_proxy/no_proxy), read here once.
        self._opener = urllib.request.build_opener(_NoRedirect())

    def payload(self, phone: str, body: str, ref: str = "") -> dict[str, Any]:
        """The JSON object sent for one message."""
        signed = sign_text(self.sign)
        values = {
            "phone": phone,
            "text": body,
            "sign": self.sign,
            "content": body.removeprefix(signed) if signed else body,
            "ref": ref,
        }
        return _fill(self.template, values)

    def send(self, phone: str, body: str, *, ref: str = "") -> SendResult:
        data = json.dumps(self.payload(phone, body, ref), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method=self.method)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as e:  # a non-2xx answer (before URLError: it is one)
            detail = _snippet(_read_quietly(e))
            e.close()
            retryable = e.code >= 500 or e.code in (408, 429)
            return SendResult(ok=False, error=f"HTTP {e.code} {detail}".strip(), retryable=retryable)
        except (TimeoutError, socket.timeout):
            return SendResult(ok=False, error=f"timed out after {self.timeout:g} s", retryable=True)
        except urllib.error.URLError as e:
            if isinstance(e.reason, (TimeoutError, socket.timeout)):
                return SendResult(ok=False, error=f"timed out after {self.timeout:g} s", retryable=True)
            return SendResult(ok=False, error=f"connection failed: {e.reason}", retryable=True)
        except (http.client.HTTPException, OSError) as e:  # reset, disconnected mid-answer
            return SendResult(ok=False, error=f"connection failed: {type(e).__name__}: {e}", retryable=True)
        return self._judge(status, raw)

    def _judge(self, status: int, raw: bytes) -> SendResult:
        if not 200 <= status < 300:  # 1xx/3xx: not followed, not a success
            return SendResult(ok=False, error=f"HTTP {status} {_snippet(raw)}".strip(), retryable=False)
        answer: Any = None
        if self.ok_field or self.id_field:
            try:
                answer = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if self.ok_field:
                    return SendResult(ok=False, error=f"HTTP {status}, answer is not JSON: {_snippet(raw)}")
        if self.ok_field:
            found, value = _lookup(answer, self.ok_field)
            if not found or _as_text(value) != self.ok_value:
                shown = repr(value) if found else "missing"
                return SendResult(ok=False, error=f"provider refused: {self.ok_field}={shown} {_snippet(raw)}")
        provider_id = ""
        if self.id_field:
            found, value = _lookup(answer, self.id_field)
            provider_id = _as_text(value) if found and value is not None else ""
        return SendResult(ok=True, provider_id=provider_id[:100])


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        # One pass: a placeholder-like text inside a filled-in value is left as it is.
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], node)
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    return node


def _lookup(answer: Any, path: str) -> tuple[bool, Any]:
    node = answer
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _read_quietly(e: urllib.error.HTTPError) -> bytes:
    try:
        return e.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException):
        return b""


def _snippet(raw: bytes, limit: int = 120) -> str:
    return " ".join(raw[: limit * 4].decode("utf-8", "replace").split())[:limit]


# --- configuration -----------------------------------------------------------


@dataclass(frozen=True)
class ReminderSettings:
    """What the reminder jobs need from the configuration."""

    days_before: int
    overdue_days: tuple[int, ...]
    max_attempts: int
    sign: str


def parse_days(value: str | int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """"1,7" → (1, 7): distinct whole days ≥ 1, ascending; "" → () (no overdue reminders)."""
    if isinstance(value, int):
        items: list[Any] = [value]
    elif isinstance(value, str):
        items = [p for p in value.replace("，", ",").replace(" ", ",").split(",") if p]
    else:
        items = list(value)
    days: set[int] = set()
    for item in items:
        try:
            day = int(item)
        except (TypeError, ValueError):
            raise ValueError(f"SMS_OVERDUE_DAYS: {item!r} is not a whole number of days") from None
        if day < 1:
            raise ValueError(f"SMS_OVERDUE_DAYS: {day} is not a day after the due date")
        days.add(day)
    return tuple(sorted(days))


def reminder_settings(config: Mapping) -> ReminderSettings:
    days_before = int(config.get("SMS_REMIND_DAYS_BEFORE", 3))
    max_attempts = int(config.get("SMS_MAX_ATTEMPTS", 5))
    if days_before < 1:
        raise ValueError("SMS_REMIND_DAYS_BEFORE must be at least 1 (the due day has its own reminder)")
    if max_attempts < 1:
        raise ValueError("SMS_MAX_ATTEMPTS must be at least 1")
    return ReminderSettings(
        days_before=days_before,
        overdue_days=parse_days(config.get("SMS_OVERDUE_DAYS", "1,7")),
        max_attempts=max_attempts,
        sign=str(config.get("SMS_SIGN") or DEFAULT_SIGN),
    )


def make_gateway(config: Mapping) -> SmsGateway:
    """The gateway configured by ``SMS_GATEWAY``: "console" (default) or "http" (``SMS_HTTP_*``)."""
    name = str(config.get("SMS_GATEWAY") or "console").strip().lower()
    if name == "console":
        return ConsoleGateway()
    if name == "http":
        url = str(config.get("SMS_HTTP_URL") or "").strip()
        if not url:
            raise ValueError("SMS_GATEWAY is 'http' but SMS_HTTP_URL is not set")
        return HttpGateway(
            url,
            method=str(config.get("SMS_HTTP_METHOD") or "POST"),
            body_template=str(config.get("SMS_HTTP_BODY") or DEFAULT_BODY_TEMPLATE),
            token=str(config.get("SMS_HTTP_TOKEN") or ""),
            sign=str(config.get("SMS_SIGN") or DEFAULT_SIGN),
            timeout=float(config.get("SMS_HTTP_TIMEOUT") or 10),
            ok_field=str(config.get("SMS_HTTP_OK_FIELD") or ""),
            ok_value=str(config.get("SMS_HTTP_OK_VALUE") or ""),
            id_field=str(config.get("SMS_HTTP_ID_FIELD") or ""),
        )
    raise ValueError(f"unknown SMS_GATEWAY {name!r}; supported: {', '.join(GATEWAY_NAMES)}")
