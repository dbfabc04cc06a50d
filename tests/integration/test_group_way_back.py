"""A returned joint-liability group's way back through review, the whole way: the director returns the
demo group of three, the officer resubmits each member from his phone (one with a new photo that
travels by tus, two with a note), the group is back in review once the last one is at the director,
and then goes through approval, entry, first-level review and the levels after it until one member is
paid out. Also: a returned member withdrawn instead brings the group back only while it keeps
the product's minimum of members."""
from __future__ import annotations

import os
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.domain.dates import business_date_of
from app.domain.workflow import Event
from app.extensions import db
from app.models import Application, AuditLog, CollectionItem, Photo, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import groups
from app.services import loans as loan_service
from app.services.demo import demo_entry
from tests.sync_helpers import enrol, jpeg_bytes, sha256, upload

# Who takes the group decision at each step after first-level review.
DECIDER = {"awaiting_l2": ("reviewer2", Event.L2_PASS), "awaiting_special": ("special1", Event.SPECIAL_PASS)}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _group() -> LiabilityGroup:
    return db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))


def _states(app) -> tuple[str, list[str]]:
    with app.app_context():
        group = _group()
        return group.state, [a.state for a in groups.members_of(group)]


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()
        db.session.expunge_all()
        return list(rows)


def _return_the_group(app) -> None:
    with app.app_context():
        group = _group()
        moved = groups.decide(_user("director1"), group.id, Event.DIRECTOR_RETURN, now=clock.now(),
                              comment="联保协议缺少签字", expected_version=group.version)
        assert moved == 3


def _new_photo(app, todo: dict) -> tuple[dict, bytes]:
    """One more photo of an item that still takes one, numbered after those on the server."""
    with app.app_context():
        items = db.session.scalars(select(CollectionItem).where(CollectionItem.product_id == todo["product_id"])).all()
        held: dict[int, list[int]] = {}
        for p in todo["photos"]:
            held.setdefault(p["item_id"], []).append(p["sequence"])
        item = next(i for i in items if not i.retired and len(held.get(i.id, [])) < i.max_count)
        sequence = max(held.get(item.id, [0])) + 1
    data = jpeg_bytes(seed=4242)
    return {"uuid": str(uuid.uuid4()), "item_id": item.id, "sequence": sequence, "sha256": sha256(data),
            "size": len(data), "taken_at": clock.now().replace(microsecond=0).isoformat()}, data


