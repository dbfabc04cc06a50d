"""The group's page tells where the group stands at every step of its way: in review, returned to the
officer, back in review once the officer has resubmitted every member from his phone, approved."""
from __future__ import annotations

import re

from sqlalchemy import select

from app import clock
from app.domain.workflow import Event
from app.extensions import db
from app.models import User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import groups
from app.services.demo import demo_entry
from tests.sync_helpers import enrol

DECIDER = {"awaiting_l2": ("reviewer2", "l2_pass"), "awaiting_special": ("special1", "special_pass")}


def _uuid(app) -> str:
    with app.app_context():
        return db.session.scalar(select(LiabilityGroup.uuid).where(LiabilityGroup.name == groups.DEMO_GROUP))


def _label(client, uuid: str) -> str:
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    return re.search(r'id="group-state">([^<]+)<', html).group(1)


def _decide(client, uuid: str, event: str, comment: str = "") -> None:
    html = client.get(f"/groups/{uuid}").get_data(as_text=True)
    assert f'value="{event}"' in html, event
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    response = client.post(f"/groups/{uuid}/decide", data={"csrf_token": token, "event": event, "version": version,
                                                           "comment": comment})
    assert response.status_code == 303


def test_the_group_page_shows_the_groups_state_at_every_step(app, client, auth, demo):
    uuid = _uuid(app)
    auth.login("director1")
    assert _label(client, uuid) == "审批中"
    _decide(client, uuid, "director_return", "联保协议缺少签字")
    assert _label(client, uuid) == "退回客户经理"

    phone = app.test_client()  # the officer's phone
    headers = enrol(app, "officer2")
    todo = phone.get("/api/v1/returned", headers=headers).get_json()["applications"]
    for i, t in enumerate(todo):
        r = phone.post(f"/api/v1/applications/{t['uuid']}/resubmit", json={"note": "已补签", "photos": t["photos"]},
                       headers=headers)
        assert r.status_code == 200
        assert _label(client, uuid) == ("审批中" if i == len(todo) - 1 else "退回客户经理")

    _decide(client, uuid, "director_approve")
    assert _label(client, uuid) == "审批中"
    with app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk1"))
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.uuid == uuid))
        for a in groups.members_of(group):
            a.entry_data = {"values": demo_entry(a), "saved_by": clerk.id, "saved_at": clock.now().isoformat(),
                            "complete": True}
            db.session.commit()
            app_service.act(a.id, Event.ENTRY_COMPLETE, clerk, now=clock.now())
    auth.post("/logout")
    auth.login("reviewer1")
    _decide(client, uuid, "l1_pass")
    for _ in range(3):
        html = client.get(f"/groups/{uuid}").get_data(as_text=True)
        waiting = [s for s in DECIDER if f'data-state="{s}"' in html]
        if not waiting:
            break
        username, event = DECIDER[min(waiting, key=list(DECIDER).index)]
        assert _label(client, uuid) == "审批中"
        auth.post("/logout")
        auth.login(username)
        _decide(client, uuid, event)
    assert _label(client, uuid) == "已批准"
