"""The books read back: trial balance, general ledger per account, journal, balance sheet, income
statement and the voucher export (凭证) that Chinese accounting packages import.

Fast by construction: an account's totals through a day are the closed days' ``AccountDayTotal``
rows (one per account and day that had lines, kept by the day-end close) plus the lines posted
after the last closed day — never every line. Amounts are integer fen inside, Decimal yuan in the
rows handed to the screens and the exports; never float.

Each report is also a ``reporting.Report`` (``as_report``) so that ``exports`` writes it as CSV or
XLSX with its title and filters above the table. The voucher export has no such preamble: its first
row is the header the accounting packages look for (``VOUCHER_HEADERS``).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, func, select, type_coerce

from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import from_fen, to_fen
from app.extensions import db
from app.models import Account, AccountDayTotal, JournalEntry, JournalLine, LedgerBook, Loan
from app.services.errors import ServiceError
from app.services.reporting import Column, Report, ReportRequest

VOUCHER_HEADERS = ("凭证号", "日期", "摘要", "科目编码", "科目名称", "借方金额", "贷方金额")
VOUCHER_WORD = "记"  # 记账凭证: the voucher word of the numbers, 记-0001
MAX_PERIOD_DAYS = 366
CENT = Decimal("0.01")


class LedgerReportError(ServiceError):
    """A report asked for with dates that cannot be honoured, or an account that does not exist."""


# --- totals through a day ---------------------------------------------------------------------------


def closed_through() -> date | None:
    book = db.session.get(LedgerBook, 1)
    return book.days_closed_through if book is not None else None


def _sum(column):
    """SUM of a Money column in raw fen (the Money type would hand back yuan)."""
    return func.coalesce(func.sum(type_coerce(column, BigInteger)), 0)


def totals_through(day: date, account_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """Each account's (debit, credit) in fen posted on or before ``day``: the closed days' totals up
    to min(day, closed through), plus the lines posted after the last closed day up to ``day``."""
    closed = closed_through()
    totals: dict[int, list[int]] = {}

    def add(rows):
        for account_id, debit, credit in rows:
            t = totals.setdefault(account_id, [0, 0])
            t[0] += int(debit)
            t[1] += int(credit)

    if closed is not None:
        q = (select(AccountDayTotal.account_id, _sum(AccountDayTotal.debit), _sum(AccountDayTotal.credit))
             .where(AccountDayTotal.day <= min(day, closed)).group_by(AccountDayTotal.account_id))
        if account_ids is not None:
            q = q.where(AccountDayTotal.account_id.in_(account_ids))
        add(db.session.execute(q))
    q = (select(JournalLine.account_id, _sum(JournalLine.debit), _sum(JournalLine.credit))
         .where(JournalLine.posting_date <= day).group_by(JournalLine.account_id))
    if closed is not None:
        q = q.where(JournalLine.posting_date > closed)
    if account_ids is not None:
        q = q.where(JournalLine.account_id.in_(account_ids))
    add(db.session.execute(q))
    return {k: (v[0], v[1]) for k, v in totals.items()}


def _accounts() -> list[Account]:
    return list(db.session.scalars(select(Account).order_by(Account.code)))


# --- trial balance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceRow:
    code: str
    name: str
    kind: str
    side: str
    debit: int    # fen: every debit posted through the day
    credit: int   # fen: every credit
    balance: int  # fen, on the account's normal side (negative: it stands on the other side)
    is_active: bool = True


@dataclass
class TrialBalance:
    as_of: date
    accounts: list[BalanceRow]          # on the balance sheet
    off_balance: list[BalanceRow] = field(default_factory=list)  # 表外, shown apart, balanced among themselves
    debit: int = 0                      # fen: totals of every row (on- and off-balance)
    credit: int = 0
    on_balance_debit: int = 0           # fen: totals of ``accounts`` alone
    on_balance_credit: int = 0

    @property
    def balanced(self) -> bool:
        """The debits equal the credits, of all accounts and of the on-balance accounts alone."""
        return self.debit == self.credit and self.on_balance_debit == self.on_balance_credit

    def as_json(self) -> dict[str, Any]:
        """``{"as_of", "accounts": [{"code", "name", "debit", "credit", "balance"}], "totals": {"debit",
        "credit"}}``, amounts as strings in yuan with two decimals; the off-balance accounts follow the
        others and the totals are the sums of every row listed."""
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": [{"code": r.code, "name": r.name, "debit": yuan(r.debit), "credit": yuan(r.credit),
                          "balance": yuan(r.balance)} for r in self.rows],
            "totals": {"debit": yuan(self.debit), "credit": yuan(self.credit)},
        }

    @property
    def rows(self) -> list[BalanceRow]:
        return [*self.accounts, *self.off_balance]


def yuan(fen: int) -> str:
    """Fen as a string of yuan with two decimals: 12345 → "123.45", -5 → "-0.05"."""
    return f"{from_fen(fen).quantize(CENT)}"


def trial_balance(as_of: date) -> TrialBalance:
    """Every active account, and every retired one with postings through ``as_of``: its debits and
    credits through that day and its balance on its normal side; the totals (equal when the books
    balance)."""
    totals = totals_through(as_of)
    tb = TrialBalance(as_of=as_of, accounts=[])
    for account in _accounts():
        debit, credit = totals.get(account.id, (0, 0))
        if not account.is_active and not debit and not credit:
            continue
        row = BalanceRow(account.code, account.name, account.kind, account.side, debit, credit,
                         books.balance_of(account.side, debit, credit), account.is_active)
        if account.kind == "off_balance":
            tb.off_balance.append(row)
        else:
            tb.accounts.append(row)
            tb.on_balance_debit += debit
            tb.on_balance_credit += credit
        tb.debit += debit
        tb.credit += credit
    return tb


def balance(code: str, as_of: date) -> int:
    """One account's balance on its normal side through ``as_of`` (fen)."""
    account = account_by_code(code)
    debit, credit = totals_through(as_of, [account.id]).get(account.id, (0, 0))
    return books.balance_of(account.side, debit, credit)


