"""New members for a returned joint-liability group (联保小组), from the officer's phone: the director
returns the demo group of three, the officer adds new households to it; the rules hold over the
members that remain plus the new ones, each new member is audited as it joins, and the group goes back
to review only once every returned member is back and every new member announced has arrived with
its photos in. Bad input (a new member of an existing member's household, a size over the maximum,
another officer's group, a group not returned, a size other than the one announced) is refused in
Chinese with nothing written."""
from __future__ import annotations

from sqlalchemy import func, select

from app import clock
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Photo, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import groups
from tests.sync_helpers import enrol, manifest, upload, valid_id_number

VILLAGE = "城关镇新华村"
ZH = {"Accept-Language": "zh"}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _group() -> LiabilityGroup:
    return db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))


def _state(app) -> tuple[str, int, int, list[str]]:
    with app.app_context():
        g = _group()
        return g.state, g.expected_size, g.members_to_come, [a.state for a in groups.members_of(g)]


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        db.session.expunge_all()
        return rows


def _counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Application, Photo, Borrower, AuditLog)) + (_group().version,)


def _return_the_group(app) -> dict:
    with app.app_context():
        group = _group()
        assert groups.decide(_user("director1"), group.id, Event.DIRECTOR_RETURN, now=clock.now(),
                             comment="请补充一名成员") == 3
        return {"uuid": group.uuid, "name": group.name, "village": group.village, "relatives": []}


def _new_member(app, group: dict, size: int, serial: int, household: str, name: str = "周新户"):
    body, blobs = manifest(app, [], product_code="LBD", group={**group, "size": size})
    body["borrower"].update(name=name, id_number=valid_id_number(serial), village=VILLAGE, household_key=household)
    return body, blobs


def _send(client, headers, body, blobs):
    r = client.post("/api/v1/applications", json=body, headers={**headers, **ZH})
    if r.status_code == 201:
        for entry, data in zip(body["photos"], blobs):
            upload(client, headers, entry["uuid"], data)
    return r


def _resubmit_all(client, headers):
    for t in client.get("/api/v1/returned", headers=headers).get_json()["applications"]:
        r = client.post(f"/api/v1/applications/{t['uuid']}/resubmit", json={"note": "已补充成员", "photos": t["photos"]},
                        headers=headers)
        assert r.status_code == 200, r.get_json()


