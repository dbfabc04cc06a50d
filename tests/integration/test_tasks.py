"""Post-loan tasks: generation over a simulated month, visit reports checked by GPS, reassignment."""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.api.errors import status_of
from app.api.schemas import VisitReport
from app.extensions import db
from app.models import Application, Borrower, FollowUpTask, Loan, Notification, SmsMessage, TaskPhoto, User
from app.services import jobs, sms, tasks
from app.services import loans as loan_service
from app.sms import ConsoleGateway
from app.storage import make_store
from tests.support.staff import second_cashier
from tests.sync_helpers import jpeg_bytes

LOAN_SETTINGS = loan_service.LoanSettings()  # the embedded defaults (app/config.py sets none other)

DAY = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, 2, 0, tzinfo=timezone.utc)
HOME = (30.6800, 104.1000)
SETTINGS = tasks.TaskSettings()


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _loan() -> Loan:
    """钱七's 15,000 loan (河口, officer3), disbursed on DAY; his home at HOME."""
    app = db.session.scalar(select(Application).join(Borrower).where(Borrower.name == "钱七"))
    app.borrower.home_lat, app.borrower.home_lon = HOME
    for t in app.transitions:  # approved before DAY: the demo approves at the real clock
        t.at = min(t.at, NOW - timedelta(days=1))
    form = loan_service.DisbursementForm(amount="15000", disbursed_on=DAY.isoformat(), channel="cash", reference="")
    return loan_service.disburse(app, form, _user("cashier1"), today=DAY, now=NOW, settings=LOAN_SETTINGS)


def _tasks(loan_id: int) -> list[tuple[str, date, str, str]]:
    rows = db.session.scalars(select(FollowUpTask).where(FollowUpTask.loan_id == loan_id)
                              .order_by(FollowUpTask.kind, FollowUpTask.due_date)).all()
    return [(t.kind, t.due_date, t.officer.username, t.status) for t in rows]


def test_a_simulated_month_creates_each_task_once_and_catching_up_gives_the_same(app, demo):
    with app.app_context():
        loan = _loan()
        loan_id = loan.id
        for offset in range(0, 75):  # every day for two and a half months, no repayment at all
            jobs.run_daily(DAY + timedelta(days=offset), task_settings=SETTINGS)
        daily = _tasks(loan_id)
        kinds = [k for k, *_ in daily]
        assert ("revisit", DAY + timedelta(days=15), "officer3", "open") in daily
        # First installment 2026-02-15 unpaid: collection from 02-16, escalation at 30 days past due.
        assert ("collection", date(2026, 2, 16), "officer3", "open") in daily
        assert ("escalation", date(2026, 3, 17), "director2", "open") in daily
        assert kinds.count("escalation") == 1
        assert db.session.scalar(select(Notification).where(Notification.kind == "escalation",
                                                            Notification.user_id == _user("director2").id))
        # Run it all again, and once more for the last day: nothing new.
        jobs.run_daily(DAY + timedelta(days=74), task_settings=SETTINGS)
        assert _tasks(loan_id) == daily
        # Start over, as before the job ever saw the loan, and jump: the same tasks in one run.
        db.session.execute(FollowUpTask.__table__.delete().where(FollowUpTask.loan_id == loan_id))
        db.session.get(Loan, loan_id).next_revisit_on = None
        db.session.commit()
        jobs.run_daily(DAY + timedelta(days=74), task_settings=SETTINGS)
        assert _tasks(loan_id) == daily