def account_by_code(code: str) -> Account:
    account = db.session.scalar(select(Account).where(Account.code == (code or "").strip()))
    if account is None:
        raise LedgerReportError("unknown_account", N_("There is no account with code %(account)s."), account=code)
    return account


# --- periods ----------------------------------------------------------------------------------------


def check_period(start: date, end: date) -> None:
    if end < start:
        raise LedgerReportError("bad_period", N_("The period's last day comes before its first day."))
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise LedgerReportError("period_too_long", N_("A period is at most one year."))


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


# --- general ledger per account -----------------------------------------------------------------------


@dataclass
class AccountLedger:
    account: Account
    start: date
    end: date
    opening: int                   # fen, normal side, through the day before ``start``
    lines: list[dict[str, Any]]    # voucher, date, summary, debit, credit, balance (Decimal yuan)
    debit: int = 0
    credit: int = 0
    closing: int = 0


def _summary(entry: JournalEntry, contract: str | None, translate: Callable[[str], str]) -> str:
    if entry.memo:
        return entry.memo
    label = translate(books.ENTRY_KINDS.get(entry.kind, entry.kind))
    return f"{label} {contract}" if contract else label


def _contracts(loan_ids) -> dict[int, str]:
    ids = sorted({i for i in loan_ids if i is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(Loan.id, Loan.contract_no).where(Loan.id.in_(ids))).tuples().all())


def voucher_numbers(start: date, end: date) -> dict[int, str]:
    """Entry id → voucher number for the entries posted in [start, end]. Numbered per month (记-0001
    is each month's first voucher) in the order of posting date then id, so a voucher keeps its
    number whatever period is asked for (a closed day takes no new entry)."""
    first = start.replace(day=1)
    rows = db.session.execute(select(JournalEntry.id, JournalEntry.posting_date)
                              .where(JournalEntry.posting_date.between(first, end))
                              .order_by(JournalEntry.posting_date, JournalEntry.id)).all()
    numbers: dict[int, str] = {}
    month, n = None, 0
    for entry_id, day in rows:
        if (day.year, day.month) != month:
            month, n = (day.year, day.month), 0
        n += 1
        if day >= start:
            numbers[entry_id] = f"{VOUCHER_WORD}-{n:04d}"
    return numbers


