"""The flow reports: what went out (``disbursements``), what came back against what was due
(``collection``), who is late and who is going after them (``arrears``), and how each officer is
doing (``officers``); and the monthly series the dashboard draws (``disbursed_monthly``,
``collection_monthly``).

Every figure is summed in SQL (GROUP BY, integer fen), never by walking the loans in Python; the
arrears list is streamed row by row from the database. Reach is ``reporting.reach`` on the loan
(or the application) and the request's office, officer and product filters, always.

Collection (demand vs collection) is defined from the ledger, exactly:

* **due**: the principal and interest scheduled on the installments whose due date falls in the
  period (``Installment.principal_due + interest_due``; penalty interest is not demand);
* **collected on time**: the part of that due which standing repayments (not reversed) put on
  those installments (``Repayment.allocation``: overdue/current principal and interest, and
  prepaid principal) on or before each installment's due date;
* **collected late**: the part those repayments put on them after the due date and on or before
  the period's last day;
* **still unpaid**: due − on time − late, as at the period's last day;
* **collection rate**: (on time + late) / due.

A repayment recorded later with an earlier date, or a reversal, changes the figures of the period
it touches: the report reads the ledger as it stands.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, extract, false, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from app import clock
from app.domain import dates
from app.domain.i18n import N_
from app.domain.portfolio import par_buckets, par_threshold
from app.extensions import db
from app.models import Application, Borrower, Installment, Loan, Office, Repayment, User
from app.models.reports import MonthlyFigures, PortfolioSnapshot
from app.models.tasks import FollowUpTask
from app.services import flows, reporting, scope, snapshots
from app.services.reporting import Column, Report, ReportRequest, ReportRequestError, ReportSpec

# --- breakdowns -------------------------------------------------------------------------------


def _group_column(by: str | None, model=Loan):
    """The SQL column a breakdown groups on (a branch groups by office, folded afterwards)."""
    if by in ("office", "branch"):
        return model.office_id
    if by == "officer":
        return model.officer_id
    if by == "product":
        return model.product_id
    return None


def _keyed(stmt, key):
    """``stmt`` grouped by ``key``, or one total row when there is no breakdown (a constant in GROUP
    BY would read as a column position on MariaDB)."""
    return stmt if key is None else stmt.group_by(key)


def _key_or_zero(key):
    return literal(0) if key is None else key


def _fold(by: str | None, grouped: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
    """Sum per-office figures into their branches when the breakdown is by branch."""
    if by != "branch":
        return grouped
    branch = reporting.branch_of()
    folded: dict[int, dict[str, int]] = {}
    for office_id, figures in grouped.items():
        into = folded.setdefault(branch.get(office_id, office_id), {})
        for key, value in figures.items():
            into[key] = into.get(key, 0) + value
    return folded


def _office_ids_filter(office_ids, column):
    return true() if office_ids is None else column.in_(sorted(office_ids))


def _month_key(column):
    return extract("year", column) * 12 + extract("month", column) - 1


def _month_of(key: int) -> date:
    return date(int(key) // 12, int(key) % 12 + 1, 1)


# --- disbursements ----------------------------------------------------------------------------


def _earlier_loan():
    """True when the loan's borrower had a loan before this one (a repeat loan)."""
    earlier = aliased(Loan)
    return exists().where(earlier.borrower_id == Loan.borrower_id,
                          or_(earlier.disbursed_on < Loan.disbursed_on,
                              and_(earlier.disbursed_on == Loan.disbursed_on, earlier.id < Loan.id)))


def _disbursed(viewer, request: ReportRequest) -> dict[int, dict[str, int]]:
    key = _group_column(request.by)
    repeat = _earlier_loan()
    amount = flows.fen_of(Loan.principal)
    rows = db.session.execute(
        _keyed(select(_key_or_zero(key), func.count(Loan.id), func.sum(amount),
                      func.sum(case((repeat, 0), else_=1)), func.sum(case((repeat, 0), else_=amount)))
               .where(Loan.disbursed_on >= request.date_from, Loan.disbursed_on <= request.date_to,
                      *reporting.conditions(viewer, request, Loan)), key)
    ).all()
    return _fold(request.by, {flows.whole(k): {"loans": flows.whole(n), "amount": flows.whole(a), "first_loans": flows.whole(fn),
                                        "first_amount": flows.whole(fa)} for k, n, a, fn, fa in rows})


