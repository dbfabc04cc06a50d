"""Importing an existing loan book from a workbook, and exporting the book back (issue 13).

``read`` streams the workbook (openpyxl, read-only) into ``app.domain.book.parse_book``; ``run``
then checks what needs the database — officers, offices, products, borrowers and loans already
here — and, unless it is a dry run or anything at all is wrong, writes the whole book in ONE
transaction: borrowers, an application per loan (disbursed, its timeline saying it was imported),
the loan, its schedule from the same engine as a disbursement here, its repayments replayed through
the same allocation (``app.domain.repayment.replay``) as recording them one by one, and one audit row
with the counts and the file's SHA-256. The edge then runs the daily job, which brings arrears,
penalties, classification and post-loan tasks up to date as for any loan.

Idempotent: a loan whose number (``Loan.contract_no``) is already here is not made again, nor a
repayment whose (loan, reference) is; a borrower already here (by ID number) is reused as it is.

Fast: everything it looks up is loaded once, rows go in with Core ``executemany`` in chunks with
ids given here (MySQL has no RETURNING), never through per-object ORM flushes.
"""
from __future__ import annotations

import hashlib
import re
import uuid as uuid_mod
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Integer, String, column, func, select, table
from sqlalchemy.exc import IntegrityError

from app import clock
from app.domain import book as dbook
from app.domain import repayment as rp
from app.domain.i18n import N_
from app.domain.money import from_fen
from app.domain.schedule import ScheduleError, ScheduleRequest, schedule_fen
from app.extensions import db
from app.models import Application, Borrower, Loan, Office, Product, Repayment, User, UserRole
from app.models.loans import ContractCounter
from app.services import audit
from app.services.errors import ServiceError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
CHUNK = 2000
IMPORT_COMMENT = "导入原有台账 (imported from the existing book, file SHA-256 %s)"


class BookRefused(ServiceError):
    """The file itself is refused before anything in it is read."""


def refuse_file(path: Path, max_bytes: int) -> None:
    """A file larger than ``max_bytes`` or not a workbook (an .xlsx is a zip) is refused unread."""
    size = path.stat().st_size
    if size > max_bytes:
        raise BookRefused("book_too_big", N_("The file is %(size)s MB; at most %(limit)s MB can be imported."),
                          size=f"{size / 1024 / 1024:.0f}", limit=f"{max_bytes / 1024 / 1024:.0f}")
    if not zipfile.is_zipfile(path):
        raise BookRefused("book_not_workbook", N_("This file is not an Excel workbook (.xlsx)."))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


