"""Structured logs (app/logging_setup.py): JSON lines carrying the request id the response names,
the user and the phone; ID numbers masked and passwords never written; error reports to a real
Sentry-protocol endpoint (a local HTTP server) scrubbed the same way."""
from __future__ import annotations

import gzip
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import create_app, logging_setup
from app.config import TestConfig as AppTestConfig
from app.domain import idcard
from app.http_edge import public
from tests.conftest import csrf_token
from tests.sync_helpers import enrol, valid_id_number

ID_NUMBER = valid_id_number(serial=457)


@pytest.fixture()
def log_lines(app):
    """The app logging as JSON into a buffer; returns a function giving the lines parsed."""
    buffer = io.StringIO()
    app.config.update(LOG_FORMAT="json", LOG_STREAM=buffer)
    logging_setup.configure(app.config)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    app.config.update(LOG_FORMAT="text", LOG_STREAM=None)
    logging_setup.configure(app.config)


def request_line(lines: list[dict], endpoint: str) -> dict:
    found = [line for line in lines if line["logger"] == "daidaitong.request" and line.get("endpoint") == endpoint]
    assert found, lines
    return found[-1]


def test_every_request_writes_one_json_line_with_the_request_id_it_answers(client, log_lines):
    r = client.get("/login", headers={"X-Request-Id": "lb-0123456789abcdef"})
    assert r.headers["X-Request-Id"] == "lb-0123456789abcdef"
    line = request_line(log_lines(), "auth.login")
    assert line["request_id"] == "lb-0123456789abcdef"
    assert (line["method"], line["status"], line["level"]) == ("GET", 200, "INFO")
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("+00:00")
    assert "user_id" not in line  # nobody logged in


@pytest.mark.parametrize("sent", ["", "short", "x" * 200, "a b c d e f g h", "abc\u00e9defghij", "id;rm -rf /tmp"])
def test_an_unusable_request_id_is_replaced_by_a_new_one(client, log_lines, sent):
    r = client.get("/login", headers={"X-Request-Id": sent} if sent else {})
    made = r.headers["X-Request-Id"]
    assert made != sent and len(made) == 32 and int(made, 16) >= 0
    assert request_line(log_lines(), "auth.login")["request_id"] == made


def test_request_ids_differ_between_requests(client, log_lines):
    assert client.get("/login").headers["X-Request-Id"] != client.get("/login").headers["X-Request-Id"]


def test_the_lines_name_the_user_and_the_phone(app, client, auth, demo, log_lines):
    auth.login("officer1")
    client.get("/")
    assert request_line(log_lines(), "main.home")["user_id"] == demo["officer1"]
    headers = enrol(app, "officer2")
    assert client.get("/api/v1/device", headers=headers).status_code == 200
    line = request_line(log_lines(), "api_v1.device")
    assert line["device_id"] == headers["X-Device-Id"] and line["status"] == 200


def test_id_numbers_are_masked_in_messages_arguments_and_tracebacks(app, log_lines):
    log = logging.getLogger("app.services.borrowers")
    with app.test_request_context("/borrowers", headers={"X-Request-Id": "req-masking-1"}):
        app.preprocess_request()
        log.warning("borrower %s refused", ID_NUMBER)
        log.warning(f"inline {ID_NUMBER.lower()} and a phone 13800138000 and a loan 12345678901234567890")
        try:
            raise ValueError(f"no borrower with ID {ID_NUMBER}")
        except ValueError:
            log.exception("lookup failed")
    lines = [line for line in log_lines() if line["logger"] == "app.services.borrowers"]
    text = json.dumps(lines)
    assert ID_NUMBER not in text and ID_NUMBER.lower() not in text
    assert lines[0]["message"] == f"borrower {idcard.mask(ID_NUMBER)} refused"
    assert "13800138000" in lines[1]["message"] and "12345678901234567890" in lines[1]["message"]  # not ID numbers
    assert "ValueError: no borrower with ID " + idcard.mask(ID_NUMBER) in lines[2]["exception"]
    assert all(line["request_id"] == "req-masking-1" for line in lines)


