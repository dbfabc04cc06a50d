"""Security headers, caching of personal data, Secure cookies, and no inline script anywhere."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.config import PROJECT_ROOT
from app.config import TestConfig as Settings
from app.extensions import db
from app.models import Application, Borrower
from app.web.security import is_local_host, tile_source
from tests.conftest import Auth
from tests.sync_helpers import enrol


def _ids(app):
    with app.app_context():
        return (db.session.scalar(select(Borrower.id).order_by(Borrower.id)),
                db.session.scalar(select(Application.id).order_by(Application.id)))


def test_pages_with_personal_data_are_never_stored(app, client, auth, demo):
    borrower_id, application_id = _ids(app)
    auth.login("reviewer1")
    for path in ("/", f"/borrowers/{borrower_id}", f"/applications/{application_id}", "/borrowers/?q=张",
                 "/loans", "/nav/counts"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "no-store", path


def test_the_phone_api_answers_are_never_stored(app, client, demo):
    headers = enrol(app, "officer1")
    for path in ("/api/v1/bootstrap", "/api/v1/plan"):
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path


def test_static_files_and_the_service_worker_keep_their_own_caching(client):
    r = client.get("/static/js/app.js")
    assert r.status_code == 200 and "no-store" not in r.headers.get("Cache-Control", "")
    r = client.get("/sw.js")
    assert r.headers["Cache-Control"] == "no-cache"  # re-checked on every start, never no-store


def test_every_response_carries_the_security_headers(app, client, auth, demo):
    for path in ("/login", "/static/js/app.js", "/healthz"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", path  # no inline script, no eval
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in r.headers  # plain HTTP: no HSTS
    r = client.get("/login", base_url="https://bank.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_camera_and_geolocation_only_on_the_officers_phone_pages(app, client, auth, demo):
    auth.login("officer1")
    for path in ("/m/", "/m/enrol"):
        policy = client.get(path).headers["Permissions-Policy"]
        assert "camera=(self)" in policy and "geolocation=(self)" in policy, path
    for path in ("/", "/login", "/tasks/", "/borrowers/"):
        policy = client.get(path).headers["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy, path


def test_map_tiles_are_allowed_by_the_policy_only_from_their_server(app, client, auth, demo):
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_source("javascript:alert(1)") == "" and tile_source("") == ""
    app.config["MAP_TILE_URL"] = "https://tiles.example.org/{z}/{x}/{y}.png"
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://tiles.example.org;" in csp


def test_the_session_cookie_is_secure_except_on_localhost(app, demo):
    assert is_local_host("localhost:5000") and is_local_host("127.0.0.1:5102") and is_local_host("[::1]:80")
    assert not is_local_host("bank.example") and not is_local_host("10.0.0.5:443")
    for base, secure in (("http://localhost", False), ("http://127.0.0.1:5000", False),
                         ("https://bank.example", True), ("http://bank.example", True)):
        client = app.test_client()
        r = client.get("/login", base_url=base)
        cookie = r.headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure, base
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_can_be_forced_on_or_off(app):
    app.config["SESSION_COOKIE_SECURE_AUTO"] = False
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "; Secure" in app.test_client().get("/login").headers["Set-Cookie"]  # even on localhost
    app.config["SESSION_COOKIE_SECURE"] = False
    assert "; Secure" not in app.test_client().get("/login", base_url="https://bank.example").headers["Set-Cookie"]


def test_a_production_configuration_without_https_says_so(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    config = Settings("mysql+pymysql://ddt:secret@db.bank.example/ddt", tmp_path)
    config.TESTING = False
    with caplog.at_level(logging.WARNING, logger="app.web.security"):
        create_app(config)
    assert any("SESSION_COOKIE_SECURE=0 in a production configuration" in r.message for r in caplog.records)
    caplog.clear()
    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    config = Settings("mysql+pymysql://ddt:secret@db.bank.example/ddt", tmp_path)
    config.TESTING = False
    with caplog.at_level(logging.WARNING, logger="app.web.security"):
        create_app(config)
    assert not caplog.records


def test_the_first_plain_http_request_from_another_host_is_logged(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="app.web.security"):
        client.get("/login")  # localhost: fine
        client.get("/login", base_url="https://bank.example")
        assert not caplog.records
        client.get("/login", base_url="http://bank.example")
        client.get("/login", base_url="http://bank.example")
    [record] = caplog.records
    assert "plain HTTP" in record.message and "bank.example" in record.message


INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def test_no_template_has_inline_script_or_inline_style():
    problems = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)  # not Jinja comments
        name = path.relative_to(PROJECT_ROOT)
        if INLINE_HANDLER.search(text):
            problems.append(f"{name}: inline event handler")
        if "javascript:" in text.lower() or "hx-on" in text:
            problems.append(f"{name}: javascript: URL or hx-on")
        for attrs in SCRIPT_TAG.findall(text):
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                problems.append(f"{name}: inline <script{attrs}>")
        if re.search(r"\sstyle=\"", text) or "<style" in text:
            problems.append(f"{name}: inline style")
    assert problems == []


def test_htmx_adds_no_inline_style_and_evaluates_nothing(client):
    html = client.get("/login").get_data(as_text=True)
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>""" in html