def read(path: Path, today: date, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dbook.ParsedBook:
    """The workbook parsed and checked on its own (no database), its sheets streamed
    (app/services/book_xlsx.py: the values openpyxl's read-only mode gives, ten times faster)."""
    from xml.parsers.expat import ExpatError

    from app.services import book_xlsx

    refuse_file(path, max_bytes)
    try:
        return dbook.parse_book(book_xlsx.sheets(path), today)
    except (book_xlsx.NotAWorkbook, ExpatError, IndexError, ValueError, KeyError, OSError):
        raise BookRefused("book_not_workbook", N_("This file is not an Excel workbook (.xlsx).")) from None


@dataclass
class Summary:
    borrowers: int = 0
    loans: int = 0
    repayments: int = 0
    outstanding_principal: Decimal = Decimal("0.00")
    past_due_loans: int = 0
    errors: list[dbook.BookError] = field(default_factory=list)
    new_borrowers: int = 0
    new_loans: int = 0
    new_repayments: int = 0
    sha256: str = ""
    written: bool = False


# Lightweight tables: money as integer fen and no per-value conversion (the models' Money type
# converts Decimal per value, too slow for a million installments).
_T_BORROWERS = table("borrowers", *[column(c, t) for c, t in (
    ("id", Integer), ("uuid", String), ("name", String), ("id_number", String), ("sex", String),
    ("birth_date", Date), ("phone", String), ("village", String), ("township", String), ("county", String),
    ("address", String), ("household_key", String), ("home_lat", Integer), ("home_lon", Integer),
    ("related_party", Boolean), ("sms_opt_out", Boolean), ("office_id", Integer), ("officer_id", Integer),
    ("created_at", DateTime))])
_T_APPLICATIONS = table("applications", *[column(c, t) for c, t in (
    ("id", Integer), ("uuid", String), ("borrower_id", Integer), ("product_id", Integer), ("officer_id", Integer),
    ("office_id", Integer), ("amount", BigInteger), ("term_months", Integer), ("purpose", String), ("state", String),
    ("version", Integer), ("gps_note", String), ("needs_l2", Boolean), ("needs_special", Boolean),
    ("routing_reasons", JSON), ("entry_data", JSON), ("manifest_sha256", String), ("created_at", DateTime),
    ("updated_at", DateTime))])
_T_TRANSITIONS = table("transitions", *[column(c, t) for c, t in (
    ("application_id", Integer), ("event", String), ("from_state", String), ("to_state", String),
    ("actor_id", Integer), ("at", DateTime), ("comment", String))])
_T_LOANS = table("loans", *[column(c, t) for c, t in (
    ("id", Integer), ("application_id", Integer), ("contract_no", String), ("borrower_id", Integer),
    ("product_id", Integer), ("officer_id", Integer), ("office_id", Integer), ("principal", BigInteger),
    ("annual_rate", Integer), ("repayment_method", String), ("frequency", String), ("day_count", String),
    ("penalty_rate", Integer), ("allocation_order", JSON), ("term_months", Integer), ("disbursed_on", Date),
    ("maturity_date", Date), ("channel", String), ("reference", String), ("disbursed_by_id", Integer),
    ("status", String), ("days_past_due", Integer), ("accrued_through", Date), ("closed_on", Date),
    ("classification", String), ("version", Integer), ("created_at", DateTime), ("accounting_basis", String))])
_T_INSTALLMENTS = table("installments", *[column(c, t) for c, t in (
    ("loan_id", Integer), ("seq", Integer), ("due_date", Date), ("principal_due", BigInteger),
    ("interest_due", BigInteger), ("principal_paid", BigInteger), ("interest_paid", BigInteger),
    ("penalty_accrued", BigInteger), ("penalty_paid", BigInteger), ("penalty_basis", BigInteger),
    ("paid_off_on", Date), ("accrues_from", Date), ("interest_recognised", BigInteger))])
_T_REPAYMENTS = table("repayments", *[column(c, t) for c, t in (
    ("id", Integer), ("loan_id", Integer), ("amount", BigInteger), ("paid_on", Date), ("channel", String),
    ("reference", String), ("recorded_by_id", Integer), ("recorded_at", DateTime), ("reversal_reason", String),
    ("allocation", JSON), ("receipt_sha256", String))])


def _millionths(rate: Decimal) -> int:
    return int((rate * 1_000_000).to_integral_value())


def _fen(d: Decimal) -> int:
    return int((d * 100).to_integral_value())


class _Lookups:
    """What the book refers to, loaded once."""

    def __init__(self) -> None:
        self.users = {u: (i, o, bool(e)) for i, u, o, e in db.session.execute(
            select(User.id, User.username, User.office_id, User.is_enabled))}
        self.officers = set(db.session.scalars(
            select(User.username).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == "officer")))
        self.offices: dict[str, Office] = {}
        # Open offices first: a name a closed office shared with an open one means the open one.
        all_offices = sorted(db.session.scalars(select(Office)), key=lambda o: (o.closed_at is not None, o.id))
        for office in all_offices:
            self.offices.setdefault(office.code, office)
        for office in all_offices:
            self.offices.setdefault(office.name, office)
        self.closed_offices = {o.id: o.name for o in all_offices if o.closed_at is not None}
        self.products = {p.code: p for p in db.session.scalars(select(Product))}
        self.borrowers = dict(db.session.execute(select(Borrower.id_number, Borrower.id)).all())
        self.loans = {no: (i, b, d, status, restructured) for no, i, b, d, status, restructured in db.session.execute(
            select(Loan.contract_no, Loan.id, Loan.borrower_id, Loan.disbursed_on, Loan.status, Loan.restructured_on)
            .where(Loan.contract_no.is_not(None)))}
        self.repayment_keys = set(db.session.execute(select(Repayment.loan_id, Repayment.reference)).all())

    def calendar(self, product: Product) -> dict:
        """What a disbursement here passes the engine for the product's holidays (app/services/loans.py)."""
        if not getattr(product, "holiday_shift", False):
            return {}
        if not hasattr(self, "_working_days"):
            from app.services import holidays

            self._working_days = holidays.working_days()
        return {"working_days": self._working_days}

    def officer_error(self, login: str) -> str | None:
        user = self.users.get(login)
        if user is None:
            return N_("There is no staff account with the login %(login)s.")
        if login not in self.officers:
            return N_("%(login)s is not a loan officer.")
        if not user[2]:
            return N_("The account %(login)s is disabled.")
        if user[1] in self.closed_offices:
            return N_("The office of %(login)s, %(office)s, is closed: transfer the officer first.")
        return None

    def officer_params(self, login: str) -> dict:
        user = self.users.get(login)
        return {"login": login, "office": self.closed_offices.get(user[1], "") if user else ""}