def test_two_new_members_and_the_group_is_back_in_review_only_after_the_last(app, client, demo):
    group = _return_the_group(app)
    headers = enrol(app, "officer2")
    first, first_blobs = _new_member(app, group, 5, 501, "新华-n1", "周一")
    second, second_blobs = _new_member(app, group, 5, 502, "新华-n2", "吴二")

    # The first new member: announces the group of five, arrives with its photos; one more is to come.
    r = client.post("/api/v1/applications", json=first, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert _state(app) == ("returned", 5, 1, ["returned"] * 3 + ["uploading"])
    for entry, data in zip(first["photos"], first_blobs):
        upload(client, headers, entry["uuid"], data)
    assert _state(app) == ("returned", 5, 1, ["returned"] * 3 + ["awaiting_director"])
    # Every returned member back: the group still waits for the second new member.
    _resubmit_all(client, headers)
    assert _state(app) == ("returned", 5, 1, ["awaiting_director"] * 4)
    assert _audits(app, "group_back_in_review") == []

    # The second arrives: nothing more to come, but its photos are still on the way.
    r = client.post("/api/v1/applications", json=second, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert _state(app) == ("returned", 5, 0, ["awaiting_director"] * 4 + ["uploading"])
    assert _audits(app, "group_back_in_review") == []
    for entry, data in zip(second["photos"], second_blobs):
        upload(client, headers, entry["uuid"], data)
    assert _state(app) == ("in_review", 5, 0, ["awaiting_director"] * 5)

    back = _audits(app, "group_back_in_review")
    assert len(back) == 1 and back[0].detail["event"] == "photos_complete" and len(back[0].detail["members"]) == 5
    announced = _audits(app, "group_members_announced")
    assert len(announced) == 1
    assert announced[0].detail["size_before"] == 3 and announced[0].detail["size"] == 5
    assert announced[0].detail["new_members"] == 2
    joined = [a for a in _audits(app, "group_member_joined") if a.detail.get("returned_group")]
    assert [a.detail["application"] for a in joined] == [first["uuid"], second["uuid"]]
    assert [a.detail["members_to_come"] for a in joined] == [1, 0]
    with app.app_context():
        assert {a.actor_id for a in joined} == {_user("officer2").id}
        # The group goes on as a whole, its five members together.
        assert groups.decide(_user("director1"), _group().id, Event.DIRECTOR_APPROVE, now=clock.now()) == 5


def test_a_rejected_member_no_longer_counts_and_the_group_of_three_is_made_again(app, client, demo):
    with app.app_context():
        lone = groups.members_of(_group())[2]
        app_service.act(lone.id, Event.DIRECTOR_REJECT, _user("director1"), now=clock.now(), comment="赌博嫌疑")
        lone_household = lone.borrower.household_key
        assert groups.decide(_user("director1"), _group().id, Event.DIRECTOR_RETURN, now=clock.now(),
                             comment="请重新组建小组") == 2
        group = {"uuid": _group().uuid, "name": groups.DEMO_GROUP, "village": VILLAGE, "relatives": []}
    headers = enrol(app, "officer2")
    # The rejected member's household may send another member: he is out of the group.
    body, blobs = _new_member(app, group, 3, 503, lone_household)
    r = _send(client, headers, body, blobs)
    assert r.status_code == 201, r.get_json()
    assert _state(app)[:3] == ("returned", 3, 0)
    _resubmit_all(client, headers)
    assert _state(app) == ("in_review", 3, 0, ["awaiting_director", "awaiting_director", "rejected", "awaiting_director"])


def test_bad_new_members_are_refused_in_chinese_with_nothing_written(app, client, demo):
    group = _return_the_group(app)
    headers = enrol(app, "officer2")
    with app.app_context():
        household = groups.members_of(_group())[0].borrower.household_key
    before = _counts(app)

    cases = [
        (_new_member(app, group, 4, 601, household)[0], "一户"),  # an existing member's household
        (_new_member(app, group, 6, 602, "新华-x")[0], "3 至 5"),  # over the maximum
        (_new_member(app, group, 3, 603, "新华-y")[0], "已有"),  # no room: three members remain
    ]
    for body, words in cases:
        r = client.post("/api/v1/applications", json=body, headers={**headers, **ZH})
        assert r.status_code == 422 and r.get_json()["error"] == "group_refused", r.get_json()
        assert words in " ".join(r.get_json()["fields"].values()), r.get_json()
    # Another officer's group.
    other = enrol(app, "officer1")
    body, _ = _new_member(app, group, 4, 604, "新华-z")
    r = client.post("/api/v1/applications", json=body, headers={**other, **ZH})
    assert r.status_code == 422 and "另一" in r.get_json()["message"] + " ".join(r.get_json().get("fields", {}).values())
    assert _counts(app)[:3] == before[:3] and _counts(app)[4] == before[4]

    # Announced as five; a second new member sent as a group of four is refused.
    body, blobs = _new_member(app, group, 5, 605, "新华-n1")
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 201
    counts = _counts(app)
    body, _ = _new_member(app, group, 4, 606, "新华-n2")
    r = client.post("/api/v1/applications", json=body, headers={**headers, **ZH})
    assert r.status_code == 422 and r.get_json()["error"] == "group_refused", r.get_json()
    assert "重新采集" in " ".join(r.get_json()["fields"].values()), r.get_json()
    assert _counts(app) == counts


def test_a_group_not_returned_takes_no_new_member(app, client, demo):
    headers = enrol(app, "officer2")
    with app.app_context():
        group = {"uuid": _group().uuid, "name": groups.DEMO_GROUP, "village": VILLAGE, "relatives": []}
    before = _counts(app)
    body, _ = _new_member(app, group, 4, 701, "新华-n1")
    r = client.post("/api/v1/applications", json=body, headers={**headers, **ZH})
    assert r.status_code == 422 and r.get_json()["error"] == "group_refused"
    assert _counts(app) == before
    assert _state(app) == ("in_review", 3, 0, ["awaiting_director"] * 3)
