"""The daily job: penalty interest, days past due, classification, reminders — set-based SQL.

``run_daily(day)`` brings every active loan to ``day``: penalty accrued up to (not including)
that day, days past due and the five-category class as of that day, and the day's SMS reminders
queued. It is a handful of set-based statements over all loans in one transaction, never a per-loan
loop, so a crash leaves nothing half done and no loan locked. Where a pass over the installments
would otherwise be made twice (to change rows, then to total the change for the books), its rows go
into a temporary table of this connection (app.services.scratch_tables) that both read.

It is idempotent and catch-up safe: accrual adds overdue principal x the days since each loan's
``accrued_through`` (zero when run twice for a day; three days at once when three were missed),
kept as an exact integer basis from which the fen figure is derived (see app.domain.repayment).
"""
from __future__ import annotations

import logging

from datetime import date

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, select, text
from sqlalchemy.exc import IntegrityError

from app import metrics
from app.clock import business_today as business_today  # re-exported: callers ask jobs for the day
from app.clock import now
from app.domain.repayment import DEFAULT_CLASS_DAYS, PENALTY_DAYS_PER_YEAR, RATE_UNITS
from app.extensions import db
from app.models import JobRun
from app.services import scratch_tables
from app.sms.gateways import ReminderSettings, reminder_settings

DAILY = "daily"

# The loans with an installment late on the job's day and their days past due (a scratch table).
_LATE_LOANS = Table("late_loans", MetaData(), Column("loan_id", BigInteger, primary_key=True, autoincrement=False),
                    Column("days_past_due", Integer), prefixes=["TEMPORARY"])


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


# Each late installment whose penalty moves this run: its new basis and accrued penalty, and what the
# books take of the change (``counted``: an active accrual-basis loan's). A scratch table, so the one
# pass over the late installments serves the UPDATE and the entries.
_PENALTY_MOVES = Table(
    "penalty_moves", MetaData(),
    Column("installment_id", BigInteger, primary_key=True, autoincrement=False), Column("product_id", BigInteger),
    Column("counted", Integer), Column("added", BigInteger), Column("basis", BigInteger), Column("accrued", BigInteger),
    Column("delta", BigInteger), prefixes=["TEMPORARY"])


def _accrue_penalty(day: date, q: dict[str, str]) -> tuple[int, dict[int, int]]:
    """Penalty up to (not including) ``day`` on every late installment of an active loan: the basis
    grows by the principal overdue x the days since the loan's ``accrued_through`` (nothing on a
    second run of the day), the fen figure follows from it (half-up, in integers: money columns
    hold fen and rates millionths, app.models.types). Returns how many installments accrued and
    the change of accrued penalty per product for the books. An installment not yet due has no
    basis (it only grows once due), so only the late ones are read."""
    since = "COALESCE(l.accrued_through, l.disbursed_on)"
    grows = f"(i.principal_paid < i.principal_due AND {since} < :day)"
    days = q["days"].format(a=q["greatest"].format(a="i.due_date", b=since))
    added = f"CASE WHEN {grows} THEN (i.principal_due - i.principal_paid) * {days} ELSE 0 END"
    den = PENALTY_DAYS_PER_YEAR * RATE_UNITS
    accrued = f"(2 * (i.penalty_basis + {added}) * l.penalty_rate + {den}) {q['idiv']} ({2 * den})"
    scratch_tables.create(_PENALTY_MOVES)
    db.session.execute(text(f"""
        INSERT INTO penalty_moves (installment_id, product_id, counted, added, basis, accrued, delta)
        SELECT id, product_id, counted, added, old_basis + added, accrued, accrued - old FROM (
            SELECT i.id, l.product_id, CASE WHEN l.accounting_basis = 'accrual' THEN 1 ELSE 0 END AS counted,
                   {added} AS added, i.penalty_basis AS old_basis, {accrued} AS accrued, i.penalty_accrued AS old
              FROM installments i JOIN loans l ON l.id = i.loan_id
             WHERE i.paid_off_on IS NULL AND i.due_date < :day AND l.status = 'active'
               AND (i.penalty_basis > 0 OR {grows})
        ) m WHERE added > 0 OR accrued <> old
    """), {"day": day})
    if db.engine.dialect.name == "sqlite":
        update = """UPDATE installments SET penalty_basis = m.basis, penalty_accrued = m.accrued
                      FROM penalty_moves m WHERE m.installment_id = installments.id"""
    else:
        update = """UPDATE installments JOIN penalty_moves m ON m.installment_id = installments.id
                       SET installments.penalty_basis = m.basis, installments.penalty_accrued = m.accrued"""
    db.session.execute(text(update))
    grew = db.session.scalar(text("SELECT COUNT(*) FROM penalty_moves WHERE added > 0"))
    by_product = {int(product_id): int(fen) for product_id, fen in db.session.execute(text(
        "SELECT product_id, SUM(delta) FROM penalty_moves WHERE counted = 1 GROUP BY product_id"))}
    scratch_tables.drop(_PENALTY_MOVES)
    return int(grew), by_product


@metrics.timed_daily_job
def run_daily(day: date, *, class_days: tuple[int, ...] = DEFAULT_CLASS_DAYS, sms_settings: ReminderSettings | None = None,
              task_settings=None, retention=None) -> dict:
    """Bring every active loan to ``day``; returns counts. Commits once; then, given ``retention``
    (``app.services.retention.Retention``), runs the retention purge in its own commits."""
    from app.services import ledger_loans

    q = _sql(db.engine.dialect.name)
    # The books first take in any loan not in them yet (made before the books, or taken over).
    opened = ledger_loans.open_books()
    accrued, penalty = _accrue_penalty(day, q)
    # The day's penalty and interest recognised in the books: one entry per product for each.
    books = {"opened": opened, "penalty": ledger_loans.post_penalty_accrual(day, penalty)}
    books |= ledger_loans.accrue_interest(day)
    # Days past due from one pass over the late installments into a scratch table (a loan not in it
    # is 0 days late): a correlated MIN per loan probed every loan's installments.
    scratch_tables.create(_LATE_LOANS)
    db.session.execute(text(f"""
        INSERT INTO late_loans (loan_id, days_past_due)
        SELECT loan_id, {q["days"].format(a="MIN(due_date)")} FROM installments
         WHERE paid_off_on IS NULL AND due_date < :day AND (principal_paid < principal_due OR interest_paid < interest_due)
         GROUP BY loan_id
    """), {"day": day})
    # One reference to the scratch table per statement: MySQL cannot open a temporary table twice in one.
    db.session.execute(text("""
        UPDATE loans
           SET days_past_due = COALESCE((SELECT late_loans.days_past_due FROM late_loans WHERE late_loans.loan_id = loans.id), 0),
               accrued_through = CASE WHEN COALESCE(accrued_through, disbursed_on) < :day THEN :day
                                      ELSE accrued_through END,
               version = version + 1
         WHERE status = 'active'
    """), {"day": day})
    scratch_tables.drop(_LATE_LOANS)
    # From the column just written, not from the scratch table a second time.
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