def test_an_escalation_texts_the_director_once_when_staff_alerts_are_on(app, demo):
    with app.app_context():
        loan_id = _loan().id
        director = _user("director2")
        director.phone = "139 0000 1111"
        db.session.commit()
        alerts = tasks.TaskSettings(staff_sms=True, sms_sign="【贷贷通】")
        for offset in range(30, 70):  # escalation falls due on 03-17, 30 days after 02-15
            jobs.run_daily(DAY + timedelta(days=offset), task_settings=alerts)
        [message] = db.session.scalars(select(SmsMessage).where(SmsMessage.kind == "staff_escalation")).all()
        assert message.phone == "13900001111" and message.for_date == date(2026, 3, 17)
        assert message.body == ("【贷贷通】刘秀英主任您好：客户钱七（客户经理赵强）的贷款已逾期30天，"
                                "催收已升级由您跟进，请登录贷贷通查看。")
        assert message.borrower_id is None and message.installment_id is None
        # It goes out through the same outbox as the borrowers' reminders.
        sent = sms.send_due(datetime(2026, 3, 17, 1, tzinfo=timezone.utc), ConsoleGateway(), max_attempts=3)
        assert sent["sent"] >= 1
        db.session.commit()  # a new snapshot (REPEATABLE READ): it was sent on the outbox's own connection
        assert message.status == "sent"
        assert [t for t in _tasks(loan_id) if t[0] == "escalation"] == [
            ("escalation", date(2026, 3, 17), "director2", "open")]


def test_no_staff_text_without_the_setting_or_a_valid_number(app, demo):
    with app.app_context():
        _loan()
        jobs.run_daily(DAY + timedelta(days=70), task_settings=tasks.TaskSettings(staff_sms=False))
        director = _user("director1")
        assert db.session.scalar(select(db.func.count()).select_from(SmsMessage)
                                 .where(SmsMessage.kind == "staff_escalation")) == 0
        # director2 has no number: the escalation and its notification happen, the text does not.
        assert director.phone == "" and _user("director2").phone == ""
        db.session.execute(FollowUpTask.__table__.delete())
        db.session.commit()
        jobs.run_daily(DAY + timedelta(days=71), task_settings=tasks.TaskSettings(staff_sms=True))
        assert db.session.scalar(select(db.func.count()).select_from(FollowUpTask)
                                 .where(FollowUpTask.kind == "escalation")) == 1
        assert db.session.scalar(select(db.func.count()).select_from(SmsMessage)
                                 .where(SmsMessage.kind == "staff_escalation")) == 0


def test_large_installments_get_a_visit_before_they_fall_due(app, demo):
    with app.app_context():
        loan = _loan()
        loan_id, first = loan.id, loan.installments[0]
        exactly = first.principal_due + first.interest_due
        # A product threshold one fen above the installment: no visit; the default is not used.
        loan.product.pre_due_amount = exactly + Decimal("0.01")
        tasks.generate(date(2026, 2, 10), tasks.TaskSettings(pre_due_amount=Decimal("1000")))
        assert [t for t in _tasks(loan_id) if t[0] == "pre_due"] == []
        loan.product.pre_due_amount = exactly  # at the threshold: a visit
        tasks.generate(date(2026, 2, 10), tasks.TaskSettings(pre_due_amount=Decimal("1000")))
        db.session.commit()
        assert ("pre_due", date(2026, 2, 12), "officer3", "open") in _tasks(loan_id)


def _report(task: FollowUpTask, *, lat: float, lon: float, accuracy: float = 15, mock: bool = False,
            photo: bytes | None = None, report_uuid: str | None = None) -> dict:
    photos = []
    if photo is not None:
        photos = [{"uuid": str(uuid.uuid4()), "sha256": hashlib.sha256(photo).hexdigest(),
                   "content_base64": base64.b64encode(photo).decode()}]
    return {"report_uuid": report_uuid or str(uuid.uuid4()), "completed_at": NOW.isoformat(),
            "outcome": {"met_borrower": True, "paid_amount": "200", "promise_date": "2026-03-01",
                        "promise_amount": "500", "loan_use_verified": True, "notes": "在家，已买化肥"},
            "gps": {"lat": lat, "lon": lon, "accuracy_m": accuracy, "at": NOW.isoformat(), "is_mock": mock},
            "photos": photos}


def _open_task(loan_id: int, kind: str = "revisit") -> FollowUpTask:
    return db.session.scalar(select(FollowUpTask).where(FollowUpTask.loan_id == loan_id, FollowUpTask.kind == kind,
                                                        FollowUpTask.status == "open").order_by(FollowUpTask.due_date))


