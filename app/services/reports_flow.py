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
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (BigInteger, Integer, String, and_, case, column, exists, extract, func, literal, or_,
                        select, table, true, type_coerce)
from sqlalchemy.sql.elements import quoted_name
from sqlalchemy.orm import aliased

from app.domain.i18n import N_
from app.extensions import db
from app.models import Installment, Loan, Office, Product, Repayment, User
from app.services import reporting
from app.services.reporting import Column, Report, ReportRequest, ReportSpec

# The allocation components that pay principal or interest (not penalty, not an overpayment).
PAID_COMPONENTS = ("overdue_interest", "overdue_principal", "current_interest", "current_principal",
                   "prepaid_principal")


def _fen(column):
    """A Money column as the raw integer fen the database holds (the Money type would give yuan)."""
    return type_coerce(column, BigInteger)


def _int(value: Any) -> int:
    return int(value or 0)


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


def _branch_of() -> dict[int, int]:
    """Each office's branch: itself for a branch or the head office, else the branch above it
    (an office straight under the head office stands for itself)."""
    offices = db.session.execute(select(Office.id, Office.parent_id, Office.kind)).all()
    kind = {o.id: o.kind for o in offices}
    parent = {o.id: o.parent_id for o in offices}
    found = {}
    for office_id in kind:
        current = office_id
        while kind.get(current) == "office" and parent.get(current) is not None \
                and kind.get(parent[current]) != "head_office":
            current = parent[current]
        found[office_id] = current
    return found


def _labels(by: str | None, keys: Iterable[int]) -> dict[int, str]:
    keys = sorted(set(keys))
    if not by or not keys:
        return {}
    if by in ("office", "branch"):
        rows = db.session.execute(select(Office.id, Office.name).where(Office.id.in_(keys)))
    elif by == "officer":
        rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(keys)))
    else:
        rows = db.session.execute(select(Product.id, Product.name).where(Product.id.in_(keys)))
    return {key: name for key, name in rows.tuples()}