def run(path: Path, *, user: User, today: date, now: datetime, dry_run: bool,
        class_days: tuple[int, ...] = rp.DEFAULT_CLASS_DAYS, max_bytes: int = DEFAULT_MAX_BYTES,
        ip: str = "", file_name: str = "") -> Summary:
    """Check the workbook whole and, when nothing is wrong and it is not a dry run, write it in one
    transaction. Raises BookRefused for a file refused unread; every other problem is in
    ``Summary.errors`` (then nothing is written)."""
    digest = sha256_of(path) if path.stat().st_size <= max_bytes else ""
    parsed = read(path, today, max_bytes=max_bytes)
    summary = Summary(sha256=digest, borrowers=len(parsed.borrowers), loans=len(parsed.loans),
                      repayments=len(parsed.repayments))
    errors = list(parsed.errors)
    look = _Lookups()
    writer = None if dry_run else _Writer(user.id, now, digest)
    try:
        _check_and_write(parsed, look, errors, summary, today, class_days, writer)
        if errors or writer is None:
            db.session.rollback()
        else:
            writer.finish(look)
            # The books take the new loans in at once (their opening balances), in the same commit.
            from app.services import ledger_loans

            opened = ledger_loans.open_books(user_id=user.id)
            # A creation: after={…} only (what the audit viewer shows as a table).
            audit.record("book.import", actor_id=user.id, object_type="import", object_id=None, ip=ip, after={
                "file": file_name[:200], "sha256": digest, "borrowers": summary.borrowers, "loans": summary.loans,
                "repayments": summary.repayments, "new_borrowers": summary.new_borrowers,
                "new_loans": summary.new_loans, "new_repayments": summary.new_repayments,
                "outstanding_principal": str(summary.outstanding_principal),
                "past_due_loans": summary.past_due_loans, "opened_in_books": opened})
            db.session.commit()
            summary.written = True
    except IntegrityError as e:
        db.session.rollback()
        import logging

        logging.getLogger(__name__).warning("book import refused on a conflict: %s", str(e.orig)[:300])
        raise BookRefused("book_conflict", N_("Someone changed the same records meanwhile; nothing was imported. "
                                              "Please import the file again.")) from None
    except BaseException:
        db.session.rollback()
        raise
    summary.errors = dbook.sort_errors(errors)
    return summary


