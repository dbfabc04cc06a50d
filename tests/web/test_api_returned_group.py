"""The phone learns the joint-liability groups returned to its officer (``/api/v1/returned``,
``groups``): each with its loan type, relatives and the members the server holds, with their states —
so a phone that did not form the group can add new members to it. Another officer's phone is told
nothing of it, and a group in review is not listed."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.domain.workflow import Event
from app.extensions import db
from app.models import User
from app.models.credit import LiabilityGroup
from app.services import groups
from tests.sync_helpers import enrol


def test_returned_groups_are_listed_for_their_officer_only(app, client, demo):
    headers = enrol(app, "officer2")
    assert client.get("/api/v1/returned", headers=headers).get_json()["groups"] == []  # in review: not listed
    with app.app_context():
        group = db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))
        director = db.session.scalar(select(User).where(User.username == "director1"))
        groups.decide(director, group.id, Event.DIRECTOR_RETURN, now=clock.now(), comment="请补充成员")
        expected_members = [{"uuid": a.uuid, "name": a.borrower.name, "household_key": a.borrower.household_key,
                             "state": "returned"} for a in groups.members_of(group)]
        uuid, product_id = group.uuid, group.product_id
    body = client.get("/api/v1/returned", headers=headers).get_json()
    assert len(body["applications"]) == 3
    assert body["groups"] == [{
        "uuid": uuid, "name": groups.DEMO_GROUP, "village": "城关镇新华村", "product_id": product_id, "size": 3,
        "members_to_come": 0, "relatives": [], "members": expected_members,
    }]
    assert [m["name"] for m in body["groups"][0]["members"]] == ["陈大山", "林秀英", "黄志强"]
    other = enrol(app, "officer1")
    assert client.get("/api/v1/returned", headers=other).get_json()["groups"] == []
