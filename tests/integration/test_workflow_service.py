"""The workflow service on a real database: one transaction, timeline + audit, races resolved."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app.domain.workflow import Event, TransitionRefused
from app.extensions import db
from app.models import Application, AuditLog, Borrower, Transition, User
from app.services import applications as service
from app.services.demo import demo_entry

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _application_id(name: str) -> int:
    return db.session.scalar(select(Application.id).join(Borrower).where(Borrower.name == name))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_act_writes_state_timeline_and_audit_together(app, demo):
    with app.app_context():
        app_id = _application_id("李四")
        before = (_count(Transition), _count(AuditLog))
        row = service.act(app_id, Event.L1_PASS, _user("reviewer1"), now=NOW, comment="ok")
        assert (row.from_state, row.to_state) == ("awaiting_l1", "awaiting_l2")  # 30,000 > 20,000
        assert (_count(Transition), _count(AuditLog)) == (before[0] + 1, before[1] + 1)
        a = db.session.get(Application, app_id)
        assert a.needs_l2 and a.l1_reviewer_id == demo["reviewer1"]
        assert a.routing_reasons[0]["level"] == "l2" and a.routing_reasons[0]["params"]
        audit = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert audit.action == "application_l1_pass" and audit.detail["to_state"] == "awaiting_l2"


def test_refused_move_writes_nothing(app, demo):
    with app.app_context():
        app_id = _application_id("李四")
        before = (_count(Transition), _count(AuditLog))
        # The clerk who keyed the application in may not review it.
        clerk = _user("clerk1")
        with pytest.raises(TransitionRefused) as refused:
            service.act(app_id, Event.L1_PASS, clerk, now=NOW)
        assert refused.value.refusal.code == "role"
        assert (_count(Transition), _count(AuditLog)) == before
        assert db.session.get(Application, app_id).state == "awaiting_l1"


def test_stale_object_loses_the_race(app, demo):
    """Session A read version v; session B moved it; A's write must fail, not double-transition."""
    with app.app_context():
        app_id = _application_id("李四")
        stale = db.session.get(Application, app_id)
        version = stale.version
        with app.app_context():  # another request, another session
            service.act(app_id, Event.L1_RETURN_TO_ENTRY, _user("reviewer1"), now=NOW, comment="身份证号不清")
        with pytest.raises(service.Conflict) as conflict:
            service.act(app_id, Event.L1_PASS, _user("reviewer1"), now=NOW, expected_version=version)
        assert conflict.value.changed_by == "周涛"
    with app.app_context():
        steps = db.session.scalars(select(Transition.event).where(Transition.application_id == app_id)).all()
        assert steps.count("l1_return_to_entry") == 1 and "l1_pass" not in steps


def test_two_reviewers_at_once_one_wins(app, demo):
    with app.app_context():
        app_id = _application_id("李四")
        version = db.session.get(Application, app_id).version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(event: Event, comment: str) -> None:
        with app.app_context():
            user = _user("reviewer1")
            db.session.get(Application, app_id)  # both read the same version first
            barrier.wait()
            try:
                service.act(app_id, event, user, now=NOW, comment=comment, expected_version=version)
                outcomes.append("won")
            except service.Conflict:
                outcomes.append("conflict")
            except Exception as e:  # noqa: BLE001 - shown in the assertion below
                outcomes.append(repr(e))

    threads = [
        threading.Thread(target=decide, args=(Event.L1_REJECT, "不符合条件")),
        threading.Thread(target=decide, args=(Event.L1_RETURN_TO_ENTRY, "金额录入有误")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    with app.app_context():
        events = db.session.scalars(
            select(Transition.event).where(Transition.application_id == app_id, Transition.from_state == "awaiting_l1")
        ).all()
        assert len(events) == 1


def test_segregation_holds_across_rounds_from_the_stored_timeline(app, demo):
    from app.models import UserRole

    with app.app_context():
        dual = User(username="dual", full_name="双岗", password_hash="x", office_id=_user("reviewer1").office_id)
        dual.role_rows = [UserRole(role="reviewer1"), UserRole(role="reviewer2")]
        db.session.add(dual)
        db.session.commit()
        app_id = _application_id("李四")  # 30,000: needs second-level review
        service.act(app_id, Event.L1_PASS, dual, now=NOW)
        service.act(app_id, Event.L2_RETURN_TO_OFFICER, _user("reviewer2"), now=NOW, comment="补充收入证明")
        service.act(app_id, Event.RESUBMIT, _user("officer1"), now=NOW)
        service.act(app_id, Event.DIRECTOR_APPROVE, _user("director1"), now=NOW)
        a = db.session.get(Application, app_id)
        a.entry_data = {"values": demo_entry(a), "complete": True}
        service.act(app_id, Event.ENTRY_COMPLETE, _user("clerk1"), now=NOW)
        service.act(app_id, Event.L1_PASS, _user("reviewer1"), now=NOW)
        db.session.expire_all()  # facts are rebuilt from the database, not from memory
        with pytest.raises(TransitionRefused) as refused:
            service.act(app_id, Event.L2_PASS, dual, now=NOW)
        assert refused.value.refusal.code == "segregation"
        service.act(app_id, Event.L2_PASS, _user("reviewer2"), now=NOW)
        assert db.session.get(Application, app_id).state == "awaiting_disbursement"
