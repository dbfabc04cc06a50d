"""The portfolio reports: ``par`` (portfolio at risk and ageing), ``classification`` (five
categories and their migration between two dates) and ``upcoming`` (dues in the coming days), and
the two figures the dashboard draws (``monthly_positions``, ``class_distribution``).

One rule for every date: the figures of a day are that day's opening snapshot, the one the daily
job's run for the day wrote — today's too, once the daily job has run for today (one query over
``portfolio_snapshots``; repayments taken today count from tomorrow's figures). Until it has run,
today's figures are computed from the live tables through the same definition the snapshot is
written with (``snapshots.positions`` / ``snapshots.loan_figures``), and a note says so. So what a
report says of a day today is exactly what it said on that day. A past day without a snapshot is refused with the nearest
day that has one. Every query is scoped by ``reporting.reach`` and filtered by the request's
office, officer and product; grouped in SQL, never a loop over loans.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, func, literal, select, type_coerce

from app import clock
from app.domain import portfolio as dpd_rules
from app.domain.i18n import N_
from app.domain.repayment import CLASS_LABELS, CLASSES
from app.extensions import db
from app.models import Installment, Loan, User
from app.models.reports import LoanSnapshot, PortfolioSnapshot
from app.services import reporting, snapshots
from app.services.reporting import Column, Report, ReportRequest, ReportRequestError, ReportSpec

Amounts = dpd_rules.Amounts


def _today() -> date:
    return clock.business_today()


def _missing(day: date) -> ReportRequestError:
    nearest = snapshots.nearest_day(day)
    if nearest is None:
        return ReportRequestError("no_snapshot", N_("No figures were kept for %(day)s, nor for any other day yet: "
                                                    "ask for today's figures."), day=day.isoformat())
    return ReportRequestError("no_snapshot", N_("No figures were kept for %(day)s; the nearest day with figures "
                                                "is %(nearest)s."), day=day.isoformat(), nearest=nearest.isoformat())


def _filters(model, *, office_ids=None, officer_id=None, product_id=None) -> list:
    where = []
    if office_ids is not None:
        where.append(model.office_id.in_(sorted(office_ids)))
    if officer_id is not None:
        where.append(model.officer_id == officer_id)
    if product_id is not None:
        where.append(model.product_id == product_id)
    return where


def buckets(viewer: User | None, day: date, *, group: str | None = None, office_ids=None, officer_id=None,
            product_id=None, today: date | None = None, live: bool | None = None) -> list[tuple[Any, str, int, int, int]]:
    """(group key, class, dpd bucket, loans, outstanding principal fen) of the loans in reach on
    ``day``: from the day's snapshot (refused when a past day has none); today from its opening
    once the daily job has run for it, live until then (``live`` True forces it, for today only).

    ``group`` is None (key None), "office", "officer" or "product" (key: that id).
    """
    today = today or _today()
    if day > today:
        raise ReportRequestError("future_date", N_("The as-of date cannot be after today."))
    if day == today and (live or (live is None and snapshots.reads_live(day, today))):
        # One level of grouping straight over the installments (what snapshots.positions sums per
        # loan first): the same principal, loans counted distinct.
        bucket = snapshots.bucket_expr(Loan.days_past_due)
        principal = func.sum(type_coerce(Installment.principal_due, BigInteger)
                             - type_coerce(Installment.principal_paid, BigInteger))
        key = getattr(Loan, f"{group}_id") if group else literal(None)
        query = (select(key, Loan.classification, bucket, func.count(func.distinct(Loan.id)), principal)
                 .join(Installment, Installment.loan_id == Loan.id)
                 .where(Loan.status == "active", reporting.reach(viewer, Loan),
                        *_filters(Loan, office_ids=office_ids, officer_id=officer_id, product_id=product_id))
                 .group_by(*([key] if group else []), Loan.classification, bucket))
    else:
        if day != today and not snapshots.has_snapshot(day):
            raise _missing(day)
        s = PortfolioSnapshot
        key = getattr(s, f"{group}_id") if group else literal(None)
        query = (select(key, s.classification, s.dpd_bucket, func.sum(s.loans),
                        func.sum(type_coerce(s.outstanding_principal_fen, BigInteger)))
                 .where(s.day == day, reporting.reach(viewer, s),
                        *_filters(s, office_ids=office_ids, officer_id=officer_id, product_id=product_id))
                 .group_by(*([key] if group else []), s.classification, s.dpd_bucket))
    return [(k, cls, int(b), int(n or 0), int(p or 0)) for k, cls, b, n, p in db.session.execute(query)]


# --- what the dashboard draws ----------------------------------------------------------------


def monthly_positions(viewer: User | None, months: list[date], office_ids=None) -> list[dict]:
    """For each date (a month's opening; today: its opening, live until the daily job has run):
    loans, outstanding principal, PAR30 principal
    and its share of the outstanding. A day without a snapshot gives zeros and ``recorded`` False."""
    today = _today()
    result = []
    for day in months:
        try:
            rows = buckets(viewer, day, office_ids=office_ids, today=today)
            recorded = True
        except ReportRequestError:
            rows, recorded = [], False
        by_bucket: dict[int, Amounts] = defaultdict(Amounts)
        for _key, _cls, bucket, loans, fen in rows:
            by_bucket[bucket] = by_bucket[bucket] + Amounts(loans, fen)
        figures = dpd_rules.par_and_ageing(by_bucket)
        total, par30 = figures["total"], figures["par30"]
        result.append({"day": day, "loans": total.loans, "outstanding": reporting.fen_to_yuan(total.principal_fen),
                       "par30_principal": reporting.fen_to_yuan(par30.principal_fen),
                       "par30_share": reporting.share(par30.principal_fen, total.principal_fen),
                       "recorded": recorded})
    return result


def class_distribution(viewer: User | None, office_ids=None) -> list[dict]:
    """Today's active loans in reach (at today's opening once the daily job has run, live until
    then) by five-category class (every class, in order, zeros too):
    loans, outstanding principal (yuan) and share of the outstanding (percent)."""
    rows = buckets(viewer, _today(), office_ids=office_ids)
    loans: dict[str, int] = defaultdict(int)
    fen: dict[str, int] = defaultdict(int)
    for _key, cls, _bucket, n, principal in rows:
        loans[cls] += n
        fen[cls] += principal
    whole = sum(fen.values())
    return [{"classification": cls, "loans": loans[cls], "outstanding": reporting.fen_to_yuan(fen[cls]),
             "share": reporting.share(fen[cls], whole)} for cls in CLASSES]


# --- breakdowns -------------------------------------------------------------------------------

def _grouped_buckets(viewer: User | None, request: ReportRequest, day: date | None = None):
    """The request's rows of ``buckets``, with the key turned into the breakdown's (branch: the
    offices' branch)."""
    group = {"branch": "office"}.get(request.by or "", request.by)
    rows = buckets(viewer, day or request.as_of, group=group, office_ids=request.office_ids,
                   officer_id=request.officer_id, product_id=request.product_id)
    if request.by == "branch":
        branch = reporting.branch_of()
        rows = [(branch.get(k, k), cls, b, n, p) for k, cls, b, n, p in rows]
    return rows


# --- par: portfolio at risk and ageing --------------------------------------------------------

PAR_KEYS = [f"par{days}" for days in dpd_rules.PAR_DAYS]
AGE_KEYS = [f"age_{first}_{last or ''}" for first, last in dpd_rules.AGEING]


def _par_columns(by: str | None) -> list[Column]:
    columns = [*reporting.group_columns(by), Column("loans", N_("Loans"), "int"),
               Column("outstanding_principal", N_("Outstanding principal"), "money")]
    for days in dpd_rules.PAR_DAYS:
        loans, principal, share = PAR_LABELS[days]
        columns += [Column(f"par{days}_loans", loans, "int"), Column(f"par{days}_principal", principal, "money"),
                    Column(f"par{days}_share", share, "percent")]
    for bucket, key in zip(dpd_rules.AGEING, AGE_KEYS):
        loans, principal = AGE_LABELS[bucket]
        columns += [Column(f"{key}_loans", loans, "int"), Column(f"{key}_principal", principal, "money")]
    return columns


# Written out, so that each is a string the translators see.
PAR_LABELS = {
    1: (N_("PAR1 loans"), N_("PAR1 principal"), N_("PAR1 share")),
    7: (N_("PAR7 loans"), N_("PAR7 principal"), N_("PAR7 share")),
    30: (N_("PAR30 loans"), N_("PAR30 principal"), N_("PAR30 share")),
    60: (N_("PAR60 loans"), N_("PAR60 principal"), N_("PAR60 share")),
    90: (N_("PAR90 loans"), N_("PAR90 principal"), N_("PAR90 share")),
    180: (N_("PAR180 loans"), N_("PAR180 principal"), N_("PAR180 share")),
}
AGE_LABELS = {
    (1, 30): (N_("1–30 days: loans"), N_("1–30 days: principal")),
    (31, 60): (N_("31–60 days: loans"), N_("31–60 days: principal")),
    (61, 90): (N_("61–90 days: loans"), N_("61–90 days: principal")),
    (91, 180): (N_("91–180 days: loans"), N_("91–180 days: principal")),
    (181, None): (N_("Over 180 days: loans"), N_("Over 180 days: principal")),
}


def _par_figures(by_bucket: dict[int, Amounts]) -> dict[str, Any]:
    figures = dpd_rules.par_and_ageing(by_bucket)
    total = figures["total"]
    row: dict[str, Any] = {"loans": total.loans, "outstanding_principal": reporting.fen_to_yuan(total.principal_fen)}
    for key in PAR_KEYS:
        row[f"{key}_loans"] = figures[key].loans
        row[f"{key}_principal"] = reporting.fen_to_yuan(figures[key].principal_fen)
        row[f"{key}_share"] = reporting.share(figures[key].principal_fen, total.principal_fen)
    for key in AGE_KEYS:
        row[f"{key}_loans"] = figures[key].loans
        row[f"{key}_principal"] = reporting.fen_to_yuan(figures[key].principal_fen)
    return row


def build_par(viewer: User | None, request: ReportRequest) -> Report:
    rows = _grouped_buckets(viewer, request)
    per_group: dict[Any, dict[int, Amounts]] = defaultdict(lambda: defaultdict(Amounts))
    overall: dict[int, Amounts] = defaultdict(Amounts)
    for key, _cls, bucket, loans, fen in rows:
        per_group[key][bucket] = per_group[key][bucket] + Amounts(loans, fen)
        overall[bucket] = overall[bucket] + Amounts(loans, fen)
    labels = reporting.group_names(request.by, per_group)
    out = []
    if request.by:
        for key in sorted(per_group, key=lambda k: (labels.get(k, ""), k or 0)):
            out.append({"group": labels.get(key, str(key)), **_par_figures(per_group[key])})
    else:
        out.append(_par_figures(overall))
    return Report("par", PAR_TITLE, request, _par_columns(request.by), out,
                  totals=_par_figures(overall), notes=[PAR_NOTE, *snapshots.today_notes(request.as_of)])


PAR_TITLE = N_("Portfolio at risk and ageing")
PAR_NOTE = N_("PARn is the outstanding principal of the loans more than n days past due (PAR1: any day "
              "past due); its percentage is of all outstanding principal. Ageing buckets count days "
              "past due. The figures of a day are those the daily job kept at that day's opening "
              "(repayments of that day come in the next day's figures).")

reporting.register(ReportSpec("par", PAR_TITLE, build_par, period=False,
                              description=N_("Loans past due by days, their principal, and PAR1 to PAR180.")))


# --- classification: the five categories and how loans moved between them -------------------

CLASS_TITLE = N_("Five-category classification")
NEW_ROW = N_("Disbursed since From")
TO_LABELS = {"normal": N_("→ Normal"), "special_mention": N_("→ Special mention"),
             "substandard": N_("→ Substandard"), "doubtful": N_("→ Doubtful"), "loss": N_("→ Loss"),
             "left": N_("→ Repaid or left")}
CLASS_NOTES = [
    N_("Counts and outstanding principal of the active loans by class on the To day (the as-of day when "
       "To is not given); shares are of all loans and of all outstanding principal."),
    N_("Migration: each row is a class on the From day, each → column the class the same loans had on the "
       "To day; “Repaid or left” counts loans no longer on the books on the To day; the last row counts "
       "the loans disbursed in between, by their class on the To day."),
]
NO_MATRIX = N_("The migration compares the loans at the opening of a month (the 1st) or today: choose "
               "From and To among those days to see it.")


def _classes_on(viewer: User | None, request: ReportRequest, day: date, today: date):
    """(loan_id, classification) of each loan in reach on ``day``, as a subquery-able select:
    live today (the loan rows of today's opening when today is the 1st and the daily job has run),
    the loan rows of a month's opening otherwise; None when the day has none."""
    if day == today and (day.day != 1 or snapshots.reads_live(day, today)):
        return (select(Loan.id.label("loan_id"), Loan.classification.label("classification"))
                .where(Loan.status == "active", reporting.reach(viewer, Loan),
                       *_filters(Loan, office_ids=request.office_ids, officer_id=request.officer_id,
                                 product_id=request.product_id)))
    if day.day != 1 or not snapshots.has_snapshot(day):
        return None
    s = LoanSnapshot
    return (select(s.loan_id.label("loan_id"), s.classification.label("classification"))
            .where(s.day == day, reporting.reach(viewer, s),
                   *_filters(s, office_ids=request.office_ids, officer_id=request.officer_id,
                             product_id=request.product_id)))


def migration(viewer: User | None, request: ReportRequest, date_from: date, date_to: date,
              today: date | None = None) -> dict[str, dict[str, int]] | None:
    """Loans by (class on ``date_from``) → (class on ``date_to``, or "left"); the row "new" holds the
    loans on the books on ``date_to`` only. None when either day keeps no loan rows."""
    today = today or _today()
    before, after = _classes_on(viewer, request, date_from, today), _classes_on(viewer, request, date_to, today)
    if before is None or after is None:
        return None
    f, t = before.subquery("f"), after.subquery("t")
    matrix: dict[str, dict[str, int]] = {cls: defaultdict(int) for cls in (*CLASSES, "new")}
    for was, now, count in db.session.execute(
            select(f.c.classification, t.c.classification, func.count())
            .select_from(f.outerjoin(t, t.c.loan_id == f.c.loan_id))
            .group_by(f.c.classification, t.c.classification)):
        matrix.setdefault(was, defaultdict(int))[now or "left"] += int(count)
    for now, count in db.session.execute(
            select(t.c.classification, func.count()).select_from(t.outerjoin(f, f.c.loan_id == t.c.loan_id))
            .where(f.c.loan_id.is_(None)).group_by(t.c.classification)):
        matrix["new"][now] += int(count)
    return matrix


def build_classification(viewer: User | None, request: ReportRequest) -> Report:
    today = _today()
    date_to = request.date_to or request.as_of
    date_from = request.date_from or date_to.replace(day=1)
    rows_in = buckets(viewer, date_to, office_ids=request.office_ids, officer_id=request.officer_id,
                      product_id=request.product_id, today=today)
    loans: dict[str, int] = defaultdict(int)
    fen: dict[str, int] = defaultdict(int)
    for _key, cls, _bucket, n, principal in rows_in:
        loans[cls] += n
        fen[cls] += principal
    all_loans, all_fen = sum(loans.values()), sum(fen.values())
    matrix = migration(viewer, request, date_from, date_to, today)
    translate = reporting.translator()
    targets = [*CLASSES, "left"]
    rows: list[dict[str, Any]] = []
    for cls in CLASSES:
        row: dict[str, Any] = {"classification": translate(CLASS_LABELS[cls]), "loans": loans[cls],
                               "outstanding_principal": reporting.fen_to_yuan(fen[cls]),
                               "loans_share": reporting.share(loans[cls], all_loans),
                               "principal_share": reporting.share(fen[cls], all_fen)}
        if matrix is not None:
            row["from_loans"] = sum(matrix[cls].values())
            row.update({f"to_{target}": matrix[cls][target] for target in targets})
        rows.append(row)
    if matrix is not None:
        rows.append({"classification": translate(NEW_ROW), "loans": None, "outstanding_principal": None,
                     "loans_share": None, "principal_share": None, "from_loans": None,
                     **{f"to_{target}": matrix["new"][target] for target in targets}})
    columns = [Column("classification", N_("Class")), Column("loans", N_("Loans"), "int"),
               Column("outstanding_principal", N_("Outstanding principal"), "money"),
               Column("loans_share", N_("Share of loans"), "percent"),
               Column("principal_share", N_("Share of principal"), "percent")]
    totals: dict[str, Any] = {"loans": all_loans, "outstanding_principal": reporting.fen_to_yuan(all_fen),
                              "loans_share": reporting.share(all_loans, all_loans),
                              "principal_share": reporting.share(all_fen, all_fen)}
    notes = [*CLASS_NOTES, *snapshots.today_notes(date_to, today)]
    if matrix is not None:
        columns += [Column("from_loans", N_("Loans on From"), "int")]
        columns += [Column(f"to_{target}", TO_LABELS[target], "int") for target in targets]
        totals["from_loans"] = sum(r["from_loans"] for r in rows[:len(CLASSES)])
        totals.update({f"to_{target}": sum(r[f"to_{target}"] for r in rows) for target in targets})
    else:
        notes.append(NO_MATRIX)
    return Report("classification", CLASS_TITLE, request, columns, rows, totals, notes)


reporting.register(ReportSpec("classification", CLASS_TITLE, build_classification, period=True, by=(),
                              description=N_("Loans and balances in each of the five categories, and how many "
                                             "moved from one to another between two dates.")))


# --- upcoming: what the schedules expect in the coming days ------------------------------------

UPCOMING_TITLE = N_("Upcoming dues")
HORIZONS = (7, 30, 90)
UPCOMING_NOTE = N_("What the schedules still expect after the as-of day, up to the horizon (7, 30 or 90 "
                   "days): principal and interest not yet paid, installment by installment. Arrears "
                   "already due and penalty interest are not included (see the arrears list).")


def _horizon(request: ReportRequest) -> int:
    raw = (request.extra.get("days") or "30").strip()
    if raw not in {str(days) for days in HORIZONS}:
        raise ReportRequestError("bad_horizon", N_("Choose 7, 30 or 90 days ahead."))
    return int(raw)


def build_upcoming(viewer: User | None, request: ReportRequest) -> Report:
    today = _today()
    if request.as_of != today:
        raise ReportRequestError("upcoming_today_only", N_("Upcoming dues are counted from today's schedules: "
                                                           "leave As of empty."))
    days = _horizon(request)
    end = request.as_of + timedelta(days=days)
    by = request.by or "week"
    group = {"branch": "office"}.get(by, by)
    principal = func.sum(type_coerce(Installment.principal_due, BigInteger)
                         - type_coerce(Installment.principal_paid, BigInteger))
    interest = func.sum(type_coerce(Installment.interest_due, BigInteger)
                        - type_coerce(Installment.interest_paid, BigInteger))
    key = getattr(Loan, f"{group}_id") if group in ("office", "officer", "product") else literal(None)
    query = (select(key, Installment.due_date, func.count(), principal, interest)
             .join(Loan, Loan.id == Installment.loan_id)
             .where(Loan.status == "active", Installment.paid_off_on.is_(None),
                    Installment.due_date > request.as_of, Installment.due_date <= end,
                    reporting.reach(viewer, Loan),
                    *_filters(Loan, office_ids=request.office_ids, officer_id=request.officer_id,
                              product_id=request.product_id))
             .group_by(*([key] if group in ("office", "officer", "product") else []), Installment.due_date))
    branch = reporting.branch_of() if by == "branch" else {}
    sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    for k, due, count, p, i in db.session.execute(query):
        if by == "week":
            monday = due - timedelta(days=due.weekday())
            k = (max(monday, request.as_of + timedelta(days=1)), min(monday + timedelta(days=6), end))
        elif by == "month":
            k = due.strftime("%Y-%m")
        elif by == "branch":
            k = branch.get(k, k)
        figures = sums[k]
        figures[0] += int(count)
        figures[1] += int(p or 0)
        figures[2] += int(i or 0)

    def line(figures: list[int]) -> dict[str, Any]:
        return {"installments": figures[0], "principal": reporting.fen_to_yuan(figures[1]),
                "interest": reporting.fen_to_yuan(figures[2]), "amount": reporting.fen_to_yuan(figures[1] + figures[2])}

    if by in ("week", "month"):
        keys = sorted(sums)
        labels = {k: (f"{k[0].isoformat()} – {k[1].isoformat()}" if by == "week" else k) for k in keys}
    else:
        labels = reporting.group_names(by, sums)
        keys = sorted(sums, key=lambda k: (labels.get(k, ""), k or 0))
    rows = [{"group": labels.get(k, str(k)), **line(sums[k])} for k in keys]
    whole = [sum(f[n] for f in sums.values()) for n in range(3)]
    columns = [*reporting.group_columns(by), Column("installments", N_("Installments"), "int"),
               Column("principal", N_("Principal"), "money"), Column("interest", N_("Interest"), "money"),
               Column("amount", N_("Amount"), "money")]
    return Report("upcoming", UPCOMING_TITLE, request, columns, rows, line(whole), [UPCOMING_NOTE])


reporting.register(ReportSpec("upcoming", UPCOMING_TITLE, build_upcoming, by=("week", "month", *reporting.BY),
                              description=N_("Principal and interest the schedules expect in the next 7, 30 or "
                                             "90 days, by week or month.")))