def _send(app, task_uuid: str, body: dict, who: str = "officer3") -> dict:
    # As the API hands it over: checked for shape at the edge (tests/web/test_api_hostile_input.py).
    body = VisitReport.model_validate(body).model_dump()
    return tasks.record_report(task_uuid, body, _user(who), now=NOW, settings=SETTINGS, store=make_store(app.config),
                               max_photo_bytes=app.config["MAX_PHOTO_BYTES"], max_photo_pixels=app.config["MAX_PHOTO_PIXELS"])


def test_a_visit_at_the_home_is_verified_with_its_photo_and_a_resend_changes_nothing(app, demo):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=70), task_settings=SETTINGS)
        task = _open_task(loan_id)
        photo = jpeg_bytes(800, 600, seed=3)
        body = _report(task, lat=HOME[0] + 0.0004, lon=HOME[1], photo=photo)  # ~45 m
        answer = _send(app, task.uuid, body)
        assert answer["on_site"] is True and answer["distance_m"] < 60 and answer["flags"] == []
        assert _send(app, task.uuid, body) == answer  # resent: same answer
        task = db.session.get(FollowUpTask, task.id)
        assert task.status == "done" and task.outcome["promise_amount"] == "500.00"
        assert [p.sha256 for p in task.photos] == [hashlib.sha256(photo).hexdigest()]
        assert db.session.scalar(select(db.func.count()).select_from(TaskPhoto)) == 1
        with make_store(app.config).open(task.photos[0].sha256) as f:
            assert f.read() == photo
        # A different report for the same task is refused.
        with pytest.raises(tasks.ReportError) as closed:
            _send(app, task.uuid, _report(task, lat=HOME[0], lon=HOME[1]))
        assert closed.value.code == "task_closed" and status_of(closed.value.code) == 409


@pytest.mark.parametrize("offset,accuracy,mock,flags", [
    (0.018, 15, False, ["far"]),             # ~2 km away
    (0.0, 500, False, ["poor_accuracy"]),    # at home but the fix is too coarse
    (0.0, 10, True, ["mock_location"]),      # the Android bridge says mock
])
def test_a_doubtful_visit_is_flagged_with_why(app, demo, offset, accuracy, mock, flags):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=70), task_settings=SETTINGS)
        task = _open_task(loan_id)
        answer = _send(app, task.uuid, _report(task, lat=HOME[0] + offset, lon=HOME[1], accuracy=accuracy, mock=mock))
        assert answer["on_site"] is False and answer["flags"] == flags
        if offset:
            assert 1900 < answer["distance_m"] < 2100


def test_bad_reports_are_explained_and_write_nothing(app, demo):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=70), task_settings=SETTINGS)
        task = _open_task(loan_id)
        body = _report(task, lat=HOME[0], lon=HOME[1], photo=b"not a jpeg at all")
        with pytest.raises(tasks.ReportError) as bad:
            _send(app, task.uuid, body)
        assert bad.value.code == "invalid_report" and status_of(bad.value.code) == 422 and "photos" in bad.value.fields
        body = _report(task, lat=HOME[0], lon=HOME[1])
        body["gps"]["at"] = (NOW + timedelta(hours=2)).isoformat()  # the phone's clock is hours ahead
        body["outcome"]["promise_date"] = "2020-01-01"
        with pytest.raises(tasks.ReportError) as bad:
            _send(app, task.uuid, body)
        assert {"gps", "promise_date"} <= set(bad.value.fields)
        db.session.rollback()
        assert db.session.get(FollowUpTask, task.id).status == "open"
        with pytest.raises(tasks.ReportError) as other:
            _send(app, task.uuid, _report(task, lat=HOME[0], lon=HOME[1]), who="officer1")
        assert other.value.code == "task_closed" and status_of(other.value.code) == 409


