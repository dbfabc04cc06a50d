"""The ledger's flows in SQL: what fell due and what was collected of it (on time, late), and what
was paid out — the one definition the collection and disbursement reports
(app/services/reports_flow.py) and the kept monthly figures (app/services/snapshots.py) share.

Collection is read exactly from the ledger (see reports_flow's docstring for the definition):
installments due in a period, and what standing repayments' allocations put on them, unfolded in
SQL (JSON_TABLE on MariaDB, json_each on SQLite). Every sum is integer fen.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, String, and_, case, column, func, literal, select, table, true, type_coerce
from sqlalchemy.sql.elements import quoted_name

from app.extensions import db
from app.models import Installment, Loan, Repayment

# The allocation components that pay principal or interest (not penalty, not an overpayment).
PAID_COMPONENTS = ("overdue_interest", "overdue_principal", "current_interest", "current_principal",
                   "prepaid_principal")


def fen_of(column):
    """A Money column as the raw integer fen the database holds (the Money type would give yuan)."""
    return type_coerce(column, BigInteger)


def whole(value: Any) -> int:
    return int(value or 0)


def month_end(month: date) -> date:
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def paid_out(conditions: list, key, *, date_from: date, date_to: date) -> dict:
    """Loans paid out in [date_from, date_to] of those ``conditions`` select, per group key (see
    ``grouping``): {"loans": count, "amount": fen}."""
    keys, width, heads, grouped_by, key_of = grouping(key)
    rows = db.session.execute(grouped_by(
        select(*heads, func.count(Loan.id), func.sum(fen_of(Loan.principal)))
        .where(Loan.disbursed_on >= date_from, Loan.disbursed_on <= date_to, *conditions))
    ).all()
    return {key_of(row): {"loans": whole(row[width]), "amount": whole(row[width + 1])} for row in rows}


def allocation_parts():
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


def grouping(key):
    """For a breakdown by ``key`` (None, a column, or a tuple of columns): the columns, how many
    lead each row, the SELECT's leading items, GROUP BY, and a row's key (an int, or a tuple of
    ints for several columns; 0 when there is no breakdown)."""
    keys = [] if key is None else list(key) if isinstance(key, (tuple, list)) else [key]
    width = max(len(keys), 1)

    def grouped_by(stmt):
        return stmt.group_by(*keys) if keys else stmt

    def key_of(row):
        return tuple(whole(v) for v in row[:width]) if len(keys) > 1 else whole(row[0])

    return keys, width, keys or [literal(0)], grouped_by, key_of


def collection(conditions: list, key, *, due_from: date, due_to: date, counted) -> dict[int, dict[str, int]]:
    """Due, on time and late per group key, for installments due in [due_from, due_to] of the
    loans ``conditions`` select (``key``: None, a column, or a tuple of columns, see ``grouping``). ``counted``: the SQL condition a repayment's date meets to count
    (paid by the period's last day; for the monthly series, by the end of the installment's month)."""
    window = [Installment.due_date >= due_from, Installment.due_date <= due_to]
    keys, width, heads, grouped_by, key_of = grouping(key)
    due_fen = fen_of(Installment.principal_due) + fen_of(Installment.interest_due)
    # Settled on or before its due date: all of it was collected on time (penalty cannot have
    # accrued), without reading the allocations. Nothing paid at all: nothing to read either.
    settled_on_time = and_(Installment.paid_off_on.is_not(None), Installment.paid_off_on <= Installment.due_date)
    touched = (fen_of(Installment.principal_paid) + fen_of(Installment.interest_paid)) > 0
    due_rows = db.session.execute(grouped_by(
        select(*heads, func.count(Installment.id), func.sum(due_fen),
               func.sum(case((settled_on_time, due_fen), else_=0)))
        .join(Loan, Loan.id == Installment.loan_id)
        .where(*window, *conditions))
    ).all()
    source, seq, component, fen = allocation_parts()
    on_time = Repayment.paid_on <= Installment.due_date
    paid_rows = db.session.execute(grouped_by(
        select(*heads, func.sum(case((on_time, fen), else_=0)), func.sum(case((on_time, 0), else_=fen)))
        .select_from(Installment)
        .join(Loan, Loan.id == Installment.loan_id)
        .join(Repayment, Repayment.loan_id == Loan.id)
        .join(source, true())
        .where(*window, *conditions, ~settled_on_time, touched, Repayment.reversed_at.is_(None),
               seq == Installment.seq, component.in_(PAID_COMPONENTS), counted))
    ).all()
    grouped: dict = {}
    for row in due_rows:
        count, due, quick = row[width:]
        grouped[key_of(row)] = {"installments": whole(count), "due": whole(due), "on_time": whole(quick), "late": 0}
    for row in paid_rows:
        early, late = row[width:]
        figures = grouped.setdefault(key_of(row), {"installments": 0, "due": 0, "on_time": 0, "late": 0})
        figures["on_time"] += whole(early)
        figures["late"] += whole(late)
    return grouped


def month_figures(month: date) -> list[dict]:
    """The figures kept of a closed month, per office × officer × product (``MonthlyFigures``
    columns, fen): the collection report of the month — the same query, ``_collection`` — and
    the loans paid out in it, over the whole institution, as the ledger stands now."""
    first, last = month.replace(day=1), month_end(month)
    keys = (Loan.office_id, Loan.officer_id, Loan.product_id)
    flows = collection([], keys, due_from=first, due_to=last, counted=Repayment.paid_on <= last)
    paid = paid_out([], keys, date_from=first, date_to=last)
    rows = []
    for office_id, officer_id, product_id in sorted(set(flows) | set(paid)):
        flow = flows.get((office_id, officer_id, product_id), {})
        out = paid.get((office_id, officer_id, product_id), {})
        rows.append({"month": first, "office_id": office_id, "officer_id": officer_id, "product_id": product_id,
                     "installments_due": flow.get("installments", 0), "due_fen": flow.get("due", 0),
                     "collected_on_time_fen": flow.get("on_time", 0), "collected_late_fen": flow.get("late", 0),
                     "disbursed_loans": out.get("loans", 0), "disbursed_fen": out.get("amount", 0)})
    return rows
