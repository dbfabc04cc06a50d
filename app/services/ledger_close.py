"""Closing the books: the day-end close (day totals), the month-end close (checks, then the period
closed), and the daily job's part (close the days behind, provision a month just ended, reconcile).

The contract with the reports (app/services/ledger_reports.py): **an AccountDayTotal row exists for
every (account, day <= days_closed_through) that had lines, equal to the sum of the lines posted
that day; a trial balance as of D = the day totals up to min(D, closed through) + the lines posted
after closed through up to D.** ``ledger_reports.totals_through`` is that sum: a trial balance reads
a few thousand day-total rows plus the open days' lines, whatever the journal's length.

``close_days_through(day)`` takes the ledger book's row FOR UPDATE (every posting reads it with a
shared lock, app/services/ledger.py): the postings in flight finish first, then none can land on a
closed day. The day totals of every day not yet closed are written by one INSERT … SELECT grouped
by account and posting date. Today and later days are never closed.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import BigInteger, func, insert, select, type_coerce

from app import clock
from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import from_fen
from app.extensions import db
from app.models import AccountDayTotal, JournalLine, LedgerBook, LedgerPeriod, Notification, User, UserRole
from app.models.types import utcnow
from app.services import audit, ledger, ledger_loans, provisioning
from app.services.errors import ServiceError


class CloseError(ServiceError):
    """A close refused: ``code`` says which check failed; nothing was written."""


def _fen(column):
    return type_coerce(column, BigInteger)


def _book_for_update() -> LedgerBook:
    book = db.session.scalar(select(LedgerBook).where(LedgerBook.id == 1).with_for_update())
    if book is None:
        ledger.ensure_chart()
        book = db.session.scalar(select(LedgerBook).where(LedgerBook.id == 1).with_for_update())
    return book


def closed_through() -> date | None:
    return db.session.scalar(select(LedgerBook.days_closed_through).where(LedgerBook.id == 1))


# --- day-end close ----------------------------------------------------------------------------------


def close_days_through(day: date, user_id: int | None = None) -> dict:
    """Close every day up to ``day`` not closed yet (joins the caller's transaction, no commit).

    Refuses today and later days (CloseError not_ended) and a day with an unbalanced entry
    (unbalanced; nothing written). Returns the checks: days, entries, lines and totals."""
    today = clock.business_today()
    if day >= today:
        raise CloseError("day_not_ended", N_("A day is closed once it is over; %(day)s is not over yet."),
                         day=day.isoformat())
    book = _book_for_update()
    start = book.days_closed_through
    if start is not None and day <= start:
        return {"closed_through": start.isoformat(), "days": 0, "entries": 0, "debit": 0, "credit": 0}
    where = [JournalLine.posting_date <= day]
    if start is not None:
        where.append(JournalLine.posting_date > start)
    # Check 1: every entry of those days balances (grouped by entry; only the unbalanced come back).
    unbalanced = db.session.scalars(
        select(JournalLine.entry_id).where(*where).group_by(JournalLine.entry_id)
        .having(func.sum(_fen(JournalLine.debit)) != func.sum(_fen(JournalLine.credit))).limit(10)).all()
    if unbalanced:
        raise CloseError("unbalanced_entry", N_("Entries %(entries)s do not balance; the day cannot be closed."),
                         entries=", ".join(str(i) for i in unbalanced))
    entries = db.session.scalar(select(func.count(func.distinct(JournalLine.entry_id))).where(*where)) or 0
    # Check 2: the days' totals balance (read before anything is written).
    debit, credit = db.session.execute(
        select(func.coalesce(func.sum(_fen(JournalLine.debit)), 0), func.coalesce(func.sum(_fen(JournalLine.credit)), 0))
        .where(*where)).one()
    debit, credit = int(debit), int(credit)
    if debit != credit:
        raise CloseError("unbalanced_day", N_("The debits (%(debit)s) and credits (%(credit)s) of the days up to %(day)s differ."),
                         debit=debit, credit=credit, day=day.isoformat())
    # The day totals: one grouped INSERT … SELECT of every (account, posting day) of the range.
    source = (select(JournalLine.account_id, JournalLine.posting_date,
                     func.sum(_fen(JournalLine.debit)), func.sum(_fen(JournalLine.credit)))
              .where(*where).group_by(JournalLine.account_id, JournalLine.posting_date))
    db.session.execute(insert(AccountDayTotal).from_select(["account_id", "day", "debit", "credit"], source))
    first = (start + timedelta(days=1)) if start is not None else None
    book.days_closed_through = day
    book.version += 1
    checks = {"from": first.isoformat() if first else None, "through": day.isoformat(),
              "days": (day - start).days if start is not None else None, "entries": entries,
              "debit": debit, "credit": credit, "balanced": True}
    # Kept with the period of the last day closed: the month-end close shows them.
    row = provisioning.period_row(books.period_of(day))
    kept = dict(row.checks or {})
    kept["days"] = {**kept.get("days", {}), day.isoformat(): checks}
    row.checks = kept
    audit.record("ledger.close_day", actor_id=user_id, object_type="ledger_book", object_id=1, **checks)
    db.session.flush()
    return {"closed_through": day.isoformat(), **checks}


def close_day(day: date, user_id: int | None = None) -> dict:
    """The day-end close of ``day`` (and of any earlier day not closed yet); commits."""
    done = close_days_through(day, user_id)
    db.session.commit()
    return done


# --- month-end close ---------------------------------------------------------------------------------


def _differences(result: ledger_loans.Reconciliation) -> list[str]:
    """What a reconciliation found wrong, in words: each account that differs, and the loans not
    in the books yet (their opening balances not posted)."""
    found = [f"{row.code} {row.name} {from_fen(row.ledger_fen)} ≠ {from_fen(row.loans_fen)}" for row in result.differences]
    if result.not_in_books:
        found.append(f"{result.not_in_books} 笔贷款未入账")
    return found


def reconcile(as_of: date | None = None) -> ledger_loans.Reconciliation:
    """The reconciliation of the ledger with the loans (app.services.ledger_loans.reconcile)."""
    return ledger_loans.reconcile(as_of)


def close_month(period: str, user) -> dict:
    """Close ``period`` ("YYYY-MM") after its checks; commits and audits. Refuses (CloseError or
    PeriodError, nothing written) a period not ended, already closed, with days not closed, without
    its provisioning, with a trial balance that does not balance, or with a reconciliation
    difference."""
    _first, last = provisioning.parse_period(period)
    user_id = getattr(user, "id", user)
    if last >= clock.business_today():
        raise CloseError("period_not_ended", N_("The period %(period)s has not ended; a month is closed after its last day."),
                         period=period)
    row = db.session.get(LedgerPeriod, period)
    if row is not None and row.status == "closed":
        raise CloseError("period_closed", N_("The period %(period)s is already closed."), period=period)
    through = closed_through()
    if through is None or through < last:
        raise CloseError("days_open", N_("The days of %(period)s are not all closed (closed through %(through)s); close them first."),
                         period=period, through=through.isoformat() if through else "—")
    if not provisioning.is_provisioned(period):
        raise CloseError("not_provisioned", N_("The loan loss provision of %(period)s is not posted; post it first."),
                         period=period)
    from app.services.ledger_reports import trial_balance

    tb = trial_balance(last)
    if not tb.balanced:
        raise CloseError("trial_balance", N_("The trial balance as of %(day)s does not balance (debits %(debit)s, credits %(credit)s)."),
                         day=last.isoformat(), debit=str(from_fen(tb.debit)), credit=str(from_fen(tb.credit)))
    differences = _differences(reconcile(last))
    if differences:
        raise CloseError("reconciliation", N_("The ledger and the loans differ as of %(day)s: %(differences)s"),
                         day=last.isoformat(), differences="; ".join(str(d) for d in differences[:5]))
    row = provisioning.period_row(period)
    checks = dict(row.checks or {})
    checks["close"] = {"trial_balance": {"debit": tb.debit, "credit": tb.credit}, "reconciled": True, "closed_through": through.isoformat(),
                       "at": utcnow().isoformat()}
    row.checks = checks
    row.status = "closed"
    row.closed_at = utcnow()
    row.closed_by_id = user_id
    audit.record("ledger.close_month", actor_id=user_id, object_type="ledger_period", period=period,
                 debit=tb.debit, credit=tb.credit)
    db.session.commit()
    return {"period": period, "status": "closed", "checks": checks}


# --- the daily job's part ---------------------------------------------------------------------------


ALERT_KIND = "ledger_difference"


def _alert(differences: list, day: date) -> int:
    text = f"{day.isoformat()} 账务核对不符：" + "；".join(str(d) for d in differences[:3])
    users = db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "accountant", User.is_enabled.is_(True))).all()
    for user_id in sorted(set(users)):
        db.session.add(Notification(user_id=user_id, kind=ALERT_KIND, message=text[:300], link="",
                                    created_at=utcnow()))
    return len(set(users))


def daily(day: date) -> dict:
    """What the daily job's run for ``day`` does to the books (its transaction, no commit): on the
    first run of a month, the provisioning of the month before (before its last day is closed, so
    it posts on that day); the days before ``day`` closed (never today: with a run for a future
    day, only up to yesterday); then the reconciliation, each difference an alert to the
    accountants. Catch-up safe: missed days are closed at once; a month whose first runs were
    missed is provisioned by the next run."""
    detail: dict = {}
    try:
        _daily(day, detail)
    except ServiceError as refused:  # refused before writing anything: the day's other work stands
        detail["refused"] = str(refused)
        detail["alerted"] = _alert([str(refused)], day)
    return detail


def _daily(day: date, detail: dict) -> None:
    today = clock.business_today()
    ledger.ensure_chart()
    previous = books.period_of(day.replace(day=1) - timedelta(days=1))
    prev_row = db.session.get(LedgerPeriod, previous)
    if not provisioning.is_provisioned(previous) and (prev_row is None or prev_row.status == "open"):
        done = provisioning.provision(previous, commit=False)
        detail["provision"] = {"period": previous, "target": done["target"], "posted": done["posted"]}
    upto = min(day, today) - timedelta(days=1)
    through = closed_through()
    if through is None or upto > through:
        done = close_days_through(upto)
        detail["closed_through"] = done["closed_through"]
    else:
        detail["closed_through"] = through.isoformat()
    differences = _differences(reconcile(None))
    if differences:
        detail["differences"] = [str(d) for d in differences[:20]]
        detail["alerted"] = _alert(differences, day)