def test_the_director_reassigns_an_open_task_within_his_office(app, demo):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=20), task_settings=SETTINGS)
        task = _open_task(loan_id)
        with pytest.raises(tasks.ReportError):
            tasks.reassign(task, _user("officer1"), _user("director2"))  # another office's officer
        second = User(username="officer4", full_name="钱多", password_hash="x", office_id=_user("officer3").office_id)
        from app.models import UserRole

        second.role_rows = [UserRole(role="officer")]
        db.session.add(second)
        db.session.commit()
        tasks.reassign(task, second, _user("director2"))
        assert db.session.get(FollowUpTask, task.id).officer_id == second.id
        plan = tasks.plan_for(second, DAY + timedelta(days=20), SETTINGS)
        assert [t["uuid"] for t in plan["tasks"]] == [task.uuid]
        assert plan["tasks"][0]["borrower"]["home"] == {"lat": HOME[0], "lon": HOME[1]}


# --- the set-based generation against a plain reading of the rules ----------------------------


def _reference(day: date, settings: tasks.TaskSettings) -> set[tuple]:
    """The tasks the rules call for up to ``day``, worked out loan by loan in Python."""
    until = day + timedelta(days=settings.horizon_days)
    directors: dict[int, int] = {}
    for user in db.session.scalars(select(User).order_by(User.id)):
        if user.is_enabled and user.has_role("director"):
            directors.setdefault(user.office_id, user.id)
    wanted = set()
    for loan in db.session.scalars(select(Loan).where(Loan.status == "active")):
        p = loan.product
        first = settings.first_revisit_days if p.first_revisit_days is None else p.first_revisit_days
        every = settings.revisit_every_days if p.revisit_every_days is None else p.revisit_every_days
        big = settings.pre_due_amount if p.pre_due_amount is None else p.pre_due_amount
        escalate = settings.escalation_days if p.escalation_days is None else p.escalation_days
        due = loan.disbursed_on + timedelta(days=first)
        while due <= min(until, loan.maturity_date):
            wanted.add((loan.id, loan.officer_id, "revisit", due, None))
            due += timedelta(days=every)
        unpaid = [i for i in loan.installments if i.principal_paid < i.principal_due or i.interest_paid < i.interest_due]
        for i in unpaid:
            visit_on = i.due_date - timedelta(days=settings.pre_due_days_before)
            if i.due_date > day and visit_on <= until and i.principal_due + i.interest_due >= big:
                wanted.add((loan.id, loan.officer_id, "pre_due", visit_on, i.seq))
            if i.due_date < day:
                wanted.add((loan.id, loan.officer_id, "collection", i.due_date + timedelta(days=1), i.seq))
        late = [i.due_date for i in unpaid if i.due_date < day]
        director = directors.get(loan.office_id)
        if late and director is not None and min(late) + timedelta(days=escalate) <= day:
            wanted.add((loan.id, director, "escalation", min(late) + timedelta(days=escalate), None))
    return wanted


def _generated() -> set[tuple]:
    return set(db.session.execute(select(FollowUpTask.loan_id, FollowUpTask.officer_id, FollowUpTask.kind,
                                         FollowUpTask.due_date, FollowUpTask.installment_seq)).all())


maybe = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731 - None: the institution's default


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.integers(0, 500), gap=st.integers(0, 120),
    paid=st.lists(st.booleans(), min_size=12, max_size=12), director_enabled=st.booleans(),
    product=st.tuples(maybe(st.integers(1, 60)), maybe(st.integers(7, 120)),
                      maybe(st.integers(1, 20000).map(Decimal)), maybe(st.integers(1, 90))),
    defaults=st.tuples(st.integers(1, 60), st.integers(7, 120), st.integers(1, 20000).map(Decimal), st.integers(1, 90)),
)
def test_generation_matches_the_rules_read_loan_by_loan(app, demo, first, gap, paid, director_enabled, product,
                                                         defaults):
    """Random thresholds (per product or the default), payments and days: the INSERT ... SELECTs
    create exactly what the rules say, after an earlier run too, and a rerun adds nothing."""
    with app.app_context():
        if db.session.scalar(select(Loan).join(Application).join(Borrower).where(Borrower.name == "钱七")) is None:
            _loan()  # committed once; every example below rolls back its own changes
        try:
            loan = db.session.scalar(select(Loan).join(Application).join(Borrower).where(Borrower.name == "钱七"))
            for inst, settled in zip(sorted(loan.installments, key=lambda i: i.seq), paid):
                if settled:
                    inst.principal_paid, inst.interest_paid = inst.principal_due, inst.interest_due
            p = loan.product
            p.first_revisit_days, p.revisit_every_days, p.pre_due_amount, p.escalation_days = product
            _user("director2").is_enabled = director_enabled
            db.session.flush()
            s = tasks.TaskSettings(first_revisit_days=defaults[0], revisit_every_days=defaults[1],
                                   pre_due_amount=defaults[2], escalation_days=defaults[3])
            earlier, day = DAY + timedelta(days=first), DAY + timedelta(days=first + gap)
            tasks.generate(earlier, s)
            created = tasks.generate(day, s)
            expected = _reference(earlier, s) | _reference(day, s)
            assert _generated() == expected
            assert created == len(expected - _reference(earlier, s))
            assert tasks.generate(day, s) == 0
            assert all(uuid.UUID(t).version == 4 for t in db.session.scalars(select(FollowUpTask.uuid)))
        finally:
            db.session.rollback()


