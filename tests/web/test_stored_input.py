"""Input that does not parse is a message, never a 500: views that assumed a string parses."""
from __future__ import annotations

from tests.conftest import Auth
from tests.web.test_tasks_web import _feng_tasks


def test_a_reassignment_to_an_officer_id_that_is_not_a_number_is_refused_not_a_500(app, demo):
    tasks = [t for t in _feng_tasks(app) if t.status == "open"]
    director = Auth(app.test_client())
    director.login("director1")
    for bad in ("abc", "²", "1e3"):
        r = director.post(f"/tasks/{tasks[0].id}/reassign", {"officer_id": bad})
        assert r.status_code in (303, 422), (bad, r.status_code)
