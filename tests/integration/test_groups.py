"""Joint-liability groups on a real database: the group moves as a whole, a member alone is refused,
returns return everyone, a rejection is one member's, the exposure limit, the late member's group."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.domain.workflow import Event, TransitionRefused
from app.extensions import db
from app.models import Application, AuditLog, FollowUpTask, Loan, Product, SmsMessage, Transition, User
from app.models.credit import LiabilityGroup
from app.services import applications as app_service
from app.services import groups
from app.services.demo import demo_entry

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _group() -> LiabilityGroup:
    return db.session.scalar(select(LiabilityGroup).where(LiabilityGroup.name == groups.DEMO_GROUP))


def _members() -> list[Application]:
    return groups.members_of(_group())


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _enter_all(at: datetime) -> None:
    clerk = _user("clerk1")
    for a in _members():
        a.entry_data = {"values": demo_entry(a), "saved_by": clerk.id, "saved_at": at.isoformat(), "complete": True}
        db.session.commit()
        app_service.act(a.id, Event.ENTRY_COMPLETE, clerk, now=at)


def test_demo_group_waits_for_the_director(app, demo):
    with app.app_context():
        assert [a.state for a in _members()] == ["awaiting_director"] * 3
        assert _group().state == "in_review"


def test_a_lone_member_is_refused_with_the_group_named(app, demo):
    with app.app_context():
        a = _members()[0]
        before = (_count(Transition), _count(AuditLog))
        with pytest.raises(TransitionRefused) as refused:
            app_service.act(a.id, Event.DIRECTOR_APPROVE, _user("director1"), now=NOW)
        assert refused.value.refusal.code == "group"
        assert groups.DEMO_GROUP in str(refused.value)
        assert (_count(Transition), _count(AuditLog)) == before


def test_the_group_pass_moves_every_member_in_one_go(app, demo):
    with app.app_context():
        group = _group()
        before = (_count(Transition), _count(AuditLog))
        moved = groups.decide(_user("director1"), group.uuid, Event.DIRECTOR_APPROVE, now=NOW,
                              expected_version=group.version)
        assert moved == 3
        assert [a.state for a in _members()] == ["awaiting_entry"] * 3
        # each member's own transition and audit row, and the group's audit row
        assert (_count(Transition), _count(AuditLog)) == (before[0] + 3, before[1] + 4)
        assert _count(AuditLog, AuditLog.action == "group_director_approve") == 1
        # entry per member; then first-level review for all at once, routing per member
        _enter_all(NOW + timedelta(hours=1))
        moved = groups.decide(_user("reviewer1"), group.id, Event.L1_PASS, now=NOW + timedelta(hours=2))
        assert moved == 3
        states = [a.state for a in _members()]
        assert all(s in ("awaiting_disbursement", "awaiting_special", "awaiting_l2") for s in states)


def test_a_stale_group_form_is_refused(app, demo):
    with app.app_context():
        group = _group()
        with pytest.raises(groups.GroupRefused) as refused:
            groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=NOW,
                          expected_version=group.version - 1)
        assert refused.value.code == "group_changed"


def test_returning_the_group_returns_every_member_and_needs_a_comment(app, demo):
    with app.app_context():
        group = _group()
        with pytest.raises(groups.GroupMemberRefused) as refused:
            groups.decide(_user("director1"), group.id, Event.DIRECTOR_RETURN, now=NOW)
        assert refused.value.refusal.code == "comment_required"
        assert [a.state for a in _members()] == ["awaiting_director"] * 3  # nothing written
        groups.decide(_user("director1"), group.id, Event.DIRECTOR_RETURN, now=NOW, comment="联保协议未签字")
        assert [a.state for a in _members()] == ["returned"] * 3
        assert _group().state == "returned"


def test_a_member_is_rejected_alone_and_a_group_too_small_must_be_returned(app, demo):
    with app.app_context():
        group = _group()
        director = _user("director1")
        lone = _members()[2]
        app_service.act(lone.id, Event.DIRECTOR_REJECT, director, now=NOW, comment="赌博嫌疑")
        assert [a.state for a in _members()] == ["awaiting_director", "awaiting_director", "rejected"]
        with pytest.raises(groups.GroupRefused) as refused:
            groups.decide(director, group.id, Event.DIRECTOR_APPROVE, now=NOW)
        assert refused.value.code == "group_too_small"
        assert refused.value.params == {"count": 2, "min": 3}
        assert groups.decide(director, group.id, Event.DIRECTOR_RETURN, now=NOW, comment="请重新组建小组") == 2
        assert [a.state for a in _members()] == ["returned", "returned", "rejected"]


def test_first_level_pass_refused_over_the_exposure_limit_with_the_figures(app, demo):
    with app.app_context():
        group = _group()
        product = db.session.get(Product, group.product_id)
        product.credit_rules = {"group": {"exposure_limit": "50000.00"}}  # members ask 60,000 together
        db.session.commit()
        groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=NOW)
        _enter_all(NOW + timedelta(hours=1))
        before = _count(Transition)
        with pytest.raises(groups.GroupRefused) as refused:
            groups.decide(_user("reviewer1"), group.id, Event.L1_PASS, now=NOW + timedelta(hours=2))
        assert refused.value.code == "group_exposure"
        assert refused.value.params["total"] == "60,000.00" and refused.value.params["limit"] == "50,000.00"
        assert _count(Transition) == before
        page = groups.page(_user("reviewer1"), _group())
        assert page["exposure"].over and page["exposure"].total == Decimal("60000.00")


def test_a_member_at_special_review_holds_the_group_and_disbursement_waits(app, demo):
    with app.app_context():
        group = _group()
        product = db.session.get(Product, group.product_id)
        rules = dict(product.routing_rules)
        rules["l2_amount_over"] = None
        rules["special_exposure_over"] = "24000.00"  # 黄志强 asks 25,000: special review
        product.routing_rules = rules
        db.session.commit()
        groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=NOW)
        _enter_all(NOW + timedelta(hours=1))
        groups.decide(_user("reviewer1"), group.id, Event.L1_PASS, now=NOW + timedelta(hours=2))
        assert [a.state for a in _members()] == ["awaiting_disbursement", "awaiting_disbursement", "awaiting_special"]
        assert _group().state == "in_review"
        page = groups.page(_user("special1"), _group())
        assert page["step"].state == "awaiting_special" and page["events"][0] == Event.SPECIAL_PASS
        from app.services.groups import refuse_disbursement_before_approval

        with pytest.raises(TransitionRefused) as refused:
            refuse_disbursement_before_approval(_members()[0])
        assert refused.value.refusal.code == "group"
        assert groups.decide(_user("special1"), group.id, Event.SPECIAL_PASS, now=NOW + timedelta(hours=3)) == 1
        assert _group().state == "approved"
        refuse_disbursement_before_approval(_members()[0])  # now it may be disbursed


def _late_group(app) -> tuple[list[int], date]:
    """The demo group approved and disbursed, its first member's loan 5 days late."""
    from app.services import loans as loan_service

    group = _group()
    product = db.session.get(Product, group.product_id)
    rules = dict(product.routing_rules)
    rules["l2_amount_over"] = None
    product.routing_rules = rules
    db.session.commit()
    groups.decide(_user("director1"), group.id, Event.DIRECTOR_APPROVE, now=NOW)
    _enter_all(NOW + timedelta(hours=1))
    groups.decide(_user("reviewer1"), group.id, Event.L1_PASS, now=NOW + timedelta(hours=2))
    assert _group().state == "approved"
    loan_ids = []
    for a in _members():
        loan = Loan(application_id=a.id, borrower_id=a.borrower_id, product_id=a.product_id, officer_id=a.officer_id,
                    office_id=a.office_id, principal=a.amount, annual_rate=Decimal("0.072"),
                    repayment_method="bullet", term_months=10, disbursed_on=date(2026, 11, 1),
                    maturity_date=date(2027, 9, 1), channel="cash", disbursed_by_id=_user("cashier1").id)
        db.session.add(loan)
        db.session.flush()
        loan_ids.append(loan.id)
    db.session.get(Loan, loan_ids[0]).days_past_due = 5
    db.session.commit()
    assert loan_service is not None
    return loan_ids, date(2026, 11, 25)