# --- a loan's tasks follow the loan ------------------------------------------------------------


def _statuses(loan_id: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for kind, status in db.session.execute(select(FollowUpTask.kind, FollowUpTask.status)
                                           .where(FollowUpTask.loan_id == loan_id)):
        out.setdefault(status, set()).add(kind)
    return out


def test_repaying_in_full_cancels_the_open_tasks_and_a_reversal_reopens_them(app, demo):
    with app.app_context():
        loan = _loan()
        loan_id = loan.id
        on = DAY + timedelta(days=40)  # the first installment is late: revisit and collection open
        jobs.run_daily(on, task_settings=SETTINGS)
        assert {"revisit", "collection"} <= _statuses(loan_id)["open"]
        loan = db.session.get(Loan, loan_id)
        owed = loan_service.position(loan, on).outstanding(loan.penalty_rate)
        now = datetime(2026, 2, 24, 2, tzinfo=timezone.utc)
        paid = loan_service.record_repayment(
            loan, amount=f"{owed:.2f}", paid_on=on.isoformat(), channel="cash", reference="R-1",
            user=_user("cashier1"), today=on, now=now, expected_version=loan.version, settings=LOAN_SETTINGS)
        assert db.session.get(Loan, loan_id).status == "closed"
        assert "open" not in _statuses(loan_id) and {"revisit", "collection"} <= _statuses(loan_id)["cancelled"]
        loan_service.reverse_repayment(paid, second_cashier(), "录错了", now=now, settings=LOAN_SETTINGS)
        assert db.session.get(Loan, loan_id).status == "active"
        assert {"revisit", "collection"} <= _statuses(loan_id)["open"] and "cancelled" not in _statuses(loan_id)


def test_undoing_a_disbursement_takes_its_open_tasks_with_it(app, demo):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=20), task_settings=SETTINGS)
        assert _statuses(loan_id) == {"open": {"revisit"}}
        loan_service.undo_disbursement(db.session.get(Loan, loan_id), second_cashier(), "金额录错", now=NOW)
        assert db.session.get(Loan, loan_id) is None
        assert db.session.scalar(select(db.func.count()).select_from(FollowUpTask)
                                 .where(FollowUpTask.loan_id == loan_id)) == 0


def test_undoing_a_disbursement_is_refused_once_a_visit_was_reported(app, demo):
    with app.app_context():
        loan_id = _loan().id
        jobs.run_daily(DAY + timedelta(days=20), task_settings=SETTINGS)
        task = _open_task(loan_id)
        _send(app, task.uuid, _report(task, lat=HOME[0], lon=HOME[1]))
        with pytest.raises(loan_service.LoanError) as refused:
            loan_service.undo_disbursement(db.session.get(Loan, loan_id), second_cashier(), "金额录错", now=NOW)
        assert "visit" in refused.value.errors["reason"][0]
        db.session.rollback()
        assert db.session.get(Loan, loan_id) is not None and _statuses(loan_id) == {"done": {"revisit"}}
