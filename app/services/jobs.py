"""The daily job: penalty interest, days past due, classification, reminders — set-based SQL.

``run_daily(day)`` brings every active loan to ``day``: penalty accrued up to (not including)
that day, days past due and the five-category class as of that day, and the day's SMS reminders
queued. It is a handful of UPDATE statements over all loans in one transaction, never a per-loan
loop, so a crash leaves nothing half done and no loan locked. It is idempotent and catch-up safe:
accrual adds overdue principal x the days since each loan's ``accrued_through`` (zero when run
twice for a day; three days at once when three were missed), kept as an exact integer basis from
which the fen figure is derived (see app.domain.repayment).
"""
from __future__ import annotations

import logging

from datetime import date

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app import metrics
from app.clock import business_today as business_today  # re-exported: callers ask jobs for the day
from app.clock import now
from app.domain.repayment import DEFAULT_CLASS_DAYS, PENALTY_DAYS_PER_YEAR, RATE_UNITS
from app.extensions import db
from app.models import JobRun
from app.sms.gateways import ReminderSettings, reminder_settings

DAILY = "daily"


def class_days(config) -> tuple[int, ...]:
    from app.services.loans import LoanSettings

    return LoanSettings.from_config(config).class_days


def sms_settings(config) -> ReminderSettings:
    return reminder_settings(config)


def _sql(dialect: str) -> dict[str, str]:
    """The few expressions SQLite and MySQL/MariaDB spell differently."""
    if dialect == "sqlite":
        return {"days": "CAST(julianday(:day) - julianday({a}) AS INTEGER)", "greatest": "MAX({a}, {b})", "idiv": "/"}
    return {"days": "DATEDIFF(:day, {a})", "greatest": "GREATEST({a}, {b})", "idiv": "DIV"}