def test_a_returned_group_comes_back_to_review_and_goes_on_to_a_payout(app, client, demo):
    assert _states(app) == ("in_review", ["awaiting_director"] * 3)
    _return_the_group(app)
    assert _states(app) == ("returned", ["returned"] * 3)

    headers = enrol(app, "officer2")  # the group's officer, on his phone
    todo = client.get("/api/v1/returned", headers=headers).get_json()["applications"]
    assert len(todo) == 3 and all(t["reason"] == "联保协议缺少签字" for t in todo)
    first, second, third = sorted(todo, key=lambda t: t["application_id"])

    # The first member: a new photo, so it waits for the upload before it reaches the director.
    entry, data = _new_photo(app, first)
    r = client.post(f"/api/v1/applications/{first['uuid']}/resubmit",
                    json={"note": "已补签联保协议", "photos": first["photos"] + [entry]}, headers=headers)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "uploading"
    assert _states(app) == ("returned", ["uploading", "returned", "returned"])
    assert upload(client, headers, entry["uuid"], data).headers["X-Photo-Verified"] == entry["sha256"]
    assert _states(app) == ("returned", ["awaiting_director", "returned", "returned"])

    # The second: a note alone goes straight back to the director; the group still waits for the third.
    r = client.post(f"/api/v1/applications/{second['uuid']}/resubmit",
                    json={"note": "协议已签字", "photos": second["photos"]}, headers=headers)
    assert r.status_code == 200 and r.get_json()["state"] == "awaiting_director"
    assert _states(app) == ("returned", ["awaiting_director", "awaiting_director", "returned"])
    assert _audits(app, "group_back_in_review") == []

    # The last one back: the group is in review again, audited once, its version moved.
    with app.app_context():
        version_before = _group().version
    r = client.post(f"/api/v1/applications/{third['uuid']}/resubmit",
                    json={"note": "协议已签字", "photos": third["photos"]}, headers=headers)
    assert r.status_code == 200 and r.get_json()["state"] == "awaiting_director"
    assert _states(app) == ("in_review", ["awaiting_director"] * 3)
    back = _audits(app, "group_back_in_review")
    assert len(back) == 1
    assert back[0].detail["event"] == "photos_complete" and back[0].detail["application"] == third["application_id"]
    assert sorted(back[0].detail["members"]) == sorted(t["application_id"] for t in todo)
    assert back[0].actor_id is None  # the server moved it on, once the photos were in
    with app.app_context():
        assert _group().version > version_before  # a group form opened before is stale now
        assert client.get("/api/v1/returned", headers=headers).get_json()["applications"] == []

    # The group goes on as a whole: the director approves, the clerk enters each member, L1 passes.
    with app.app_context():
        group = _group()
        assert groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=clock.now(),
                             expected_version=group.version) == 3
        clerk = _user("clerk1")
        for a in groups.members_of(_group()):
            a.entry_data = {"values": demo_entry(a), "saved_by": clerk.id, "saved_at": clock.now().isoformat(),
                            "complete": True}
            db.session.commit()
            app_service.act(a.id, Event.ENTRY_COMPLETE, clerk, now=clock.now())
        assert groups.decide(_user("reviewer1"), _group().id, Event.L1_PASS, now=clock.now()) == 3
        # Then each member's own routing, the earliest level first, until every one has passed.
        for _ in range(3):
            step = groups.page(_user("reviewer1"), _group())["step"]
            if step.state is None:
                break
            username, event = DECIDER[step.state]
            assert groups.decide(_user(username), _group().id, event, now=clock.now()) == len(step.members)
        group = _group()
        assert group.state == "approved"
        members = groups.members_of(group)
        assert [a.state for a in members] == ["awaiting_disbursement"] * 3

        # A member is paid out.
        now = clock.now() + timedelta(minutes=1)
        today = business_date_of(now)
        member = members[0]
        harvest = date(today.year + (today.month + 9) // 12, (today.month + 9) % 12 + 1, 15)  # ten months on
        form = loan_service.DisbursementForm(amount=str(member.amount), disbursed_on=today.isoformat(),
                                             channel="cash", reference="", due_dates=harvest.isoformat())
        loan = loan_service.disburse(member, form, _user("cashier1"), today=today, now=now,
                                     settings=loan_service.LoanSettings())
        assert loan.principal == member.amount
        assert db.session.get(Application, member.id).state == "disbursed"
        events = [t.event for t in db.session.get(Application, member.id).transitions]
        assert events[events.index("director_return"):][:3] == ["director_return", "resubmit", "photos_complete"]


def test_a_returned_member_withdrawn_brings_the_group_back_only_while_it_is_big_enough(app, client, demo):
    _return_the_group(app)
    headers = enrol(app, "officer2")
    todo = sorted(client.get("/api/v1/returned", headers=headers).get_json()["applications"],
                  key=lambda t: t["application_id"])
    for t in todo[:2]:
        r = client.post(f"/api/v1/applications/{t['uuid']}/resubmit", json={"note": "已补签", "photos": t["photos"]},
                        headers=headers)
        assert r.status_code == 200
    assert _states(app) == ("returned", ["awaiting_director", "awaiting_director", "returned"])
    # Two members remain, fewer than the product's three: the group stays with the officer (to take a
    # new member, or to be dissolved) instead of going to a director who could only return it again.
    with app.app_context():
        app_service.act(todo[2]["application_id"], Event.WITHDRAW, _user("officer2"), now=clock.now(),
                        comment="借款人不再借款")
    assert _states(app) == ("returned", ["awaiting_director", "awaiting_director", "withdrawn"])
    assert _audits(app, "group_back_in_review") == []
    with app.app_context():
        page = groups.page(_user("director1"), _group())
        assert page["too_small"] and groups.may_dissolve(_user("director1"), _group())


def test_every_member_withdrawn_leaves_the_group_returned(app, client, demo):
    _return_the_group(app)
    with app.app_context():
        for a in groups.members_of(_group()):
            app_service.act(a.id, Event.WITHDRAW, _user("officer2"), now=clock.now(), comment="不再借款")
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "group_back_in_review")) == 0
    assert _states(app) == ("returned", ["withdrawn"] * 3)


MARIADB_ONLY = pytest.mark.skipif("mysql" not in os.environ.get("TEST_DATABASE_URL", ""),
                                  reason="row locks and InnoDB's snapshots: MariaDB only")


@MARIADB_ONLY
def test_the_last_two_members_back_at_once_bring_the_group_back(app, demo, monkeypatch):
    """Two members' photos complete at the same moment, each transaction having read before the other
    wrote: the group row's lock puts them one after the other, and the second sees the first."""
    _return_the_group(app)
    with app.app_context():
        officer = _user("officer2")
        first, second, third = groups.members_of(_group())
        app_service.act(third.id, Event.RESUBMIT, officer, now=clock.now(), comment="已补签")  # straight back
        for a in (first, second):  # a new photo on its way: they wait at uploading
            item = next(i for i in a.product.items if not i.retired)
            seq = max([p.sequence for p in a.photos if p.collection_item_id == item.id], default=0) + 1
            db.session.add(Photo(application=a, collection_item_id=item.id, sequence=seq, sha256="0" * 64,
                                 size_bytes=1, received_at=None))
            db.session.commit()
            app_service.act(a.id, Event.RESUBMIT, officer, now=clock.now(), comment="补拍照片")
        ids = [first.id, second.id]
    assert _states(app) == ("returned", ["uploading", "uploading", "awaiting_director"])

    barrier = threading.Barrier(2, timeout=30)
    real = app_service._returned_group_locked

    def both_read_first(application):
        barrier.wait()  # both transactions have read their member (and the group) before either locks
        return real(application)

    monkeypatch.setattr(app_service, "_returned_group_locked", both_read_first)
    errors: list[BaseException] = []

    def photos_in(app_id: int) -> None:
        with app.app_context():
            try:
                app_service.system_act(app_id, Event.PHOTOS_COMPLETE, now=clock.now())
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=photos_in, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _states(app) == ("in_review", ["awaiting_director"] * 3)
    assert len(_audits(app, "group_back_in_review")) == 1