def general_ledger(code: str, start: date, end: date, translate: Callable[[str], str] = str) -> AccountLedger:
    check_period(start, end)
    account = account_by_code(code)
    before = totals_through(start - timedelta(days=1), [account.id]).get(account.id, (0, 0))
    opening = books.balance_of(account.side, *before)
    rows = db.session.execute(
        select(JournalLine, JournalEntry).join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account.id, JournalLine.posting_date.between(start, end))
        .order_by(JournalLine.posting_date, JournalLine.entry_id, JournalLine.id)).all()
    numbers = voucher_numbers(start, end)
    contracts = _contracts(entry.loan_id for _line, entry in rows)
    ledger = AccountLedger(account, start, end, opening, [])
    running = opening
    for line, entry in rows:
        d, c = to_fen(line.debit), to_fen(line.credit)
        running += books.balance_of(account.side, d, c)
        ledger.debit += d
        ledger.credit += c
        ledger.lines.append({"voucher": numbers.get(entry.id, ""), "entry_id": entry.id, "date": line.posting_date,
                             "value_date": line.value_date,
                             "summary": _summary(entry, contracts.get(entry.loan_id), translate),
                             "debit": from_fen(d) if d else None, "credit": from_fen(c) if c else None,
                             "balance": from_fen(running)})
    ledger.closing = running
    return ledger


# --- journal ------------------------------------------------------------------------------------------

JOURNAL_LIMIT = 500  # entries on one screen; the exports carry the whole period


@dataclass
class JournalView:
    start: date
    end: date
    entries: list[dict[str, Any]]   # voucher, entry, summary, lines: [{code, name, debit, credit}]
    more: bool = False
    reversed_ids: set[int] = field(default_factory=set)


def journal(start: date, end: date, translate: Callable[[str], str] = str, *, limit: int | None = JOURNAL_LIMIT) -> JournalView:
    check_period(start, end)
    q = (select(JournalEntry).where(JournalEntry.posting_date.between(start, end))
         .order_by(JournalEntry.posting_date, JournalEntry.id))
    if limit is not None:
        q = q.limit(limit + 1)
    entries = list(db.session.scalars(q))
    view = JournalView(start, end, [], more=limit is not None and len(entries) > limit)
    entries = entries[:limit] if limit is not None else entries
    numbers = voucher_numbers(start, end)
    contracts = _contracts(e.loan_id for e in entries)
    ids = [e.id for e in entries]
    if ids:
        view.reversed_ids = set(db.session.scalars(select(JournalEntry.reverses_id)
                                                    .where(JournalEntry.reverses_id.in_(ids))))
    accounts = {a.id: a for a in _accounts()}
    lines_by_entry: dict[int, list[JournalLine]] = {}
    if ids:
        for line in db.session.scalars(select(JournalLine).where(JournalLine.entry_id.in_(ids)).order_by(JournalLine.id)):
            lines_by_entry.setdefault(line.entry_id, []).append(line)
    for e in entries:
        view.entries.append({
            "id": e.id, "voucher": numbers[e.id], "date": e.posting_date, "value_date": e.value_date, "kind": e.kind,
            "summary": _summary(e, contracts.get(e.loan_id), translate), "reverses_id": e.reverses_id,
            "reversed": e.id in view.reversed_ids,
            "lines": [{"code": accounts[ln.account_id].code, "name": accounts[ln.account_id].name,
                       "debit": ln.debit if ln.debit else None, "credit": ln.credit if ln.credit else None}
                      for ln in lines_by_entry.get(e.id, [])],
        })
    return view


def voucher_rows(start: date, end: date, translate: Callable[[str], str] = str) -> list[tuple]:
    """The voucher export's rows (after ``VOUCHER_HEADERS``): one per line, the entries of the period
    in id order numbered 记-0001…, amounts as two-decimal strings (empty on the other side)."""
    view = journal(start, end, translate, limit=None)
    rows = []
    for e in view.entries:
        for ln in e["lines"]:
            rows.append((e["voucher"], e["date"].isoformat(), e["summary"], ln["code"], ln["name"],
                         f"{ln['debit'].quantize(CENT)}" if ln["debit"] else "",
                         f"{ln['credit'].quantize(CENT)}" if ln["credit"] else ""))
    return rows