@metrics.timed_daily_job
def run_daily(day: date, *, class_days: tuple[int, ...] = DEFAULT_CLASS_DAYS, sms_settings: ReminderSettings | None = None,
              task_settings=None, retention=None) -> dict:
    """Bring every active loan to ``day``; returns counts. Commits once; then, given ``retention``
    (``app.services.retention.Retention``), runs the retention purge in its own commits."""
    from app.services import ledger_loans

    q = _sql(db.engine.dialect.name)
    # The books first take in any loan not in them yet (made before the books, or taken over).
    opened = ledger_loans.open_books()
    penalty_before = ledger_loans.penalty_totals(day)
    since = "(SELECT COALESCE(loans.accrued_through, loans.disbursed_on) FROM loans WHERE loans.id = installments.loan_id)"
    start = q["greatest"].format(a="installments.due_date", b=since)
    accrued = db.session.execute(text(f"""
        UPDATE installments
           SET penalty_basis = penalty_basis + (principal_due - principal_paid) * {q["days"].format(a=start)}
         WHERE paid_off_on IS NULL AND due_date < :day AND principal_paid < principal_due
           AND loan_id IN (SELECT id FROM loans
                            WHERE status = 'active' AND COALESCE(accrued_through, disbursed_on) < :day)
    """), {"day": day}).rowcount
    # Money columns hold fen and rates millionths (app.models.types): half-up in integers.
    den = PENALTY_DAYS_PER_YEAR * RATE_UNITS
    rate = "(SELECT loans.penalty_rate FROM loans WHERE loans.id = installments.loan_id)"
    db.session.execute(text(f"""
        UPDATE installments
           SET penalty_accrued = (2 * penalty_basis * {rate} + {den}) {q["idiv"]} ({2 * den})
         WHERE penalty_basis > 0 AND paid_off_on IS NULL
           AND loan_id IN (SELECT id FROM loans WHERE status = 'active')
    """))
    # The day's penalty and interest recognised in the books: one entry per product for each.
    books = {"opened": opened, "penalty": ledger_loans.post_penalty_accrual(day, penalty_before, ledger_loans.penalty_totals(day))}
    books |= ledger_loans.accrue_interest(day)
    oldest_late = """(SELECT MIN(i.due_date) FROM installments i
                       WHERE i.loan_id = loans.id AND i.paid_off_on IS NULL AND i.due_date < :day
                         AND (i.principal_paid < i.principal_due OR i.interest_paid < i.interest_due))"""
    dpd = f"COALESCE({q['days'].format(a=oldest_late)}, 0)"
    db.session.execute(text(f"""
        UPDATE loans
           SET days_past_due = {dpd},
               accrued_through = CASE WHEN COALESCE(accrued_through, disbursed_on) < :day THEN :day
                                      ELSE accrued_through END,
               version = version + 1
         WHERE status = 'active'
    """), {"day": day})
    # From the column just written: the correlated MIN above is then evaluated once a loan, not
    # once for every branch of the CASE.
    c1, c2, c3, c4 = class_days
    db.session.execute(text(f"""
        UPDATE loans
           SET classification = CASE WHEN days_past_due >= {c4} THEN 'loss' WHEN days_past_due >= {c3} THEN 'doubtful'
                                     WHEN days_past_due >= {c2} THEN 'substandard'
                                     WHEN days_past_due >= {c1} THEN 'special_mention' ELSE 'normal' END
         WHERE status = 'active'
    """))
    # A restructured loan keeps at least its floor class for a while (app.domain.restructure).
    rank = "CASE {c} WHEN 'normal' THEN 0 WHEN 'special_mention' THEN 1 WHEN 'substandard' THEN 2 WHEN 'doubtful' THEN 3 ELSE 4 END"
    db.session.execute(text(f"""
        UPDATE loans SET classification = class_floor
         WHERE status = 'active' AND class_floor IS NOT NULL AND class_floor_until >= :day
           AND {rank.format(c="classification")} < {rank.format(c="class_floor")}
    """), {"day": day})
    from app.services import tasks

    new_tasks = tasks.generate(day, task_settings or tasks.TaskSettings())
    from app.services import groups

    # A joint-liability group member late: the other members' officers get tasks, the members a text.
    group_late = groups.late_step(day, now=now(), sms_sign=sms_settings.sign if sms_settings is not None else None)
    reminders = 0
    if sms_settings is not None:
        from app.services import sms

        reminders = sms.enqueue_reminders(day, days_before=sms_settings.days_before,
                                          overdue_days=sms_settings.overdue_days, sign=sms_settings.sign)
    from app.services import snapshots

    # The opening of the day as the reports as of a past day will read it (same transaction).
    snapshots.write(day)
    detail = {"installments_accrued": accrued, "reminders": reminders, "tasks": new_tasks, "group_late": group_late}
    from app.services import ledger_close

    # The books after the day's work: last month's provisioning on a month's first run, the days
    # before this one closed, the reconciliation (a difference alerts the accountants).
    detail["books"] = books | ledger_close.daily(day)
    run = db.session.scalar(select(JobRun).where(JobRun.job == DAILY, JobRun.for_date == day))
    if run is None:
        db.session.add(JobRun(job=DAILY, for_date=day, finished_at=now(), detail=detail))
    else:
        run.finished_at, run.detail = now(), detail
    try:
        db.session.commit()
    except IntegrityError:
        # Another process ran the same day at the same moment: its run stands, ours is void.
        db.session.rollback()
        return {"skipped": True}
    if retention is not None:
        from app.services import retention as retention_service

        try:
            detail = detail | {"retention": retention_service.purge(
                today=day, now=now(), settings=retention.settings, store=retention.store)}
        except Exception:  # the day's work stands; the purge is tried again tomorrow
            db.session.rollback()
            logging.getLogger(__name__).exception("retention purge failed")
            detail = detail | {"retention": "failed"}
    return detail


def has_run(day: date) -> bool:
    return db.session.scalar(select(JobRun.id).where(JobRun.job == DAILY, JobRun.for_date == day)) is not None
