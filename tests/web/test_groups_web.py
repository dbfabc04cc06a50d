"""The group's page: scoped like its members' applications, decisions for all members at once."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models.credit import LiabilityGroup
from app.services.groups import DEMO_GROUP


def _group(app) -> tuple[int, str]:
    with app.app_context():
        g = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == DEMO_GROUP))
        return g.id, g.uuid


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_scoped_like_its_applications(app, client, auth, demo):
    gid, uuid = _group(app)
    auth.login("director2")  # another office's director
    assert client.get(f"/groups/{uuid}").status_code == 404
    assert client.get(f"/groups/{gid}").status_code == 404
    auth.post("/logout")
    auth.login("officer1")  # not his group
    assert client.get(f"/groups/{uuid}").status_code == 404
    auth.post("/logout")
    auth.login("admin")  # no applications grant
    assert client.get(f"/groups/{uuid}").status_code == 404
    auth.post("/logout")
    auth.login("reviewer1")  # HQ reaches every group
    assert client.get(f"/groups/{uuid}").status_code == 200
    assert client.get("/groups/99999999999999999999999").status_code == 404
    assert client.get("/groups/not-a-uuid").status_code == 404


def test_the_director_approves_the_group_and_the_member_page_points_there(app, client, auth, demo):
    gid, uuid = _group(app)
    auth.login("director1")
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert "陈大山" in html and "林秀英" in html and "黄志强" in html
    assert 'value="director_approve"' in html
    with app.app_context():
        from app.models import Application

        member = db.session.scalar(select(Application).where(Application.group_id == gid).order_by(Application.id))
        member_id = member.id
    page = client.get(f"/applications/{member_id}").get_data(as_text=True)
    assert f"/groups/{uuid}" in page and 'value="director_approve"' not in page
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    response = client.post(f"/groups/{uuid}/decide", data={"csrf_token": _token(html), "event": "director_approve",
                                                           "version": version})
    assert response.status_code == 303
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert html.count('data-state="awaiting_entry"') == 3


def test_a_refusal_is_told_and_nothing_moves(app, client, auth, demo):
    gid, uuid = _group(app)
    auth.login("director1")
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    response = client.post(f"/groups/{uuid}/decide", data={"csrf_token": _token(html), "event": "director_return",
                                                           "version": version}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "陈大山" in body and body.count('data-state="awaiting_director"') == 3
    assert client.post(f"/groups/{uuid}/decide", data={"csrf_token": _token(html), "event": "nonsense",
                                                       "version": version}).status_code == 400


def test_the_group_on_a_members_borrower_page(app, client, auth, demo):
    gid, uuid = _group(app)
    with app.app_context():
        from app.models import Application

        member = db.session.scalar(select(Application).where(Application.group_id == gid).order_by(Application.id))
        borrower_id = member.borrower_id
    auth.login("director1")
    html = client.get(f"/borrowers/{borrower_id}").get_data(as_text=True)
    assert 'id="borrower-groups"' in html and f"/groups/{uuid}" in html
    assert "林秀英" in html and "黄志强" in html and 'id="group-member-late"' not in html