def test_passwords_and_tokens_never_reach_the_log(app, client, demo, log_lines):
    token = csrf_token(client)
    client.post("/login", data={"username": "officer1", "password": "Wrong-Pass-4471", "csrf_token": token})
    client.post("/login", data={"username": "officer1", "password": "demo1234", "csrf_token": token})
    headers = enrol(app, "officer2")
    client.get("/api/v1/device", headers=headers)
    logging.getLogger("app.sms").warning("gateway said: token=abc123secret password: 'p@ss-9' Bearer eyJhbGciOi.x.y")
    text = "\n".join(json.dumps(line) for line in log_lines())
    assert "Wrong-Pass-4471" not in text and "demo1234" not in text
    assert headers["Authorization"].split(" ", 1)[1] not in text
    assert "abc123secret" not in text and "p@ss-9" not in text and "eyJhbGciOi" not in text
    assert "token=***" in text and "Bearer ***" in text


def test_text_is_the_default_and_also_masks(app, client):
    buffer = io.StringIO()
    app.config.update(LOG_STREAM=buffer)
    logging_setup.configure(app.config)
    try:
        client.get("/login", headers={"X-Request-Id": "text-format-42"})
        logging.getLogger("app.x").warning("id %s", ID_NUMBER)
    finally:
        app.config.update(LOG_STREAM=None)
        logging_setup.configure(app.config)
    text = buffer.getvalue()
    assert "INFO daidaitong.request [text-format-42]: GET auth.login 200" in text
    assert ID_NUMBER not in text and idcard.mask(ID_NUMBER) in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_a_wrong_log_format_stops_the_start(migrated, tmp_path):
    config = AppTestConfig(migrated, tmp_path / "photos")
    config.LOG_FORMAT = "xml"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app(config)


# --- error reports ------------------------------------------------------------------------------


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802  (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_errors_go_to_sentry_scrubbed_when_a_dsn_is_set(migrated, tmp_path):
    import sentry_sdk

    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = AppTestConfig(migrated, tmp_path / "photos")
    config.SENTRY_DSN = f"http://publickey@127.0.0.1:{server.server_port}/1"
    # Made at run time: the source lines around the failing one travel with the report.
    secret, cookie = "hunter2-" + str(7 * 1031), "cookie-" + str(11 * 977)
    try:
        app = create_app(config)

        @public
        def broken():
            password = secret  # a local variable: locals are never sent
            raise RuntimeError(f"borrower {ID_NUMBER} password={password}")

        app.add_url_rule("/broken", "broken", broken)
        client = app.test_client()
        client.set_cookie("session", cookie)
        with pytest.raises(RuntimeError):
            client.get("/broken?q=1", headers={"X-Request-Id": "req-sentry-01"})
        sentry_sdk.flush(timeout=10)
    finally:
        sentry_sdk.init()  # no DSN: reporting off again for the rest of the run
        server.shutdown()
    sent = b"".join(_Collector.received).decode()
    assert "RuntimeError" in sent and idcard.mask(ID_NUMBER) in sent
    assert ID_NUMBER not in sent and secret not in sent
    assert cookie not in sent  # no personal data: no cookies


def test_no_sentry_without_a_dsn(app):
    import sys

    assert not app.config["SENTRY_DSN"]
    assert logging_setup.init_sentry(app.config) is False
    if "sentry_sdk" in sys.modules:  # another test of this process may have loaded it
        import sentry_sdk

        assert sentry_sdk.get_client().transport is None


# --- the masking, as invariants -----------------------------------------------------------------

_AROUND = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(before=_AROUND, after=_AROUND, serial=st.integers(0, 999), upper=st.booleans())
def test_no_id_number_survives_the_scrub(before, after, serial, upper):
    number = valid_id_number(serial=serial)
    number = number if upper else number.lower()
    # Apart from a longer run of letters and digits (then it is not an ID number but part of something else).
    before = before + " " if before[-1:].isalnum() else before
    after = " " + after if after[:1].isalnum() else after
    scrubbed = logging_setup.scrub_text(before + number + after)
    assert number not in scrubbed and number.upper() not in scrubbed
    assert logging_setup.scrub_text(scrubbed) == scrubbed  # masking twice changes nothing more


@given(key=st.sampled_from(["password", "PASSWORD", "new_password", "csrf_token", "token", "secret", "api_key"]),
       sep=st.sampled_from(["=", ": ", "='", '": "']),
       value=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^*()_+-./", min_size=1, max_size=30))
def test_no_secret_value_survives_the_scrub(key, sep, value):
    assert logging_setup.scrub_text(f"login with {key}{sep}{value} now") == f"login with {key}{sep}*** now"