def _fold(by: str | None, grouped: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
    """Sum per-office figures into their branches when the breakdown is by branch."""
    if by != "branch":
        return grouped
    branch = _branch_of()
    folded: dict[int, dict[str, int]] = {}
    for office_id, figures in grouped.items():
        into = folded.setdefault(branch.get(office_id, office_id), {})
        for key, value in figures.items():
            into[key] = into.get(key, 0) + value
    return folded


def _key_column(by: str | None) -> list[Column]:
    if not by:
        return []
    label = {"office": N_("Office"), "branch": N_("Branch"), "officer": N_("Officer"),
             "product": N_("Product")}[by]
    return [Column("group", label)]


def _filters(request: ReportRequest, viewer: User | None, model=Loan) -> list:
    conditions = [reporting.reach(viewer, model), reporting.office_filter(request, model.office_id)]
    if request.officer_id is not None:
        conditions.append(model.officer_id == request.officer_id)
    if request.product_id is not None:
        conditions.append(model.product_id == request.product_id)
    return conditions


def _office_ids_filter(office_ids, column):
    return true() if office_ids is None else column.in_(sorted(office_ids))


def _month_key(column):
    return extract("year", column) * 12 + extract("month", column) - 1


def _month_of(key: int) -> date:
    return date(int(key) // 12, int(key) % 12 + 1, 1)


def _month_end(month: date) -> date:
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return following - timedelta(days=1)


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
    amount = _fen(Loan.principal)
    rows = db.session.execute(
        _keyed(select(_key_or_zero(key), func.count(Loan.id), func.sum(amount),
                      func.sum(case((repeat, 0), else_=1)), func.sum(case((repeat, 0), else_=amount)))
               .where(Loan.disbursed_on >= request.date_from, Loan.disbursed_on <= request.date_to,
                      *_filters(request, viewer)), key)
    ).all()
    return _fold(request.by, {_int(k): {"loans": _int(n), "amount": _int(a), "first_loans": _int(fn),
                                        "first_amount": _int(fa)} for k, n, a, fn, fa in rows})


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
    labels = _labels(request.by, grouped)
    rows = []
    if request.by:
        for key in sorted(grouped, key=lambda k: (labels.get(k, ""), k)):
            rows.append({"group": labels.get(key, str(key))} | _disbursement_row(grouped[key]))
    total: dict[str, int] = {}
    for figures in grouped.values():
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    columns = _key_column(request.by) + [
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


def disbursed_monthly(viewer: User | None, months: list[date], office_ids=None) -> list[dict]:
    """Loans paid out in each of ``months`` (each a month's first day): count and amount (yuan)."""
    if not months:
        return []
    first, last = min(months).replace(day=1), _month_end(max(months))
    key = _month_key(Loan.disbursed_on)
    rows = db.session.execute(
        select(key, func.count(Loan.id), func.sum(_fen(Loan.principal)))
        .where(Loan.disbursed_on >= first, Loan.disbursed_on <= last, reporting.reach(viewer, Loan),
               _office_ids_filter(office_ids, Loan.office_id))
        .group_by(key)
    ).all()
    found = {_month_of(k): (n, a) for k, n, a in rows}
    return [{"month": m.replace(day=1), "loans": _int(found.get(m.replace(day=1), (0, 0))[0]),
             "amount": reporting.fen_to_yuan(found.get(m.replace(day=1), (0, 0))[1])} for m in months]


# --- collection -------------------------------------------------------------------------------


def _allocation_parts():
    """A FROM item that unfolds each repayment's allocation (``{"parts": [[seq, component, fen],
    ...]}``) into rows, and its seq, component and fen columns: JSON_TABLE on MariaDB, json_each on
    SQLite. It reads ``repayments.allocation``: join it after ``repayments``."""
    if db.session.get_bind().dialect.name == "sqlite":
        source = table(quoted_name("json_each(repayments.allocation, '$.parts')", quote=False),
                       column("value")).alias("part")
        value = source.c.value
        return (source, type_coerce(func.json_extract(value, "$[0]"), Integer),
                type_coerce(func.json_extract(value, "$[1]"), String),
                type_coerce(func.json_extract(value, "$[2]"), BigInteger))
    source = table(quoted_name("JSON_TABLE(repayments.allocation, '$.parts[*]' COLUMNS ("
                               "part_seq INT PATH '$[0]', part_component VARCHAR(30) PATH '$[1]', "
                               "part_fen BIGINT PATH '$[2]'))", quote=False),
                   column("part_seq", Integer), column("part_component", String),
                   column("part_fen", BigInteger)).alias("part")
    return source, source.c.part_seq, source.c.part_component, source.c.part_fen


def _collection(conditions: list, key, *, due_from: date, due_to: date, counted) -> dict[int, dict[str, int]]:
    """Due, on time and late per group key, for installments due in [due_from, due_to] of the
    loans ``conditions`` select. ``counted``: the SQL condition a repayment's date meets to count
    (paid by the period's last day; for the monthly series, by the end of the installment's month)."""
    window = [Installment.due_date >= due_from, Installment.due_date <= due_to]
    due_rows = db.session.execute(_keyed(
        select(_key_or_zero(key), func.count(Installment.id),
               func.sum(_fen(Installment.principal_due) + _fen(Installment.interest_due)))
        .join(Loan, Loan.id == Installment.loan_id)
        .where(*window, *conditions), key)
    ).all()
    source, seq, component, fen = _allocation_parts()
    on_time = Repayment.paid_on <= Installment.due_date
    paid_rows = db.session.execute(_keyed(
        select(_key_or_zero(key), func.sum(case((on_time, fen), else_=0)), func.sum(case((on_time, 0), else_=fen)))
        .select_from(Installment)
        .join(Loan, Loan.id == Installment.loan_id)
        .join(Repayment, Repayment.loan_id == Loan.id)
        .join(source, true())
        .where(*window, *conditions, Repayment.reversed_at.is_(None), seq == Installment.seq,
               component.in_(PAID_COMPONENTS), counted), key)
    ).all()
    grouped: dict[int, dict[str, int]] = {}
    for k, count, due in due_rows:
        grouped[_int(k)] = {"installments": _int(count), "due": _int(due), "on_time": 0, "late": 0}
    for k, early, late in paid_rows:
        figures = grouped.setdefault(_int(k), {"installments": 0, "due": 0, "on_time": 0, "late": 0})
        figures["on_time"] += _int(early)
        figures["late"] += _int(late)
    return grouped


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
    grouped = _fold(request.by, _collection(_filters(request, viewer), key, due_from=request.date_from,
                                            due_to=request.date_to,
                                            counted=Repayment.paid_on <= request.date_to))
    labels = _labels(request.by, grouped)
    rows = []
    if request.by:
        for k in sorted(grouped, key=lambda k: (labels.get(k, ""), k)):
            rows.append({"group": labels.get(k, str(k))} | _collection_row(grouped[k]))
    total: dict[str, int] = {}
    for figures in grouped.values():
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    columns = _key_column(request.by) + [
        Column("installments", N_("Installments due"), "int"), Column("due", N_("Due"), "money"),
        Column("on_time", N_("Collected on time"), "money"), Column("late", N_("Collected late"), "money"),
        Column("unpaid", N_("Still unpaid"), "money"), Column("rate", N_("Collection rate (%)"), "percent"),
        Column("on_time_rate", N_("On-time rate (%)"), "percent"),
    ]
    return Report("collection", N_("Expected vs collected"), request, columns, rows, _collection_row(total),
                  notes=[COLLECTION_NOTE])


def collection_monthly(viewer: User | None, months: list[date], office_ids=None) -> list[dict]:
    """For each of ``months``: what fell due in the month and what of it was collected by the
    month's end (on time or late), in yuan, and the rate — the collection report of that month."""
    if not months:
        return []
    first, last = min(months).replace(day=1), _month_end(max(months))
    key = _month_key(Installment.due_date)
    conditions = [reporting.reach(viewer, Loan), _office_ids_filter(office_ids, Loan.office_id)]
    # A late payment counts up to the end of the installment's own month.
    grouped = _collection(conditions, key, due_from=first, due_to=last,
                          counted=_month_key(Repayment.paid_on) <= key)
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