def _check_and_write(parsed: dbook.ParsedBook, look: _Lookups, errors: list[dbook.BookError], summary: Summary,
                     today: date, class_days: tuple[int, ...], writer: _Writer | None) -> None:
    E = dbook.BookError
    book_borrowers: dict[str, dbook.BorrowerRow] = {}
    for b in parsed.borrowers:
        problem = look.officer_error(b.officer)
        if problem:
            errors.append(E(dbook.BORROWERS, b.row, "客户经理", problem, look.officer_params(b.officer)))
        book_borrowers[b.id_number] = b
    if writer is not None and not errors:
        for b in parsed.borrowers:
            if b.id_number not in look.borrowers:
                look.borrowers[b.id_number] = writer.borrower(b, look)
                summary.new_borrowers += 1
    payments: dict[str, list[dbook.RepaymentRow]] = defaultdict(list)
    book_loans = {loan.loan_no: loan for loan in parsed.loans}
    for r in parsed.repayments:
        payments[r.loan_no].append(r)
        if r.loan_no in parsed.disbursed_seen:
            disbursed_on = parsed.disbursed_seen[r.loan_no]
            if r.paid_on < disbursed_on:
                errors.append(E(dbook.REPAYMENTS, r.row, "还款日期",
                                N_("The loan was disbursed on %(date)s; a repayment cannot be earlier."),
                                {"date": disbursed_on.isoformat()}))
        elif r.loan_no in look.loans:
            disbursed_on = look.loans[r.loan_no][2]
            if r.paid_on < disbursed_on:
                errors.append(E(dbook.REPAYMENTS, r.row, "还款日期",
                                N_("The loan was disbursed on %(date)s; a repayment cannot be earlier."),
                                {"date": disbursed_on.isoformat()}))
        elif r.loan_no not in parsed.loan_numbers_seen:
            errors.append(E(dbook.REPAYMENTS, r.row, "贷款编号",
                            N_("There is no loan %(loan_no)s in the workbook or in the system."), {"loan_no": r.loan_no}))
        here = look.loans.get(r.loan_no)  # a loan already in the system: what happened to it since
        if here is not None:
            _id, _borrower, _disbursed, status, restructured_on = here
            new_here = (here[0], r.reference) not in look.repayment_keys
            if new_here and status == "written_off":  # off the books: money received on it is a recovery
                errors.append(E(dbook.REPAYMENTS, r.row, "贷款编号",
                                N_("Loan %(loan_no)s is written off: record money received on it as a recovery "
                                   "on the loan's page, not in a book."), {"loan_no": r.loan_no}))
            elif new_here and restructured_on is not None and r.paid_on < restructured_on:
                errors.append(E(dbook.REPAYMENTS, r.row, "还款日期",
                                N_("The loan was restructured on %(date)s; a repayment cannot be dated before it."),
                                {"date": restructured_on.isoformat()}))
    outstanding = 0
    for loan in parsed.loans:
        n_errors = len(errors)
        problem = look.officer_error(loan.officer)
        if problem:
            errors.append(E(dbook.LOANS, loan.row, "客户经理", problem, look.officer_params(loan.officer)))
        office = look.offices.get(loan.office)
        if office is None:
            errors.append(E(dbook.LOANS, loan.row, "办事处", N_("There is no office with the code or name %(office)s."),
                            {"office": loan.office}))
        elif office.closed_at is not None:
            errors.append(E(dbook.LOANS, loan.row, "办事处",
                            N_("The office %(office)s is closed; no loan can be booked to it."),
                            {"office": loan.office}))
        product = look.products.get(loan.product)
        if product is None:
            errors.append(E(dbook.LOANS, loan.row, "产品", N_("There is no loan product with the code %(code)s."),
                            {"code": loan.product}))
        if loan.id_number not in parsed.id_numbers_seen and loan.id_number not in look.borrowers:
            errors.append(E(dbook.LOANS, loan.row, "身份证号",
                            N_("This ID number is neither on the borrowers sheet nor a borrower in the system.")))
        existing = look.loans.get(loan.loan_no)
        if existing is not None and loan.id_number in look.borrowers and look.borrowers[loan.id_number] != existing[1]:
            errors.append(E(dbook.LOANS, loan.row, "贷款编号",
                            N_("The loan %(loan_no)s is already in the system for another borrower."),
                            {"loan_no": loan.loan_no}))
        if product is None:
            continue
        try:
            lines = schedule_fen(ScheduleRequest(
                principal=loan.principal, annual_rate=loan.annual_rate, term_months=loan.term_months,
                method=loan.method, start=loan.disbursed_on, frequency=product.frequency,
                day_count=product.day_count,
                due_dates=(loan.maturity_date,) if product.frequency == "custom" else (),
                **look.calendar(product)))
        except ScheduleError as e:
            errors.append(E(dbook.LOANS, loan.row, "本金", e.message, e.params))
            continue
        if lines[-1][1] != loan.maturity_date:
            errors.append(E(dbook.LOANS, loan.row, "到期日",
                            N_("By the product's schedule this loan falls due on %(date)s."),
                            {"date": lines[-1][1].isoformat()}))
            continue
        if len(errors) != n_errors:
            continue
        # The same engine and allocation as a disbursement and a repayment here, in integer fen
        # (schedule_fen / replay_fen: the same lines and position, proven equal in the unit tests).
        pays = payments.get(loan.loan_no, [])
        keys = [(k, r.paid_on, _fen(r.amount)) for k, r in enumerate(pays)]
        order = rp.validate_order(product.allocation_order or ())
        pos = rp.replay_fen(lines, keys, penalty_rate=product.penalty_rate, as_of=today, start=loan.disbursed_on,
                            order=order)
        outstanding += sum(i.principal_due - i.principal_paid for i in pos.installments)
        if pos.days_past_due() > 0:
            summary.past_due_loans += 1
        if writer is not None and not errors and existing is None:
            writer.loan(loan, pays, pos, product, office, look, class_days)
            summary.new_loans += 1
            summary.new_repayments += len(pays)
    summary.outstanding_principal = from_fen(outstanding)
    if writer is not None and not errors:
        # Repayments new to a loan already here: recorded and the loan rebuilt as a cashier's would be.
        for loan_no, pays in payments.items():
            if loan_no in book_loans and look.loans.get(loan_no) is None:
                continue
            if loan_no not in look.loans:
                continue
            loan_id = look.loans[loan_no][0]
            new = [r for r in pays if (loan_id, r.reference) not in look.repayment_keys]
            if new:
                writer.repayments_on_existing(loan_id, new, class_days)
                summary.new_repayments += len(new)


