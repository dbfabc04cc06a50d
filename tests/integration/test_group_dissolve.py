"""Dissolving a joint-liability group: who may, the refusals (nothing written), the audit row, and the
members decided one by one afterwards — the way out of a group left too small to pass."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.domain.workflow import Event, TransitionRefused
from app.extensions import db
from app.models import Application, AuditLog, Product, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import groups, scope
from app.services.demo import demo_entry

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _group() -> LiabilityGroup:
    return db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))


def _written() -> tuple:
    """What a refusal must leave as it was: the group's state and version, the audit log."""
    db.session.expire_all()
    group = _group()
    return group.state, group.version, db.session.scalar(select(func.count()).select_from(AuditLog))


def test_the_director_of_the_groups_office_and_a_first_level_reviewer_may_dissolve_no_one_else(app, demo):
    with app.app_context():
        group = _group()
        assert groups.may_dissolve(_user("director1"), group)
        assert groups.may_dissolve(_user("reviewer1"), group)
        for username in ("officer2", "clerk1", "reviewer2", "special1", "cashier1", "auditor1"):
            assert not groups.may_dissolve(_user(username), group), username
        before = _written()
        for username in ("officer2", "reviewer2", "special1", "clerk1"):  # they reach the group, may not dissolve it
            with pytest.raises(groups.GroupRefused) as refused:
                groups.dissolve(_user(username), group.id, "只剩两户", expected_version=group.version)
            assert refused.value.code == "group_dissolve_denied"
        for username in ("director2", "officer1", "admin"):  # another office's director, not his group, no grant
            with pytest.raises(scope.OutOfScope):
                groups.dissolve(_user(username), group.id, "只剩两户", expected_version=group.version)
        assert _written() == before


def test_refusals_write_nothing(app, demo):
    with app.app_context():
        director = _user("director1")
        group = _group()
        before = _written()
        for reason in ("", "   \n"):
            with pytest.raises(groups.GroupRefused) as refused:
                groups.dissolve(director, group.id, reason, expected_version=group.version)
            assert refused.value.code == "reason_required"
        with pytest.raises(groups.GroupRefused) as refused:
            groups.dissolve(director, group.id, "长" * 501, expected_version=group.version)
        assert refused.value.code == "reason_too_long"
        with pytest.raises(groups.GroupRefused) as refused:
            groups.dissolve(director, group.id, "只剩两户", expected_version=group.version - 1)
        assert refused.value.code == "group_changed"
        assert _written() == before

        groups.dissolve(director, group.id, "只剩两户", expected_version=group.version)
        before = _written()
        with pytest.raises(groups.GroupRefused) as refused:
            groups.dissolve(_user("reviewer1"), group.id, "再解散一次")
        assert refused.value.code == "group_dissolved_already" and refused.value.params == {"group": groups.DEMO_GROUP}
        assert _written() == before


def test_an_approved_group_cannot_be_dissolved(app, demo):
    with app.app_context():
        group = _group()
        product = db.session.get(Product, group.product_id)
        product.routing_rules = dict(product.routing_rules, l2_amount_over=None)  # L1 is the last level
        db.session.commit()
        groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=NOW)
        clerk = _user("clerk1")
        for a in groups.members_of(_group()):
            a.entry_data = {"values": demo_entry(a), "saved_by": clerk.id, "saved_at": NOW.isoformat(), "complete": True}
            db.session.commit()
            app_service.act(a.id, Event.ENTRY_COMPLETE, clerk, now=NOW + timedelta(hours=1))
        groups.decide(_user("reviewer1"), group.id, Event.L1_PASS, now=NOW + timedelta(hours=2))
        assert _group().state == "approved"
        before = _written()
        with pytest.raises(groups.GroupRefused) as refused:
            groups.dissolve(_user("director1"), group.id, "不想联保了")
        assert refused.value.code == "group_approved"
        assert _written() == before
        assert not groups.page(_user("director1"), _group())["dissolve_offered"]


def test_a_group_too_small_to_pass_is_dissolved_and_its_members_decided_one_by_one(app, demo):
    with app.app_context():
        director = _user("director1")
        group = _group()
        first, second, third = groups.members_of(group)
        app_service.act(third.id, Event.DIRECTOR_REJECT, director, now=NOW, comment="赌博嫌疑")
        with pytest.raises(groups.GroupRefused) as refused:
            groups.decide(director, group.id, Event.DIRECTOR_APPROVE, now=NOW)
        assert refused.value.code == "group_too_small"
        assert "Dissolve" in refused.value.message
        page = groups.page(director, _group())
        assert page["too_small"] and page["dissolve_offered"]

        groups.dissolve(director, group.uuid, "  只剩两户，不足三户  ", expected_version=_group().version, ip="10.0.0.7")
        group = _group()
        assert group.state == "dissolved"
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "group_dissolved"))
        assert (row.actor_id, row.object_type, row.object_id, row.ip) == (director.id, "liability_group", group.id,
                                                                          "10.0.0.7")
        assert row.detail["reason"] == "只剩两户，不足三户" and row.detail["from_state"] == "in_review"
        assert row.detail["members"] == [
            {"application": first.id, "name": "陈大山", "state": "awaiting_director"},
            {"application": second.id, "name": "林秀英", "state": "awaiting_director"},
            {"application": third.id, "name": "黄志强", "state": "rejected"},
        ]
        # The applications stay where they were; the group binds them no more.
        assert [a.state for a in groups.members_of(group)] == ["awaiting_director", "awaiting_director", "rejected"]
        assert db.session.get(Application, first.id).facts().group is None
        page = groups.page(director, group)
        assert page["events"] == [] and not page["dissolve_offered"]
        with pytest.raises(groups.GroupRefused) as refused:
            groups.decide(director, group.id, Event.DIRECTOR_APPROVE, now=NOW)
        assert refused.value.code == "group_dissolved"

        # Each member on his own now: the director approves one and returns the other.
        app_service.act(first.id, Event.DIRECTOR_APPROVE, director, now=NOW + timedelta(minutes=5))
        app_service.act(second.id, Event.DIRECTOR_RETURN, director, now=NOW + timedelta(minutes=6), comment="请补充材料")
        assert [a.state for a in groups.members_of(group)] == ["awaiting_entry", "returned", "rejected"]
        assert _group().state == "dissolved"  # a dissolved group never comes back to review
        # … and may join another group: a dissolved group binds nobody.
        assert groups.active_groups_of_borrowers([first.borrower_id, second.borrower_id]) == {}


def test_a_lone_member_of_a_group_in_review_is_still_refused(app, demo):
    # The counterpart of the above: until the group is dissolved, a lone decision names the group.
    with app.app_context():
        member = groups.members_of(_group())[0]
        with pytest.raises(TransitionRefused) as refused:
            app_service.act(member.id, Event.DIRECTOR_APPROVE, _user("director1"), now=NOW)
        assert refused.value.refusal.code == "group"