def write_vouchers(rows: list[tuple], fmt: str, out) -> int:
    """The voucher file: the header row first (no title above it), then one row per line."""
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        w = csv.writer(text)
        w.writerow(VOUCHER_HEADERS)
        for row in rows:
            w.writerow(["'" + v if isinstance(v, str) and re.match(r"^[=+\-@\t\r]", v) else v for v in row])
        text.flush()
        text.detach()
        return len(rows)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "凭证"
    ws.append(list(VOUCHER_HEADERS))
    for voucher, day, summary, code, name, debit, credit in rows:
        ws.append([voucher, date.fromisoformat(day), summary, code, name,
                   Decimal(debit) if debit else None, Decimal(credit) if credit else None])
        r = ws.max_row
        ws.cell(r, 2).number_format = "yyyy-mm-dd"
        for c in (6, 7):
            ws.cell(r, c).number_format = "0.00"
    wb.save(out)
    return len(rows)


def voucher_file(viewer_id: int | None, start: date, end: date, fmt: str, *, ip: str = "",
                 translate: Callable[[str], str] = str) -> tuple[bytes, str]:
    """The voucher export of [start, end] as CSV or XLSX bytes and its file name; audited, committed."""
    from app.services import audit

    check_period(start, end)
    if fmt not in ("csv", "xlsx"):
        raise LedgerReportError("bad_format", N_("A report downloads as CSV or XLSX."))
    rows = voucher_rows(start, end, translate)
    out = io.BytesIO()
    write_vouchers(rows, fmt, out)
    audit.record("report.exported", actor_id=viewer_id, object_type="report", ip=ip, report="vouchers",
                 filters={"from": start.isoformat(), "to": end.isoformat()}, rows=len(rows), format=fmt, personal=False)
    db.session.commit()
    return out.getvalue(), f"凭证_{start.isoformat()}_{end.isoformat()}.{fmt}"


# --- balance sheet and income statement ------------------------------------------------------------


@dataclass
class Statement:
    sections: list[tuple[str, list[tuple[str, str, int]], int]]  # (N_ label, [(code, name, fen)], total fen)
    figures: dict[str, int]  # the statement's totals by name (fen)


def _signed_balances(totals: dict[int, tuple[int, int]]) -> list[tuple[Account, int]]:
    out = []
    for account in _accounts():
        d, c = totals.get(account.id, (0, 0))
        if not d and not c:
            continue
        # Positive where the section normally stands: assets on the debit side, the rest on the credit
        # side (a contra account such as 贷款损失准备 shows negative among the assets).
        out.append((account, d - c if account.kind in ("asset", "expense") else c - d))
    return out


def balance_sheet(as_of: date) -> Statement:
    """Assets = liabilities + equity + the result not yet carried to equity (income − expense)."""
    by_kind: dict[str, list[tuple[str, str, int]]] = {k: [] for k in books.KINDS}
    for account, amount in _signed_balances(totals_through(as_of)):
        by_kind[account.kind].append((account.code, account.name, amount))
    total = {k: sum(a for _c, _n, a in rows) for k, rows in by_kind.items()}
    result = total["income"] - total["expense"]
    figures = {"assets": total["asset"], "liabilities": total["liability"], "equity": total["equity"],
               "result": result, "liabilities_equity": total["liability"] + total["equity"] + result}
    sections = [(books.KINDS["asset"], by_kind["asset"], total["asset"]),
                (books.KINDS["liability"], by_kind["liability"], total["liability"]),
                (books.KINDS["equity"], by_kind["equity"] + [("", N_("Result of the year not yet carried"), result)],
                 total["equity"] + result)]
    return Statement(sections, figures)


def income_statement(start: date, end: date) -> Statement:
    """Income and expense posted in [start, end], and the result (income − expense)."""
    check_period(start, end)
    after = totals_through(end)
    before = totals_through(start - timedelta(days=1))
    moved = {k: (after.get(k, (0, 0))[0] - before.get(k, (0, 0))[0], after.get(k, (0, 0))[1] - before.get(k, (0, 0))[1])
             for k in after}
    rows: dict[str, list[tuple[str, str, int]]] = {"income": [], "expense": []}
    for account, amount in _signed_balances(moved):
        if account.kind in rows:
            rows[account.kind].append((account.code, account.name, amount))
    income = sum(a for *_x, a in rows["income"])
    expense = sum(a for *_x, a in rows["expense"])
    return Statement([(books.KINDS["income"], rows["income"], income), (books.KINDS["expense"], rows["expense"], expense)],
                     {"income": income, "expense": expense, "result": income - expense})


# --- the same as reports for the exports ------------------------------------------------------------

MONEY_COLUMNS = (Column("debit", N_("Debit"), "money"), Column("credit", N_("Credit"), "money"))