class _Writer:
    """Rows buffered and sent in chunks, with ids given here."""

    def __init__(self, user_id: int, now: datetime, digest: str) -> None:
        self.user_id, self.digest = user_id, digest
        self.at = now.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
        self.next = {t: (db.session.scalar(select(func.max(m.id))) or 0) + 1
                     for t, m in (("b", Borrower), ("a", Application), ("l", Loan), ("r", Repayment))}
        self.buf: dict[str, list[tuple]] = defaultdict(list)
        self.contract_max: dict[tuple[int, int], int] = {}
        self.statements: dict[str, tuple[str, list]] = {}

    def _id(self, kind: str) -> int:
        i = self.next[kind]
        self.next[kind] = i + 1
        return i

    def _add(self, name: str, row: tuple) -> None:
        self.buf[name].append(row)
        if len(self.buf[name]) >= CHUNK:
            # The rows it points at go first (foreign keys): every table before it in _ORDER.
            for parent in _ORDER[:_ORDER.index(name) + 1]:
                self.flush(parent)

    def _statement(self, name: str) -> tuple[str, list]:
        """The table's INSERT in the driver's own parameter style, and each column's bind processor
        (what SQLAlchemy would apply per value: dates as SQLite stores them, JSON dumped, …)."""
        if name not in self.statements:
            conn = db.session.connection()
            dialect = conn.dialect
            t = _TABLES[name]
            q = dialect.identifier_preparer.quote
            mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]  # SQLite, PyMySQL
            sql = (f"INSERT INTO {q(t.name)} ({', '.join(q(c.name) for c in t.columns)}) "
                   f"VALUES ({', '.join([mark] * len(t.columns))})")
            procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in t.columns]
            self.statements[name] = (sql, procs)
        return self.statements[name]

    def flush(self, name: str) -> None:
        """Rows as tuples in the table's column order, sent through the driver's executemany."""
        rows, self.buf[name] = self.buf[name], []
        if not rows:
            return
        sql, procs = self._statement(name)
        converting = [(k, p) for k, p in enumerate(procs) if p is not None]
        if converting:
            converted = []
            for row in rows:
                row = list(row)
                for k, p in converting:
                    row[k] = p(row[k])
                converted.append(tuple(row))
            rows = converted
        db.session.connection().exec_driver_sql(sql, rows)

    def borrower(self, b: dbook.BorrowerRow, look: _Lookups) -> int:
        officer_id, office_id, _ = look.users[b.officer]
        bid = self._id("b")
        # Columns in _T_BORROWERS order.
        self._add("borrowers", (
            bid, str(uuid_mod.uuid4()), b.name, b.id_number, b.sex, b.birth_date, b.phone, b.village, b.township,
            b.county, b.address, "", b.lat, b.lon, False, False, office_id, officer_id, self.at))
        return bid

    def loan(self, loan: dbook.LoanRow, pays: list[dbook.RepaymentRow], pos: rp.Position, product: Product,
             office: Office, look: _Lookups, class_days: tuple[int, ...]) -> None:
        officer_id = look.users[loan.officer][0]
        borrower_id = look.borrowers[loan.id_number]
        aid, lid = self._id("a"), self._id("l")
        # Each tuple in its table's column order (_T_APPLICATIONS, _T_TRANSITIONS, _T_LOANS, …).
        principal = _fen(loan.principal)
        self._add("applications", (
            aid, str(uuid_mod.uuid4()), borrower_id, product.id, officer_id, office.id, principal,
            loan.term_months, "", "disbursed", 1, "", False, False, [], {}, "", self.at, self.at))
        self._add("transitions", (
            aid, "disburse", "awaiting_disbursement", "disbursed", self.user_id, self.at,
            IMPORT_COMMENT % self.digest[:12]))
        closed = pos.closed_on is not None
        # A repaid loan rests where its last repayment left it (the daily job skips closed loans);
        # an open one is brought to today, as the daily job would.
        accrued = max([loan.disbursed_on, *(r.paid_on for r in pays)]) if closed else pos.as_of
        days = pos.days_past_due()  # zero once repaid in full
        penalty_millionths = _millionths(product.penalty_rate)
        self._add("loans", (
            lid, aid, loan.loan_no, borrower_id, product.id, officer_id, office.id, principal,
            _millionths(loan.annual_rate), loan.method, product.frequency, product.day_count, penalty_millionths,
            list(product.allocation_order or []), loan.term_months, loan.disbursed_on, loan.maturity_date,
            "cash", "", self.user_id, "closed" if closed else "active", days, accrued, pos.closed_on,
            rp.classify(days, class_days), 1, self.at, product.accounting_basis or "accrual"))
        # penalty_accrued as penalty_from_basis gives it, in integer fen (rp.penalty_fen).
        # The books: each period starts at the due date before it; interest paid is recognised, the
        # rest accrues from the next daily job (the opening entry brings the balances in).
        starts = [loan.disbursed_on, *(i.due_date for i in pos.installments)]
        for k, i in enumerate(pos.installments):
            self._add("installments", (
                lid, i.seq, i.due_date, i.principal_due, i.interest_due, i.principal_paid, i.interest_paid,
                rp.penalty_fen(i.penalty_basis, penalty_millionths), i.penalty_paid, i.penalty_basis, i.paid_off_on,
                starts[k], i.interest_paid))
        for k, r in enumerate(pays):
            self._add("repayments", (
                self._id("r"), lid, _fen(r.amount), r.paid_on, r.channel, r.reference, self.user_id, self.at, "",
                {"parts": [list(p) for p in pos.allocations.get(k, [])]}, ""))
        m = _CONTRACT_NO.fullmatch(loan.loan_no)
        if m and m[1] == office.code:
            key = (office.id, int(m[2]))
            self.contract_max[key] = max(self.contract_max.get(key, 0), int(m[3]))

    def repayments_on_existing(self, loan_id: int, pays: list[dbook.RepaymentRow], class_days: tuple[int, ...]) -> None:
        from app.services import ledger_loans
        from app.services import loans as loan_service

        for name in _ORDER:
            self.flush(name)
        loan = db.session.get(Loan, loan_id)
        before = ledger_loans.figures(loan)
        for r in pays:
            db.session.add(Repayment(loan=loan, amount=r.amount, paid_on=r.paid_on, channel=r.channel,
                                     reference=r.reference, recorded_by_id=self.user_id,
                                     recorded_at=self.at.replace(tzinfo=timezone.utc)))
        db.session.flush()
        last = max(r.paid_on for r in pays)
        loan_service.rebuild(loan, max(last, loan.accrued_through or last), class_days)
        ledger_loans.post_change(loan, before, "repayment", value_date=last, user_id=self.user_id,
                                 source_type="book_import", memo=f"{len(pays)}")

    def finish(self, look: _Lookups) -> None:
        for name in _ORDER:
            self.flush(name)
        # Loan numbers in this institution's own shape (CG-2026-00017): the office's counter moves past
        # them, so the next disbursement here never draws a number the book already used.
        for (office_id, year), n in self.contract_max.items():
            counter = db.session.get(ContractCounter, (office_id, year))
            if counter is None:
                db.session.add(ContractCounter(office_id=office_id, year=year, last_no=n))
            elif counter.last_no < n:
                counter.last_no = n
        db.session.flush()


