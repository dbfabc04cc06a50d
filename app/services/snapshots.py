"""The portfolio as it stood on a day, kept so that a report "as of" a past day reads that day's
figures instead of replaying history (app/models/reports.py says what a snapshot holds).

``write(day)`` is called by the daily job's run for ``day`` (app/services/jobs.py), after it has
brought every loan to ``day`` and before its commit: one grouped INSERT … SELECT of the active
loans into ``portfolio_snapshots`` and, on the first day of a month, one INSERT … SELECT of a row
per active loan into ``loan_snapshots`` (that day the per-loan figures go through a temporary table
first, so both read the installments once). Each first deletes what that day already holds, so a
second run of the same day replaces the first.

``rebuild(day)`` reconstructs the same rows from the ledger for a day the daily job did not see
(a book imported with its history, the demo): each loan's schedule and its standing repayments
paid before ``day`` replayed by ``app.domain.repayment`` — the opening of ``day``, exactly what
the job would have seen had it run that morning.

``positions(day)`` is the one definition of a loan's figures both the job's INSERT and the
reports' live "as of today" read: outstanding principal, overdue principal and interest (due
before ``day``), penalty outstanding, per active loan, with its days-past-due bucket.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from sqlalchemy import (BigInteger, Column, Integer, MetaData, String, Table, case, delete, func, insert, literal, or_, select,
                        type_coerce)
from sqlalchemy.sql import Select

from app import clock
from app.domain import portfolio as dpd_rules
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.money import to_fen
from app.extensions import db
from app.models import Installment, JobRun, Loan, Repayment
from app.models.reports import LoanSnapshot, MonthlyFigures, PortfolioSnapshot
from app.services import audit, flows, scratch_tables
from app.services.errors import ServiceError

DAILY = "daily"  # JobRun.job of the daily job (app.services.jobs.DAILY; not imported: jobs imports this module)

CHUNK = 2000  # loans replayed per batch by rebuild(): bounded memory, few queries


def _fen(column):
    # Raw fen: the Money type would turn each operand into yuan first.
    return type_coerce(column, BigInteger)


def bucket_expr(days_column):
    """The ``DPD_BUCKETS`` index of a days-past-due column, in SQL."""
    whens = [(days_column <= last, index) for index, (_first, last) in enumerate(dpd_rules.DPD_BUCKETS)
             if last is not None]
    return case(*whens, else_=len(dpd_rules.DPD_BUCKETS) - 1)


def loan_figures(day: date, *where) -> Select:
    """Per active loan (filtered by ``where`` on Loan): its keys and its amounts in fen as of ``day``.

    Columns: loan_id, office_id, officer_id, product_id, classification, days_past_due,
    dpd_bucket, principal, overdue_principal, overdue_interest, penalty.
    """
    principal = _fen(Installment.principal_due) - _fen(Installment.principal_paid)
    interest = _fen(Installment.interest_due) - _fen(Installment.interest_paid)
    penalty = _fen(Installment.penalty_accrued) - _fen(Installment.penalty_paid)
    overdue = Installment.due_date < day
    # One row per loan. MariaDB groups by the loan's key alone, its own columns taken as MIN (one
    # value per loan): grouped by all six it sorts every installment through a temporary table
    # instead of walking the loans in key order, twice the server CPU at 100,000 loans
    # (bench/daily_job.py). SQLite walks them in key order either way, and there the MINs cost a
    # sixth more: it groups by the six.
    own = (Loan.office_id, Loan.officer_id, Loan.product_id, Loan.classification, Loan.days_past_due)
    by_key = db.session.get_bind().dialect.name != "sqlite"
    office_id, officer_id, product_id, classification, days_past_due = (
        [func.min(column) for column in own] if by_key else own)
    return (
        select(Loan.id.label("loan_id"), office_id.label("office_id"), officer_id.label("officer_id"),
               product_id.label("product_id"), classification.label("classification"),
               days_past_due.label("days_past_due"), bucket_expr(days_past_due).label("dpd_bucket"),
               func.sum(principal).label("principal"),
               func.sum(case((overdue, principal), else_=0)).label("overdue_principal"),
               func.sum(case((overdue, interest), else_=0)).label("overdue_interest"),
               func.sum(penalty).label("penalty"))
        .join(Installment, Installment.loan_id == Loan.id)
        .where(Loan.status == "active", *where)
        .group_by(Loan.id, *([] if by_key else own))
    )


def positions(day: date, *where) -> Select:
    """The active loans grouped as a snapshot groups them: office × officer × product × class ×
    bucket, with loans and the four amounts in fen (column names as in PortfolioSnapshot)."""
    return _grouped(loan_figures(day, *where).subquery("per_loan"))


def _grouped(per_loan) -> Select:
    """``positions`` over per-loan rows (``loan_figures``' columns): a subquery, or the month's
    temporary table of them."""
    c = per_loan.c
    return (
        select(c.office_id, c.officer_id, c.product_id, c.classification, c.dpd_bucket,
               func.count().label("loans"),
               func.sum(c.principal).label("outstanding_principal_fen"),
               func.sum(c.overdue_principal).label("overdue_principal_fen"),
               func.sum(c.overdue_interest).label("overdue_interest_fen"),
               func.sum(c.penalty).label("penalty_outstanding_fen"))
        .group_by(c.office_id, c.officer_id, c.product_id, c.classification, c.dpd_bucket)
    )


_SNAPSHOT_COLUMNS = ("office_id", "officer_id", "product_id", "classification", "dpd_bucket", "loans",
                     "outstanding_principal_fen", "overdue_principal_fen", "overdue_interest_fen",
                     "penalty_outstanding_fen")


def _clear(day: date, *, loans_too: bool) -> None:
    db.session.execute(delete(PortfolioSnapshot).where(PortfolioSnapshot.day == day))
    if loans_too:
        db.session.execute(delete(LoanSnapshot).where(LoanSnapshot.day == day))


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def write_month(month: date) -> int:
    """Keep the figures of the closed ``month`` (its first day): replace its ``MonthlyFigures``
    rows by the collection report's and the disbursements' figures of that month as the ledger
    stands (``flows.month_figures``). The caller commits. Returns the rows written."""

    month = month.replace(day=1)
    db.session.execute(delete(MonthlyFigures).where(MonthlyFigures.month == month))
    rows = flows.month_figures(month)
    if rows:
        db.session.execute(insert(MonthlyFigures), rows)
    return len(rows)


# The per-loan figures of a month's first day, computed once for both its INSERTs (the loan rows and
# the grouped rows): a temporary table of this connection, gone by the end of ``write``.
_PER_LOAN = Table(
    "snapshot_per_loan", MetaData(),
    Column("loan_id", BigInteger, primary_key=True, autoincrement=False), Column("office_id", BigInteger),
    Column("officer_id", BigInteger), Column("product_id", BigInteger), Column("classification", String(20)),
    Column("days_past_due", Integer), Column("dpd_bucket", Integer), Column("principal", BigInteger),
    Column("overdue_principal", BigInteger), Column("overdue_interest", BigInteger), Column("penalty", BigInteger),
    prefixes=["TEMPORARY"])


def write(day: date) -> dict:
    """The day's snapshot rows from the live tables (the caller commits). Returns counts. On a
    month's first day also the loan rows and the kept figures of the month just closed."""
    month_opening = day.day == 1
    _clear(day, loans_too=month_opening)
    per_loan = loan_figures(day).subquery("per_loan")
    if month_opening:  # one pass over the installments for both INSERTs, not one each
        scratch_tables.create(_PER_LOAN)
        db.session.execute(insert(_PER_LOAN).from_select([c.name for c in _PER_LOAN.c], select(per_loan)))
        per_loan = _PER_LOAN
    grouped = _grouped(per_loan).subquery("grouped")
    source = select(literal(day, type_=PortfolioSnapshot.day.type).label("day"),
                    *[grouped.c[name] for name in _SNAPSHOT_COLUMNS])
    written = db.session.execute(
        insert(PortfolioSnapshot).from_select(["day", *_SNAPSHOT_COLUMNS], source)).rowcount
    loan_rows = 0
    if month_opening:
        c = per_loan.c
        loan_rows = db.session.execute(insert(LoanSnapshot).from_select(
            ["day", "loan_id", "office_id", "officer_id", "product_id", "classification", "days_past_due",
             "outstanding_principal_fen"],
            select(literal(day, type_=LoanSnapshot.day.type), c.loan_id, c.office_id, c.officer_id, c.product_id,
                   c.classification, c.days_past_due, c.principal))).rowcount
        scratch_tables.drop(_PER_LOAN)
    month_rows = write_month(previous_month(day)) if month_opening else 0
    return {"portfolio_rows": written, "loan_rows": loan_rows, "month_rows": month_rows}


def has_snapshot(day: date) -> bool:
    """Whether the figures of ``day`` are kept: it has snapshot rows, or the daily job ran that day
    (a day with no active loan keeps no row; the job's run says the day was seen all the same)."""
    if db.session.scalar(select(PortfolioSnapshot.id).where(PortfolioSnapshot.day == day).limit(1)) is not None:
        return True
    return db.session.scalar(select(JobRun.id).where(JobRun.job == DAILY, JobRun.for_date == day)) is not None


def opening_kept(today: date) -> bool:
    """Whether the daily job has run for ``today``: its run wrote today's opening (in the same
    commit), so the "as of today" aggregate figures read that snapshot instead of every
    installment; until it has run they are computed live with the same definition (``positions``)."""
    return db.session.scalar(select(JobRun.id).where(JobRun.job == DAILY, JobRun.for_date == today)) is not None


def reads_live(day: date, today: date) -> bool:
    """Whether the aggregate figures of ``day`` are computed from the live tables: only today, and
    only until the daily job has run for today (then they read its opening snapshot)."""
    return day == today and not opening_kept(today)


OPENING_NOTE = N_("Figures at the opening of today: repayments taken today count from tomorrow's figures.")
LIVE_NOTE = N_("The daily run has not yet run today: figures computed from the live loans, "
               "repayments taken today included.")


def today_notes(day: date, today: date | None = None) -> list[str]:
    """The note saying where today's figures come from (none for a past day)."""
    today = today or clock.business_today()
    if day != today:
        return []
    return [LIVE_NOTE if reads_live(day, today) else OPENING_NOTE]


def nearest_day(day: date) -> date | None:
    """The day with snapshot rows nearest to ``day`` (the earlier one on a tie), or None."""
    before = db.session.scalar(select(func.max(PortfolioSnapshot.day)).where(PortfolioSnapshot.day <= day))
    after = db.session.scalar(select(func.min(PortfolioSnapshot.day)).where(PortfolioSnapshot.day >= day))
    if before is None or after is None:
        return before or after
    return before if (day - before) <= (after - day) else after


# --- rebuilding a past day from the ledger ---------------------------------------------------


def _chunks(ids: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _segment_on(loan_id: int, day: date, paid: list[tuple[int, date, int]]):
    """A restructured loan's schedule in force at the opening of ``day`` (loans.schedule_segments),
    as fen lines, the repayments that schedule took, and its start."""
    from app.services import loans as loan_service

    loan = db.session.get(Loan, loan_id)
    segment = next(s for s in loan_service.schedule_segments(loan) if s.end is None or day <= s.end)
    takes = {r.id for r in loan.repayments if segment.takes(r)}
    lines = [(seq, due, to_fen(p), to_fen(i)) for seq, due, p, i in segment.lines]
    return lines, [p for p in paid if p[0] in takes], segment.start


def replayed(day: date, loan_ids: Sequence[int] | None = None,
             class_days: Sequence[int] = rp.DEFAULT_CLASS_DAYS) -> Iterable[dict]:
    """Each loan that stood on the books at the opening of ``day``, replayed from its schedule and
    its standing repayments paid before ``day``: a dict of the same keys as ``loan_figures``."""
    # A loan written off later stood on the books that day (a write-off leaves its installments as they were).
    keys = select(Loan.id).where(Loan.disbursed_on < day, Loan.status.in_(("active", "closed", "written_off")),
                                 or_(Loan.closed_on.is_(None), Loan.closed_on >= day),
                                 or_(Loan.written_off_on.is_(None), Loan.written_off_on >= day)).order_by(Loan.id)
    if loan_ids is not None:
        keys = keys.where(Loan.id.in_(list(loan_ids)))
    ids = list(db.session.scalars(keys))
    conn = db.session.connection()  # plain rows: no ORM row processing over a whole book
    for chunk in _chunks(ids, CHUNK):
        loans = conn.execute(
            select(Loan.id, Loan.office_id, Loan.officer_id, Loan.product_id, Loan.disbursed_on, Loan.penalty_rate,
                   Loan.allocation_order, Loan.restructure_count).where(Loan.id.in_(chunk))).all()
        schedules: dict[int, list[tuple[int, date, int, int]]] = defaultdict(list)
        for loan_id, seq, due, principal, interest in conn.execute(
                select(Installment.loan_id, Installment.seq, Installment.due_date,
                       _fen(Installment.principal_due), _fen(Installment.interest_due))
                .where(Installment.loan_id.in_(chunk)).order_by(Installment.loan_id, Installment.seq)):
            schedules[loan_id].append((seq, due, int(principal), int(interest)))
        payments: dict[int, list[tuple[int, date, int]]] = defaultdict(list)
        for key, loan_id, paid_on, amount in conn.execute(
                select(Repayment.id, Repayment.loan_id, Repayment.paid_on, _fen(Repayment.amount))
                .where(Repayment.loan_id.in_(chunk), Repayment.reversed_at.is_(None), Repayment.paid_on < day)):
            payments[loan_id].append((key, paid_on, int(amount)))
        for loan_id, office_id, officer_id, product_id, disbursed_on, penalty_rate, order, restructured in loans:
            schedule, paid, start = schedules[loan_id], payments[loan_id], disbursed_on
            if restructured:  # the schedule in force that day, with the repayments it took
                schedule, paid, start = _segment_on(loan_id, day, paid)
            pos = rp.replay_fen(schedule, paid, penalty_rate=penalty_rate, as_of=day,
                                start=start, order=rp.validate_order(order or ()))
            if pos.closed_on is not None:
                continue  # repaid in full before the day opened
            millionths = rp.rate_millionths(penalty_rate)
            dpd = pos.days_past_due()
            items = pos.installments
            yield {
                "loan_id": loan_id, "office_id": office_id, "officer_id": officer_id, "product_id": product_id,
                "classification": rp.classify(dpd, class_days), "days_past_due": dpd,
                "dpd_bucket": dpd_rules.bucket_of(dpd),
                "principal": sum(i.principal_due - i.principal_paid for i in items),
                "overdue_principal": sum(i.principal_due - i.principal_paid for i in items if i.due_date < day),
                "overdue_interest": sum(i.interest_due - i.interest_paid for i in items if i.due_date < day),
                "penalty": sum(rp.penalty_fen(i.penalty_basis, millionths) - i.penalty_paid for i in items),
            }


def rebuild(day: date, class_days: Sequence[int] = rp.DEFAULT_CLASS_DAYS) -> dict:
    """Replace ``day``'s snapshot rows by the ones replayed from the ledger (the caller commits).

    Loan rows and the closed month's kept figures are written only for the first day of a
    month, as the daily job writes them.
    """
    month_opening = day.day == 1
    _clear(day, loans_too=month_opening)
    groups: dict[tuple, list[int]] = {}
    loan_rows: list[dict] = []
    for row in replayed(day, class_days=class_days):
        key = (row["office_id"], row["officer_id"], row["product_id"], row["classification"], row["dpd_bucket"])
        sums = groups.setdefault(key, [0, 0, 0, 0, 0])
        for index, name in enumerate(("principal", "overdue_principal", "overdue_interest", "penalty")):
            sums[index + 1] += row[name]
        sums[0] += 1
        if month_opening:
            loan_rows.append({"day": day, "loan_id": row["loan_id"], "office_id": row["office_id"],
                              "officer_id": row["officer_id"], "product_id": row["product_id"],
                              "classification": row["classification"], "days_past_due": row["days_past_due"],
                              "outstanding_principal_fen": row["principal"]})
            if len(loan_rows) >= CHUNK:
                db.session.execute(insert(LoanSnapshot), loan_rows)
                loan_rows = []
    if loan_rows:
        db.session.execute(insert(LoanSnapshot), loan_rows)
    rows = [dict(zip(("office_id", "officer_id", "product_id", "classification", "dpd_bucket"), key),
                 day=day, loans=sums[0], outstanding_principal_fen=sums[1], overdue_principal_fen=sums[2],
                 overdue_interest_fen=sums[3], penalty_outstanding_fen=sums[4])
            for key, sums in groups.items()]
    if rows:
        db.session.execute(insert(PortfolioSnapshot), rows)
    month_rows = write_month(previous_month(day)) if month_opening else 0
    return {"portfolio_rows": len(rows), "loans": sum(s[0] for s in groups.values()), "month_rows": month_rows}


def month_openings(today: date, count: int = 12) -> list[date]:
    """The first days of the last ``count`` months up to ``today``, oldest first."""
    first = today.replace(day=1)
    days = []
    for back in range(count):
        month = first.month - back
        year = first.year + (month - 1) // 12
        days.append(date(year, (month - 1) % 12 + 1, 1))
    return sorted(days)


MAX_REBUILD_DAYS = 3 * 366


def rebuild_range(date_from: date, date_to: date, *, today: date, actor_id: int | None = None,
                  class_days: Sequence[int] = rp.DEFAULT_CLASS_DAYS) -> dict:
    """Rebuild every day of [date_from, date_to] (each day in its own commit, so an interrupted run
    keeps the days done), then audit ``snapshots.rebuilt``. Refused (SnapshotRangeError, nothing
    written): the days in the wrong order, a day after today, more than three years."""
    if date_to < date_from:
        raise SnapshotRangeError("dates_reversed", N_("The period ends before it starts: check From and To."))
    if date_to > today:
        raise SnapshotRangeError("future_date", N_("The period cannot end after today."))
    if (date_to - date_from).days + 1 > MAX_REBUILD_DAYS:
        raise SnapshotRangeError("period_too_long", N_("A report covers at most three years: choose a shorter period."))
    days = written = 0
    day = date_from
    while day <= date_to:
        written += rebuild(day, class_days)["portfolio_rows"]
        db.session.commit()
        days += 1
        day += timedelta(days=1)
    audit.record("snapshots.rebuilt", actor_id=actor_id, object_type="snapshots",
                 date_from=date_from.isoformat(), date_to=date_to.isoformat(), days=days, rows=written)
    db.session.commit()
    return {"days": days, "portfolio_rows": written}


def seed_month_openings(today: date, count: int = 12, class_days: Sequence[int] = rp.DEFAULT_CLASS_DAYS) -> int:
    """Rebuild the last ``count`` month openings (for the demo: the dashboard's trends have
    history from the first day). Returns the days written; the caller commits."""
    for day in month_openings(today, count):
        rebuild(day, class_days)
    return count


class SnapshotRangeError(ServiceError):
    """Days to rebuild that cannot be: said in words, nothing written."""


__all__ = ["bucket_expr", "has_snapshot", "loan_figures", "month_openings", "nearest_day", "opening_kept", "positions",
           "previous_month", "rebuild", "rebuild_range", "replayed", "seed_month_openings", "write",
           "write_month"]