def _request(name: str, as_of: date, start: date | None = None, end: date | None = None, **extra) -> ReportRequest:
    return ReportRequest(name=name, as_of=as_of, date_from=start, date_to=end, extra=extra)


def trial_balance_report(as_of: date) -> Report:
    tb = trial_balance(as_of)
    rows = [{"code": r.code, "name": r.name, "debit": from_fen(r.debit), "credit": from_fen(r.credit),
             "balance": from_fen(r.balance)} for r in tb.rows]
    return Report("trial_balance", N_("Trial balance"), _request("trial_balance", as_of),
                  [Column("code", N_("Account code")), Column("name", N_("Account name")), *MONEY_COLUMNS,
                   Column("balance", N_("Account balance"), "money")], rows,
                  totals={"debit": from_fen(tb.debit), "credit": from_fen(tb.credit)},
                  notes=[N_("Off-balance accounts are listed last; they balance among themselves.")] if tb.off_balance else [])


def general_ledger_report(code: str, start: date, end: date, translate: Callable[[str], str] = str) -> Report:
    gl = general_ledger(code, start, end, translate)
    rows = [{"voucher": "", "date": start, "summary": translate(N_("Opening balance")), "balance": from_fen(gl.opening)},
            *gl.lines,
            {"voucher": "", "date": end, "summary": translate(N_("Closing balance")), "debit": from_fen(gl.debit),
             "credit": from_fen(gl.credit), "balance": from_fen(gl.closing)}]
    return Report("general_ledger", N_("General ledger"), _request("general_ledger", end, start, end, account=gl.account.code),
                  [Column("voucher", N_("Voucher no.")), Column("date", N_("Date"), "date"),
                   Column("summary", N_("Summary")), *MONEY_COLUMNS, Column("balance", N_("Account balance"), "money")], rows)


def journal_report(start: date, end: date, translate: Callable[[str], str] = str, *, limit: int | None = None) -> Report:
    """One row per line; the first line of an entry carries ``entry_id``, ``kind`` and ``reversed``
    (the screen offers the reversal of a manual entry there)."""
    view = journal(start, end, translate, limit=limit)
    rows = [{"voucher": e["voucher"], "date": e["date"], "summary": e["summary"], "code": ln["code"], "name": ln["name"],
             "debit": ln["debit"], "credit": ln["credit"],
             **({"entry_id": e["id"], "kind": e["kind"], "reversed": e["reversed"]} if i == 0 else {})}
            for e in view.entries for i, ln in enumerate(e["lines"])]
    notes = [N_("Only the first entries are shown; the download carries the whole period.")] if view.more else []
    return Report("journal", N_("Journal"), _request("journal", end, start, end),
                  [Column("voucher", N_("Voucher no.")), Column("date", N_("Date"), "date"), Column("summary", N_("Summary")),
                   Column("code", N_("Account code")), Column("name", N_("Account name")), *MONEY_COLUMNS], rows, notes=notes)


def _statement_rows(statement: Statement, translate) -> list[dict[str, Any]]:
    rows = []
    for label, lines, total in statement.sections:
        for code, name, amount in lines:
            rows.append({"section": translate(label), "code": code, "name": translate(name) if not code else name,
                         "amount": from_fen(amount)})
        rows.append({"section": translate(label), "code": "", "name": translate(N_("Total")), "amount": from_fen(total)})
    return rows


def balance_sheet_report(as_of: date, translate: Callable[[str], str] = str) -> Report:
    bs = balance_sheet(as_of)
    return Report("balance_sheet", N_("Balance sheet"), _request("balance_sheet", as_of),
                  [Column("section", N_("Section")), Column("code", N_("Account code")), Column("name", N_("Account name")),
                   Column("amount", N_("Amount"), "money")], _statement_rows(bs, translate))


def income_statement_report(start: date, end: date, translate: Callable[[str], str] = str) -> Report:
    st = income_statement(start, end)
    rows = _statement_rows(st, translate)
    rows.append({"section": "", "code": "", "name": translate(N_("Result (income less expense)")),
                 "amount": from_fen(st.figures["result"])})
    return Report("income_statement", N_("Income statement"), _request("income_statement", end, start, end),
                  [Column("section", N_("Section")), Column("code", N_("Account code")), Column("name", N_("Account name")),
                   Column("amount", N_("Amount"), "money")], rows)
