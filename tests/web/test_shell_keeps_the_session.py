"""The pages the service worker keeps offline never write the session cookie (app/web/security.py
SHELL_ENDPOINTS): a fetch sent with the signed-out cookie before a login and answered after it
used to carry that cookie back and log the user out at once."""
from __future__ import annotations

import pytest

from tests.conftest import csrf_token

SESSION = "session="


def _session_cookies(response) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(SESSION)]


@pytest.mark.parametrize("path", ["/m/", "/offline", "/manifest.webmanifest", "/sw.js"])
def test_a_shell_fetch_sent_before_the_login_does_not_log_the_user_out(app, demo, path):
    officer = app.test_client()
    token = csrf_token(officer)  # the login page: the signed-out session holds its CSRF token
    signed_out = officer.get_cookie("session").value
    # The service worker's fetch leaves with the signed-out cookie...
    worker = app.test_client()
    worker.set_cookie("session", signed_out)
    # ... the login goes through meanwhile ...
    assert officer.post("/login", data={"username": "officer1", "password": "demo1234",
                                       "csrf_token": token}).status_code == 302
    # ... and the fetch is answered after it: it must not send the signed-out session back.
    response = worker.get(path)
    assert response.status_code == 200
    assert _session_cookies(response) == []
    assert officer.get("/").status_code == 200


def test_the_login_page_still_keeps_its_csrf_token_in_the_session(app, demo):
    client = app.test_client()
    assert _session_cookies(client.get("/login"))
