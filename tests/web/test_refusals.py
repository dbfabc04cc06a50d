"""A service's refusal on the staff's pages, answered once (app/web/errors.py): the message in the
user's language, back to the page the action came from; an htmx fragment request gets it in
#messages; nothing of the refused request is written."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import FollowUpTask, User
from app.services.errors import ServiceError
from app.services.tasks import ReportError
from tests.conftest import Auth
from tests.web.test_tasks_web import _feng_tasks

REFUSED = "请选择该贷款所属办事处的在岗客户经理"  # "Choose an active loan officer of the loan's office."


def _open_task_and_director(app) -> tuple[int, int, Auth]:
    task = next(t for t in _feng_tasks(app) if t.status == "open")
    director = Auth(app.test_client())
    director.login("director1")
    with app.app_context():
        other_office = db.session.scalar(select(User.id).where(User.username == "officer3"))
    return task.id, other_office, director


def test_a_refusal_goes_back_to_the_page_with_the_message(app, demo):
    task_id, other_office, director = _open_task_and_director(app)
    for officer_id in (other_office, 999_999):  # the service refuses both, the second as no such user
        r = director.post(f"/tasks/{task_id}/reassign", {"officer_id": officer_id})
        assert r.status_code == 303 and r.headers["Location"] == "/tasks/"
        page = director.client.get(r.headers["Location"]).get_data(as_text=True)
        assert "flash-error" in page and REFUSED in page
    with app.app_context():
        assert db.session.get(FollowUpTask, task_id).reassigned_by_id is None


def test_an_htmx_fragment_request_gets_the_message_in_the_messages_area(app, demo):
    task_id, other_office, director = _open_task_and_director(app)
    r = director.post(f"/tasks/{task_id}/reassign", {"officer_id": other_office}, headers={"HX-Request": "true"})
    assert r.status_code == 422
    assert (r.headers["HX-Retarget"], r.headers["HX-Reswap"]) == ("#messages", "innerHTML")
    assert 'class="flash flash-error"' in r.get_data(as_text=True) and REFUSED in r.get_data(as_text=True)


def test_without_a_named_page_it_goes_back_where_the_request_came_from_never_off_site(app, client, auth, demo):
    def refusing():
        raise ReportError("task_closed", "Only an open task can be reassigned.")

    refusing.public = True  # type: ignore[attr-defined]
    app.add_url_rule("/test-refusal", "test_refusal", refusing, methods=["POST"])
    auth.login("director1")
    r = auth.post("/test-refusal", headers={"Referer": "http://localhost/tasks/?status=open"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks/?status=open"
    assert "只有未完成的任务" in client.get("/tasks/").get_data(as_text=True)
    r = auth.post("/test-refusal", headers={"Referer": "https://elsewhere.example/phish"})
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert issubclass(ReportError, ServiceError)