def test_a_late_member_gives_the_others_tasks_and_texts_once_a_day(app, demo):
    with app.app_context():
        loan_ids, day = _late_group(app)
        got = groups.late_step(day, now=NOW, sms_sign="【贷贷通】")
        db.session.commit()
        assert got == {"tasks": 2, "sms": 2}
        tasks = db.session.scalars(select(FollowUpTask).where(FollowUpTask.kind == "group_late")
                                   .order_by(FollowUpTask.loan_id)).all()
        assert [t.loan_id for t in tasks] == loan_ids[1:]
        texts = db.session.scalars(select(SmsMessage).where(SmsMessage.kind == "group_late")).all()
        assert len(texts) == 2 and all("陈大山" in m.body and groups.DEMO_GROUP in m.body for m in texts)
        # the daily job run again the same day (or the next, the task still open): nothing more
        assert groups.late_step(day, now=NOW, sms_sign="【贷贷通】") == {"tasks": 0, "sms": 0}
        assert groups.late_step(day + timedelta(days=1), now=NOW, sms_sign="") == {"tasks": 0, "sms": 0}
        db.session.commit()
        assert _count(FollowUpTask, FollowUpTask.kind == "group_late") == 2
        assert _count(SmsMessage, SmsMessage.kind == "group_late") == 2


def test_the_daily_job_runs_the_group_step_and_the_borrower_page_flags_the_late_member(app, demo):
    with app.app_context():
        loan_ids, day = _late_group(app)
        from app.services import borrowers, jobs

        # the job recomputes days past due from the schedule (none here), so mark it after: run the step as the job does
        detail = jobs.run_daily(day)
        assert "group_late" in detail
        db.session.get(Loan, loan_ids[0]).days_past_due = 5
        db.session.commit()
        members = _members()
        story = borrowers.story(_user("director1"), members[1].borrower, [members[1]], day)
        assert story.groups and story.groups[0].late
        assert [name for name, _s, _d in story.groups[0].members] == ["陈大山", "林秀英", "黄志强"]
