"""Dissolving a group from its page: offered to the director of its office and the first-level reviewer
only, a confirm step with a required reason (an htmx partial, or a page without JS), refusals told
in Chinese in the form with nothing written."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog
from app.models.credit import LiabilityGroup
from app.services.groups import DEMO_GROUP

HTMX = {"HX-Request": "true"}


def _uuid(app) -> str:
    with app.app_context():
        return db.session.scalar(select(LiabilityGroup.uuid).where(LiabilityGroup.name == DEMO_GROUP))


def _written(app) -> tuple:
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        return group.state, group.version, db.session.scalar(select(func.count()).select_from(AuditLog))


def _form(client, uuid: str) -> tuple[str, dict]:
    html = client.get(f"/groups/{uuid}/dissolve", headers=HTMX).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return html, {"csrf_token": token, "version": version}


def test_only_the_director_and_the_first_level_reviewer_are_offered_it(app, client, auth, demo):
    uuid = _uuid(app)
    for username in ("officer2", "clerk1", "reviewer2", "special1", "cashier1", "auditor1"):
        auth.login(username)
        page = client.get(f"/groups/{uuid}")
        assert page.status_code in (200, 404)  # the cashier and the auditor reach it, or not, as its applications
        assert 'id="group-dissolve"' not in page.get_data(as_text=True), username
        assert client.get(f"/groups/{uuid}/dissolve").status_code == 403, username
        assert client.post(f"/groups/{uuid}/dissolve", data={"reason": "x", "version": "1"}).status_code in (400, 403)
        auth.post("/logout")
    auth.login("director2")  # another office's director: the group is out of his reach
    assert client.get(f"/groups/{uuid}/dissolve").status_code == 404
    auth.post("/logout")
    for username in ("director1", "reviewer1"):
        auth.login(username)
        assert 'id="group-dissolve-open"' in client.get(f"/groups/{uuid}").get_data(as_text=True)
        assert client.get(f"/groups/{uuid}/dissolve").status_code == 200
        auth.post("/logout")


def test_a_post_by_another_role_writes_nothing(app, client, auth, demo):
    uuid = _uuid(app)
    auth.login("director1")
    _, fields = _form(client, uuid)  # a valid token and version, posted by someone else's session below
    auth.post("/logout")
    auth.login("reviewer2")
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    before = _written(app)  # after his login (audited)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/groups/{uuid}/dissolve", data={"csrf_token": token, "version": fields["version"],
                                                         "reason": "只剩两户"}).status_code == 403
    assert _written(app) == before


def test_the_director_dissolves_the_group_through_the_confirm_step(app, client, auth, demo):
    uuid = _uuid(app)
    auth.login("director1")
    page = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert f'hx-get="/groups/{uuid}/dissolve"' in page
    html, fields = _form(client, uuid)
    assert "<html" not in html and 'id="group-dissolve"' in html  # the partial alone
    assert 'name="reason"' in html and "required" in html and "不能撤销" in html
    # Without JS the same form is a page of its own.
    full = client.get(f"/groups/{uuid}/dissolve").get_data(as_text=True)
    assert "<html" in full and 'name="reason"' in full

    before = _written(app)
    refused = client.post(f"/groups/{uuid}/dissolve", data={**fields, "reason": "  "}, headers=HTMX)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "请填写解散小组的原因" in body and 'id="group-dissolve"' in body
    stale = client.post(f"/groups/{uuid}/dissolve", data={**fields, "version": str(int(fields["version"]) - 1),
                                                          "reason": "只剩两户"}, headers=HTMX)
    assert stale.status_code == 409 and "只剩两户" in stale.get_data(as_text=True)  # the typing is kept
    assert _written(app) == before
    assert client.post(f"/groups/{uuid}/dissolve", data={**fields, "version": "x", "reason": "r"}).status_code == 400

    done = client.post(f"/groups/{uuid}/dissolve", data={**fields, "reason": "只剩两户"}, headers=HTMX)
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/groups/{uuid}"
    page = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert re.search(r'id="group-state">已解散<', page)
    assert 'id="group-dissolved"' in page and "已解散，成员今后在各自的申请页面逐个审批" in page  # the flash
    assert 'id="group-dissolve"' not in page and 'name="event"' not in page
    assert _written(app)[0] == "dissolved"

    again = client.post(f"/groups/{uuid}/dissolve", data={**fields, "version": str(_written(app)[1]),
                                                          "reason": "再来一次"}, headers=HTMX)
    assert again.status_code == 422 and "已经解散" in again.get_data(as_text=True)
    form = client.get(f"/groups/{uuid}/dissolve", headers=HTMX).get_data(as_text=True)
    assert "已经解散" in form and 'name="reason"' not in form


def test_the_first_level_reviewer_dissolves_without_js(app, client, auth, demo):
    uuid = _uuid(app)
    auth.login("reviewer1")
    full = client.get(f"/groups/{uuid}/dissolve").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', full).group(1)
    version = re.search(r'name="version" value="(\d+)"', full).group(1)
    response = client.post(f"/groups/{uuid}/dissolve", data={"csrf_token": token, "version": version,
                                                              "reason": "成员搬迁"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/groups/{uuid}")
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "group_dissolved"))
        assert row.detail["reason"] == "成员搬迁"