_CONTRACT_NO = re.compile(r"([A-Za-z0-9]+)-(\d{4})-(\d{5})")
_TABLES = {"borrowers": _T_BORROWERS, "applications": _T_APPLICATIONS, "transitions": _T_TRANSITIONS,
           "loans": _T_LOANS, "installments": _T_INSTALLMENTS, "repayments": _T_REPAYMENTS}
_ORDER = ("borrowers", "applications", "transitions", "loans", "installments", "repayments")


# --- export ---------------------------------------------------------------------------------------

def export(path: Path) -> dict[str, int]:
    """Write the whole book in the import's format (streamed, write-only)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    counts = {}
    for sheet, rows in ((dbook.BORROWERS, _borrower_rows()), (dbook.LOANS, _loan_rows()),
                        (dbook.REPAYMENTS, _repayment_rows())):
        ws = wb.create_sheet(sheet)
        ws.append(list(dbook.COLUMNS[sheet]))
        n = 0
        for row in rows:
            ws.append([_as_text(ws, v) if isinstance(v, str) and v.startswith("=") else v for v in row])
            n += 1
        counts[sheet] = n
    wb.save(path)
    return counts


def _as_text(ws, value: str):
    """A cell that stays text: openpyxl stores any string beginning with "=" as a formula, which Excel
    would then evaluate (formula injection through an address, a name or a receipt number)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _borrower_rows() -> Iterable[list]:
    q = (select(Borrower.id_number, Borrower.name, Borrower.phone, Borrower.village, Borrower.township,
                Borrower.county, Borrower.address, Borrower.home_lon, Borrower.home_lat, User.username)
         .join(User, User.id == Borrower.officer_id).order_by(Borrower.id))
    for row in db.session.execute(q).yield_per(5000):
        yield list(row)