def _disbursement_row(figures: dict[str, int]) -> dict[str, Any]:
    loans, amount = figures.get("loans", 0), figures.get("amount", 0)
    first, first_amount = figures.get("first_loans", 0), figures.get("first_amount", 0)
    return {
        "loans": loans, "amount": reporting.fen_to_yuan(amount),
        "average": reporting.fen_to_yuan((amount + loans // 2) // loans if loans else 0),
        "first_loans": first, "first_amount": reporting.fen_to_yuan(first_amount),
        "repeat_loans": loans - first, "repeat_amount": reporting.fen_to_yuan(amount - first_amount),
        "first_share": reporting.share(first, loans),
    }


def build_disbursements(viewer: User | None, request: ReportRequest) -> Report:
    grouped = _disbursed(viewer, request)
    labels = reporting.group_names(request.by, grouped)
    rows = []
    if request.by:
        for key in sorted(grouped, key=lambda k: (labels.get(k, ""), k)):
            rows.append({"group": labels.get(key, str(key))} | _disbursement_row(grouped[key]))
    total: dict[str, int] = {}
    for figures in grouped.values():
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    columns = reporting.group_columns(request.by) + [
        Column("loans", N_("Loans"), "int"), Column("amount", N_("Amount"), "money"),
        Column("average", N_("Average size"), "money"),
        Column("first_loans", N_("First loans"), "int"), Column("first_amount", N_("First loans' amount"), "money"),
        Column("repeat_loans", N_("Repeat loans"), "int"),
        Column("repeat_amount", N_("Repeat loans' amount"), "money"),
        Column("first_share", N_("First loans (%)"), "percent"),
    ]
    return Report("disbursements", N_("Disbursements"), request, columns, rows, _disbursement_row(total),
                  notes=[N_("Loans paid out in the period. A first loan is the borrower's first loan with us; "
                            "a repeat loan follows an earlier one.")])


def _kept(months: Iterable[date]) -> set[date]:
    """Those of ``months`` (first days) whose figures are kept (``MonthlyFigures``: written when the
    month closed, so never the current month)."""
    wanted = sorted({m.replace(day=1) for m in months})
    if not wanted:
        return set()
    return set(db.session.scalars(select(MonthlyFigures.month).where(MonthlyFigures.month.in_(wanted))
                                  .group_by(MonthlyFigures.month)))


def _kept_sums(viewer: User | None, months: set[date], office_ids, *columns) -> dict[date, tuple[int, ...]]:
    """The kept figures of ``months`` in the viewer's reach, summed per month."""
    if not months:
        return {}
    rows = db.session.execute(
        select(MonthlyFigures.month, *[func.sum(c) for c in columns])
        .where(MonthlyFigures.month.in_(sorted(months)), reporting.reach(viewer, MonthlyFigures),
               _office_ids_filter(office_ids, MonthlyFigures.office_id))
        .group_by(MonthlyFigures.month)).all()
    return {row[0]: tuple(flows.whole(v) for v in row[1:]) for row in rows}


def _live_months(months: Iterable[date], column) -> tuple[date, date, Any]:
    """The span of ``months`` and the condition that ``column`` (a date) falls in one of them."""
    months = sorted({m.replace(day=1) for m in months})
    return months[0], flows.month_end(months[-1]), _month_key(column).in_([m.year * 12 + m.month - 1 for m in months])


def disbursed_monthly(viewer: User | None, months: list[date], office_ids=None) -> list[dict]:
    """Loans paid out in each of ``months`` (each a month's first day): count and amount (yuan).
    A closed month reads its kept figures; a month not kept (the current one) the loans."""
    if not months:
        return []
    kept = _kept(months)
    found = {m: {"loans": n, "amount": a} for m, (n, a) in _kept_sums(
        viewer, kept, office_ids, MonthlyFigures.disbursed_loans, MonthlyFigures.disbursed_fen).items()}
    live = [m for m in months if m.replace(day=1) not in kept]
    if live:
        first, last, in_months = _live_months(live, Loan.disbursed_on)
        rows = flows.paid_out([in_months, reporting.reach(viewer, Loan), _office_ids_filter(office_ids, Loan.office_id)],
                         _month_key(Loan.disbursed_on), date_from=first, date_to=last)
        found.update({_month_of(k): figures for k, figures in rows.items()})
    empty = {"loans": 0, "amount": 0}
    return [{"month": m.replace(day=1), "loans": found.get(m.replace(day=1), empty)["loans"],
             "amount": reporting.fen_to_yuan(found.get(m.replace(day=1), empty)["amount"])} for m in months]


# --- collection -------------------------------------------------------------------------------


def _collection_row(figures: dict[str, int]) -> dict[str, Any]:
    due, on_time, late = figures.get("due", 0), figures.get("on_time", 0), figures.get("late", 0)
    return {
        "installments": figures.get("installments", 0),
        "due": reporting.fen_to_yuan(due), "on_time": reporting.fen_to_yuan(on_time),
        "late": reporting.fen_to_yuan(late), "unpaid": reporting.fen_to_yuan(due - on_time - late),
        "rate": reporting.share(on_time + late, due), "on_time_rate": reporting.share(on_time, due),
    }


COLLECTION_NOTE = N_(
    "Due: the principal and interest of the installments falling due in the period (not penalty). "
    "Collected on time: what standing repayments paid on those installments on or before their due "
    "date. Collected late: what they paid after the due date, up to the period's last day. Still "
    "unpaid: due minus both, at the period's last day. Collection rate: collected on time and late "
    "over due. Reversed repayments do not count.")


def build_collection(viewer: User | None, request: ReportRequest) -> Report:
    key = _group_column(request.by)
    grouped = _fold(request.by, flows.collection(reporting.conditions(viewer, request, Loan), key, due_from=request.date_from,
                                            due_to=request.date_to,
                                            counted=Repayment.paid_on <= request.date_to))
    labels = reporting.group_names(request.by, grouped)
    rows = []
    if request.by:
        for k in sorted(grouped, key=lambda k: (labels.get(k, ""), k)):
            rows.append({"group": labels.get(k, str(k))} | _collection_row(grouped[k]))
    total: dict[str, int] = {}
    for figures in grouped.values():
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    columns = reporting.group_columns(request.by) + [
        Column("installments", N_("Installments due"), "int"), Column("due", N_("Due"), "money"),
        Column("on_time", N_("Collected on time"), "money"), Column("late", N_("Collected late"), "money"),
        Column("unpaid", N_("Still unpaid"), "money"), Column("rate", N_("Collection rate (%)"), "percent"),
        Column("on_time_rate", N_("On-time rate (%)"), "percent"),
    ]
    return Report("collection", N_("Expected vs collected"), request, columns, rows, _collection_row(total),
                  notes=[COLLECTION_NOTE])


def collection_monthly(viewer: User | None, months: list[date], office_ids=None) -> list[dict]:
    """For each of ``months``: what fell due in the month and what of it was collected by the
    month's end (on time or late), in yuan, and the rate — the collection report of that month.
    A closed month reads its kept figures (``month_figures``, written when it closed); a month
    not kept (the current one) is computed from the ledger."""
    if not months:
        return []
    kept = _kept(months)
    grouped = {m.year * 12 + m.month - 1: {"due": due, "on_time": on_time, "late": late}
               for m, (due, on_time, late) in _kept_sums(
                   viewer, kept, office_ids, MonthlyFigures.due_fen, MonthlyFigures.collected_on_time_fen,
                   MonthlyFigures.collected_late_fen).items()}
    live = [m for m in months if m.replace(day=1) not in kept]
    if live:
        first, last, in_months = _live_months(live, Installment.due_date)
        key = _month_key(Installment.due_date)
        conditions = [in_months, reporting.reach(viewer, Loan), _office_ids_filter(office_ids, Loan.office_id)]
        # A late payment counts up to the end of the installment's own month.
        grouped.update(flows.collection(conditions, key, due_from=first, due_to=last,
                                   counted=_month_key(Repayment.paid_on) <= key))
    result = []
    for m in months:
        figures = grouped.get(m.year * 12 + m.month - 1, {})
        due = figures.get("due", 0)
        collected = figures.get("on_time", 0) + figures.get("late", 0)
        result.append({"month": m.replace(day=1), "due": reporting.fen_to_yuan(due),
                       "collected": reporting.fen_to_yuan(collected), "rate": reporting.share(collected, due)})
    return result


reporting.register(ReportSpec("disbursements", N_("Disbursements"), build_disbursements, period=True,
                              description=N_("Loans paid out in a period: count, amount, average size, "
                                             "first loans and repeat loans.")))
reporting.register(ReportSpec("collection", N_("Expected vs collected"), build_collection, period=True,
                              description=N_("What fell due in a period and what was collected of it: on time, "
                                             "late, still unpaid, and the collection rate.")))


# --- arrears: the collection list -------------------------------------------------------------


def _latest_task(loans, *conditions):
    """The latest done visit of each loan ``loans`` selects (that meets ``conditions``)."""
    rank = func.row_number().over(partition_by=FollowUpTask.loan_id,
                                  order_by=(FollowUpTask.completed_at.desc(), FollowUpTask.id.desc()))
    ranked = (select(FollowUpTask.loan_id, FollowUpTask.completed_at, FollowUpTask.on_site, FollowUpTask.flags,
                     FollowUpTask.outcome, rank.label("rank"))
              .where(FollowUpTask.status == "done", FollowUpTask.loan_id.in_(loans), *conditions)
              .subquery())
    return ranked


def _verdict(on_site: bool | None, flags, gettext) -> str:
    if on_site is None:
        return ""
    if on_site:
        return gettext("On site")
    names = {"far": N_("far from home"), "poor_accuracy": N_("poor GPS accuracy"),
             "mock_location": N_("mock location"), "no_home_gps": N_("no home GPS"), "no_gps": N_("no GPS")}
    reasons = "、".join(gettext(names.get(flag, flag)) for flag in (flags or []))
    return gettext("Not on site") + (f"（{reasons}）" if reasons else "")


ARREARS_NOTE = N_(
    "Active loans with any day past due, as the daily job left them today, most days past due first. "
    "Overdue: principal and interest of installments past their due date, and penalty interest not yet "
    "paid. Last visit: the latest visit reported, and whether its GPS put the officer at the "
    "borrower's home. Last promise: the latest promise to pay recorded on a visit.")


def _yuan_text(text: str | None) -> Decimal | None:
    """An amount a visit report holds ("500.00", checked when recorded), as yuan."""
    return None if not text else Decimal(text).quantize(Decimal("0.01"))


def build_arrears(viewer: User | None, request: ReportRequest) -> Report:
    if request.as_of != clock.business_today():
        raise ReportRequestError("arrears_today_only", N_(
            "The arrears list is today's list to work from; for a past day see the PAR report."))
    in_arrears = [Loan.status == "active", Loan.days_past_due > 0, *reporting.conditions(viewer, request, Loan)]
    late = Installment.due_date < request.as_of
    overdue = (select(Installment.loan_id.label("loan_id"),
                      func.sum(case((late, flows.fen_of(Installment.principal_due) - flows.fen_of(Installment.principal_paid)),
                                    else_=0)).label("principal"),
                      func.sum(case((late, flows.fen_of(Installment.interest_due) - flows.fen_of(Installment.interest_paid)),
                                    else_=0)).label("interest"),
                      func.sum(flows.fen_of(Installment.penalty_accrued) - flows.fen_of(Installment.penalty_paid)).label("penalty"),
                      func.sum(flows.fen_of(Installment.principal_due) - flows.fen_of(Installment.principal_paid))
                      .label("outstanding"))
               .join(Loan, Loan.id == Installment.loan_id)
               .where(*in_arrears)
               .group_by(Installment.loan_id)
               .subquery())
    ids = select(Loan.id).where(*in_arrears)
    # Visits are post-loan work: shown to those granted it (scope.TASKS), over the same loans.
    tasks_seen = true() if viewer is None or scope.may(viewer, scope.TASKS) else false()
    visit = _latest_task(ids, tasks_seen)
    promise_date = FollowUpTask.outcome["promise_date"].as_string()
    promise = _latest_task(ids, tasks_seen, promise_date.is_not(None), promise_date != "null")
    officer = aliased(User)
    stmt = (select(Loan.contract_no, Borrower.name, Borrower.phone, Borrower.village, Office.name, officer.full_name,
                   Loan.days_past_due, overdue.c.principal, overdue.c.interest, overdue.c.penalty,
                   overdue.c.outstanding, visit.c.completed_at, visit.c.on_site, visit.c.flags, visit.c.outcome,
                   promise.c.outcome)
            .join(overdue, overdue.c.loan_id == Loan.id)
            .join(Borrower, Borrower.id == Loan.borrower_id)
            .join(Office, Office.id == Loan.office_id)
            .join(officer, officer.id == Loan.officer_id)
            .outerjoin(visit, and_(visit.c.loan_id == Loan.id, visit.c.rank == 1))
            .outerjoin(promise, and_(promise.c.loan_id == Loan.id, promise.c.rank == 1))
            .where(*in_arrears)
            .order_by(Loan.days_past_due.desc(), Loan.id))
    totals_row = db.session.execute(
        select(func.count(), func.sum(overdue.c.principal + overdue.c.interest + overdue.c.penalty),
               func.sum(overdue.c.outstanding))).one()

    def rows():
        gettext = reporting.translator()
        for (contract, name, phone, village, office, officer_name, dpd, principal, interest, penalty, outstanding,
             visited_at, on_site, flags, visit_outcome, promise_outcome) in db.session.execute(
                 stmt, execution_options={"yield_per": 1000}):
            promised = promise_outcome or {}
            yield {
                "contract_no": contract or "", "borrower": name, "mobile": phone, "village": village,
                "office": office, "officer": officer_name, "days_past_due": int(dpd),
                "overdue_principal": reporting.fen_to_yuan(principal),
                "overdue_interest": reporting.fen_to_yuan(interest), "penalty": reporting.fen_to_yuan(penalty),
                "overdue": reporting.fen_to_yuan(flows.whole(principal) + flows.whole(interest) + flows.whole(penalty)),
                "outstanding_principal": reporting.fen_to_yuan(outstanding),
                "last_visit": dates.business_date_of(visited_at) if visited_at else None,
                "verdict": _verdict(on_site, flags, gettext),
                "visit_notes": (visit_outcome or {}).get("notes", "") if visited_at else "",
                "promise_date": date.fromisoformat(promised["promise_date"]) if promised.get("promise_date") else None,
                "promise_amount": _yuan_text(promised.get("promise_amount")),
            }

    columns = [
        Column("contract_no", N_("Contract number")),
        Column("borrower", N_("Borrower"), personal=True), Column("mobile", N_("Mobile"), personal=True),
        Column("village", N_("Village"), personal=True), Column("office", N_("Office")),
        Column("officer", N_("Officer")), Column("days_past_due", N_("Days past due"), "days"),
        Column("overdue_principal", N_("Overdue principal"), "money"),
        Column("overdue_interest", N_("Overdue interest"), "money"), Column("penalty", N_("Penalty interest"), "money"),
        Column("overdue", N_("Overdue amount"), "money"),
        Column("outstanding_principal", N_("Outstanding principal"), "money"),
        Column("last_visit", N_("Last visit"), "date"), Column("verdict", N_("Visit verdict")),
        Column("visit_notes", N_("Visit notes"), personal=True),
        Column("promise_date", N_("Promised to pay on"), "date"),
        Column("promise_amount", N_("Promised amount"), "money"),
    ]
    count, overdue_total, outstanding_total = totals_row
    return Report("arrears", N_("Arrears list"), request, columns, rows(),
                  {"loans": flows.whole(count), "overdue": reporting.fen_to_yuan(overdue_total),
                   "outstanding_principal": reporting.fen_to_yuan(outstanding_total)},
                  notes=[ARREARS_NOTE])


# --- officers ---------------------------------------------------------------------------------


def _utc_start(day: date) -> datetime:
    """The first moment of a business day (Asia/Shanghai), in UTC as times are stored."""
    return datetime.combine(day, time.min, dates.BEIJING).astimezone(timezone.utc)


def _portfolio_by_officer(viewer: User | None, request: ReportRequest) -> dict[int, dict[str, int]]:
    """Active loans, outstanding principal and PAR30 principal per officer, from the day's snapshot
    (the opening of that day) — today's too once the daily job has run for today; live until then
    (snapshots.reads_live)."""

    today = clock.business_today()
    if snapshots.reads_live(request.as_of, today):
        outstanding = flows.fen_of(Installment.principal_due) - flows.fen_of(Installment.principal_paid)
        at_risk = Loan.days_past_due >= par_threshold(30)
        rows = db.session.execute(
            select(Loan.officer_id, func.count(func.distinct(Loan.id)), func.sum(outstanding),
                   func.sum(case((at_risk, outstanding), else_=0)))
            .join(Installment, Installment.loan_id == Loan.id)
            .where(Loan.status == "active", *reporting.conditions(viewer, request, Loan))
            .group_by(Loan.officer_id)).all()
    else:
        if request.as_of != today:  # today's opening is kept (the daily job ran), rows or none
            _check_snapshot_day(request.as_of)
        S = PortfolioSnapshot
        rows = db.session.execute(
            select(S.officer_id, func.sum(S.loans), func.sum(S.outstanding_principal_fen),
                   func.sum(case((S.dpd_bucket.in_(par_buckets(30)), S.outstanding_principal_fen), else_=0)))
            .where(S.day == request.as_of, *reporting.conditions(viewer, request, S))
            .group_by(S.officer_id)).all()
    return {officer: {"loans": flows.whole(n), "outstanding": flows.whole(o), "par30": flows.whole(p)} for officer, n, o, p in rows}


def _check_snapshot_day(day: date) -> None:
    if db.session.scalar(select(PortfolioSnapshot.id).where(PortfolioSnapshot.day == day).limit(1)) is not None:
        return
    before = db.session.scalar(select(func.max(PortfolioSnapshot.day)).where(PortfolioSnapshot.day < day))
    after = db.session.scalar(select(func.min(PortfolioSnapshot.day)).where(PortfolioSnapshot.day > day))
    nearest = min((d for d in (before, after) if d is not None), key=lambda d: abs((d - day).days), default=None)
    if nearest is None:
        raise ReportRequestError("no_snapshot", N_("No figures were kept for %(day)s, nor for any other past day."),
                                 day=day.isoformat())
    raise ReportRequestError("no_snapshot", N_("No figures were kept for %(day)s; the nearest day with figures is "
                                               "%(nearest)s."), day=day.isoformat(), nearest=nearest.isoformat())


def _applications_by_officer(viewer, request: ReportRequest) -> dict[int, dict[str, int]]:
    approved = Application.state.in_(("awaiting_disbursement", "disbursed"))
    rows = db.session.execute(
        select(Application.officer_id, func.count(Application.id), func.sum(case((approved, 1), else_=0)),
               func.sum(case((Application.state == "rejected", 1), else_=0)))
        .where(Application.captured_at >= _utc_start(request.date_from),
               Application.captured_at < _utc_start(request.date_to + timedelta(days=1)),
               *reporting.conditions(viewer, request, Application))
        .group_by(Application.officer_id)).all()
    return {officer: {"captured": flows.whole(n), "approved": flows.whole(a), "rejected": flows.whole(r)} for officer, n, a, r in rows}


def _visits_by_officer(viewer, request: ReportRequest) -> dict[int, dict[str, int]]:
    """Visits reported in the period (on site / not), and tasks overdue at the as-of day (due before
    it and not reported before it; cancelled tasks are not counted)."""
    T = FollowUpTask
    loan_conditions = [true() if viewer is None else scope.task_clause(viewer),
                       reporting.office_filter(request, Loan.office_id)]
    if request.product_id is not None:
        loan_conditions.append(Loan.product_id == request.product_id)
    officer_condition = true() if request.officer_id is None else T.officer_id == request.officer_id
    in_period = and_(T.status == "done", T.completed_at >= _utc_start(request.date_from),
                     T.completed_at < _utc_start(request.date_to + timedelta(days=1)))
    day_began = _utc_start(request.as_of)
    overdue = and_(T.status != "cancelled", T.due_date < request.as_of,
                   or_(T.completed_at.is_(None), T.completed_at >= day_began))
    rows = db.session.execute(
        select(T.officer_id, func.sum(case((in_period, 1), else_=0)),
               func.sum(case((and_(in_period, T.on_site.is_(True)), 1), else_=0)),
               func.sum(case((and_(in_period, T.on_site.is_(False)), 1), else_=0)),
               func.sum(case((overdue, 1), else_=0)))
        .join(Loan, Loan.id == T.loan_id)
        .where(*loan_conditions, officer_condition, or_(in_period, overdue))
        .group_by(T.officer_id)).all()
    return {officer: {"visits": flows.whole(v), "verified": flows.whole(ok), "flagged": flows.whole(f), "tasks_overdue": flows.whole(o)}
            for officer, v, ok, f, o in rows}


OFFICER_FIGURES = ("loans", "outstanding", "par30", "captured", "approved", "rejected", "visits", "verified",
                   "flagged", "tasks_overdue")


def _officer_row(figures: dict[str, int]) -> dict[str, Any]:
    f = {key: figures.get(key, 0) for key in OFFICER_FIGURES}
    return {
        "loans": f["loans"], "outstanding": reporting.fen_to_yuan(f["outstanding"]),
        "par30_principal": reporting.fen_to_yuan(f["par30"]), "par30": reporting.share(f["par30"], f["outstanding"]),
        "captured": f["captured"], "approved": f["approved"], "rejected": f["rejected"],
        "approval_rate": reporting.share(f["approved"], f["approved"] + f["rejected"]),
        "visits": f["visits"], "verified": f["verified"], "flagged": f["flagged"],
        "tasks_overdue": f["tasks_overdue"],
    }


OFFICERS_NOTE = N_(
    "Portfolio: active loans and their outstanding principal at the opening of the as-of day (the "
    "figures the daily job kept that day); PAR30: the principal of loans more than 30 days past due. "
    "Applications captured in the period; approval rate: approved (awaiting disbursement or disbursed) "
    "over approved and rejected, of those captured in the period. Visits reported in the period: "
    "verified when the GPS put the officer at the home, flagged when it did not. Tasks overdue: due "
    "before the as-of day and not yet reported by then.")


def build_officers(viewer: User | None, request: ReportRequest) -> Report:

    merged: dict[int, dict[str, int]] = {}
    for part in (_portfolio_by_officer(viewer, request), _applications_by_officer(viewer, request),
                 _visits_by_officer(viewer, request)):
        for officer, figures in part.items():
            merged.setdefault(officer, {}).update(figures)
    people = {uid: (name, office) for uid, name, office in db.session.execute(
        select(User.id, User.full_name, Office.name).join(Office, Office.id == User.office_id)
        .where(User.id.in_(sorted(merged))))} if merged else {}
    rows = [{"officer": people.get(uid, ("", ""))[0], "office": people.get(uid, ("", ""))[1]}
            | _officer_row(merged[uid]) for uid in sorted(merged, key=lambda u: (people.get(u, ("", ""))[1:], u))]
    total = {key: sum(figures.get(key, 0) for figures in merged.values()) for key in OFFICER_FIGURES}
    columns = [
        Column("officer", N_("Officer")), Column("office", N_("Office")),
        Column("loans", N_("Loans"), "int"), Column("outstanding", N_("Outstanding principal"), "money"),
        Column("par30_principal", N_("PAR30 principal"), "money"), Column("par30", N_("PAR30 (%)"), "percent"),
        Column("captured", N_("Applications captured"), "int"), Column("approved", N_("Approved"), "int"),
        Column("rejected", N_("Rejected"), "int"), Column("approval_rate", N_("Approval rate (%)"), "percent"),
        Column("visits", N_("Visits done"), "int"), Column("verified", N_("Visits verified"), "int"),
        Column("flagged", N_("Visits flagged"), "int"), Column("tasks_overdue", N_("Tasks overdue"), "int"),
    ]
    return Report("officers", N_("Officer performance"), request, columns, rows, _officer_row(total),
                  notes=[OFFICERS_NOTE, *snapshots.today_notes(request.as_of)])


reporting.register(ReportSpec("arrears", N_("Arrears list"), build_arrears, by=(),
                              description=N_("Today's late loans to collect: borrower, mobile, village, officer, "
                                             "days past due, overdue amount, last visit and last promise to pay.")))
reporting.register(ReportSpec("officers", N_("Officer performance"), build_officers, period=True, by=(),
                              description=N_("Each officer's portfolio, PAR30, applications and approval rate, "
                                             "visits and overdue tasks.")))