def _loan_rows() -> Iterable[list]:
    q = (select(Loan.contract_no, Borrower.id_number, Product.code, Loan.principal, Loan.annual_rate,
                Loan.term_months, Loan.repayment_method, Loan.disbursed_on, Loan.maturity_date, User.username,
                Office.code)
         .join(Borrower, Borrower.id == Loan.borrower_id).join(Product, Product.id == Loan.product_id)
         .join(User, User.id == Loan.officer_id).join(Office, Office.id == Loan.office_id)
         .where(Loan.contract_no.is_not(None)).order_by(Loan.id))
    for row in db.session.execute(q).yield_per(5000):
        yield list(row)


def _repayment_rows() -> Iterable[list]:
    q = (select(Loan.contract_no, Repayment.paid_on, Repayment.amount, Repayment.channel, Repayment.reference)
         .join(Loan, Loan.id == Repayment.loan_id)
         .where(Repayment.reversed_at.is_(None), Loan.contract_no.is_not(None)).order_by(Repayment.id))
    for contract_no, paid_on, amount, channel, reference in db.session.execute(q).yield_per(5000):
        yield [contract_no, paid_on, amount, dbook.EXPORTED_CHANNEL.get(channel, channel), reference]


def template(path) -> None:
    """The empty workbook to fill in: the three sheets, their headers, one example row each
    (``path``: a file name or a binary file object)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    examples = {
        dbook.BORROWERS: ["11010519491231002X", "张三", "13800138000", "红星村", "城关镇", "某某县", "红星村3组12号",
                          104.0821, 30.6712, "officer1"],
        dbook.LOANS: ["CG-2025-00001", "11010519491231002X", "XYD", 15000, 0.096, 12, "annuity",
                      date(2025, 3, 15), date(2026, 3, 15), "officer1", "CG"],
        dbook.REPAYMENTS: ["CG-2025-00001", date(2025, 4, 15), 1312.5, "现金", "SJ-0001"],
    }
    for sheet, columns in dbook.COLUMNS.items():
        ws = wb.create_sheet(sheet)
        ws.append(list(columns))
        ws.append(examples[sheet])
    wb.save(path)


def actor(login: str | None) -> User:
    """Who the import is recorded as: the named enabled administrator, else the first one."""
    q = (select(User).join(UserRole, UserRole.user_id == User.id)
         .where(UserRole.role == "admin", User.is_enabled.is_(True)).order_by(User.id))
    if login:
        q = q.where(User.username == login)
    user = db.session.scalars(q).first()
    if user is None:
        raise BookRefused("book_no_admin", N_("No enabled administrator %(login)s to record the import as."),
                          login=login or "")
    return user


_SHA = re.compile(r"[0-9a-f]{64}")


def store_upload(stream, folder: Path, max_bytes: int) -> tuple[str, Path]:
    """Keep an uploaded workbook under its SHA-256 until the administrator confirms it; refuses a file
    over ``max_bytes`` (read no further) or one that is not a workbook, before any parsing."""
    import os
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    forget_stale_uploads(folder)
    fd, name = tempfile.mkstemp(suffix=".part", dir=folder)
    tmp = Path(name)
    h, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: stream.read(1024 * 1024), b""):
                size += len(block)
                if size > max_bytes:
                    raise BookRefused("book_too_big", N_("The file is %(size)s MB; at most %(limit)s MB can be imported."),
                                      size=f"> {max_bytes / 1024 / 1024:.0f}", limit=f"{max_bytes / 1024 / 1024:.0f}")
                h.update(block)
                out.write(block)
        refuse_file(tmp, max_bytes)
        path = folder / f"{h.hexdigest()}.xlsx"
        tmp.replace(path)
        return h.hexdigest(), path
    finally:
        tmp.unlink(missing_ok=True)


# A checked workbook waits this long for its confirmation; then it is deleted (it holds the book's ID
# numbers: it must not lie about forever because nobody pressed 导入).
UPLOAD_KEEP = timedelta(days=1)


def forget_stale_uploads(folder: Path) -> int:
    """Delete workbooks (and part files of cut uploads) left unconfirmed longer than UPLOAD_KEEP."""
    cutoff = (clock.now() - UPLOAD_KEEP).timestamp()
    gone = 0
    for path in folder.iterdir():
        if path.suffix in (".xlsx", ".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def stored_upload(folder: Path, digest: str) -> Path:
    path = folder / f"{digest}.xlsx"
    if not _SHA.fullmatch(digest or "") or not path.exists():
        raise BookRefused("book_upload_gone", N_("The checked file is no longer here; please upload it again."))
    return path
