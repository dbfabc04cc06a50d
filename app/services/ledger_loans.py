"""The loans in the books: every money event on a loan posts the change of its figures.

A service that changes a loan reads ``before = figures(loan)`` first, changes the loan, then calls
``post_change(loan, before, kind, …)`` in the same transaction: the entry is the difference of the
loan's balances per role (app/domain/loan_books.py), balanced by construction, and commits with
the event or not at all. A reversal is a mirror of the entry it undoes, plus (when later
repayments re-allocate) one more entry for what moved between them.

The daily job recognises interest and penalty for all loans at once: one UPDATE of the
installments, one entry per product (``accrue``), never a loan at a time.

``reconcile`` is the check the daily job and ``flask ledger reconcile`` run: the accounts the loans'
balances post to hold exactly what the loans say they hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import BigInteger, Column, MetaData, Table, case, func, select, text, type_coerce
from sqlalchemy.orm import selectinload

from app import clock
from app.domain import ledger as books
from app.domain import loan_books
from app.domain.money import from_fen, to_fen
from app.extensions import db
from app.models import Account, AccountMapping, Installment, JournalEntry, JournalLine, LedgerBook, Loan
from app.services import ledger, scratch_tables


def _fen(value) -> int:
    return to_fen(value) if value else 0


def state_of(loan: Loan) -> loan_books.LoanBookState:
    recoveries: tuple[tuple[str, int], ...] = ()
    if loan.status == "written_off" and loan.id is not None:
        from app.models.write_off import Recovery  # only a written-off loan has recoveries

        recoveries = tuple((r.channel, _fen(r.amount)) for r in db.session.scalars(
            select(Recovery).where(Recovery.loan_id == loan.id).order_by(Recovery.id)))
    return loan_books.LoanBookState(
        basis=loan.accounting_basis or "accrual", status=loan.status, disbursed=_fen(loan.principal),
        disbursement_channel=loan.channel, capitalized=_fen(loan.capitalized_interest),
        installments=tuple(loan_books.InstallmentBooks(
            principal_due=_fen(i.principal_due), principal_paid=_fen(i.principal_paid),
            interest_due=_fen(i.interest_due), interest_paid=_fen(i.interest_paid),
            interest_recognised=_fen(i.interest_recognised), penalty_accrued=_fen(i.penalty_accrued),
            penalty_paid=_fen(i.penalty_paid), interest_carried=_fen(i.interest_carried)) for i in loan.installments),
        repayments=tuple((r.channel, _fen(r.amount)) for r in loan.repayments if r.reversed_at is None),
        recoveries=recoveries,
        written_off_principal=_fen(loan.written_off_principal), written_off_interest=_fen(loan.written_off_interest),
    )


def figures(loan: Loan) -> dict[str, int]:
    """The loan's balance per role (fen, + debit / - credit), as its state stands."""
    return loan_books.figures(state_of(loan))


def sync_recognition(loan: Loan) -> None:
    """After an event rebuilt the installments: interest paid ahead of its accrual is recognised,
    interest a prepayment cancelled is no longer (accrual basis; cash basis recognises on payment)."""
    if (loan.accounting_basis or "accrual") != "accrual" or loan.status == "written_off":
        return
    for i in loan.installments:
        row = loan_books.InstallmentBooks(
            principal_due=0, principal_paid=0, interest_due=_fen(i.interest_due), interest_paid=_fen(i.interest_paid),
            interest_recognised=_fen(i.interest_recognised), penalty_accrued=0, penalty_paid=0,
            interest_carried=_fen(i.interest_carried))
        value = loan_books.recognised(row)
        if value != row.interest_recognised:
            i.interest_recognised = from_fen(value)


def _posting_day(day: date | None = None) -> date:
    """``day`` when the books still take entries on it, else today (a catch-up run of an old day)."""
    today = clock.business_today()
    if day is None:
        return today
    through = db.session.scalar(select(LedgerBook.days_closed_through).where(LedgerBook.id == 1))
    if (through is not None and day <= through) or not ledger.open_period(books.period_of(day)) or day > today:
        return today
    return day


def _lines(delta: dict[str, int]) -> list[books.Line]:
    return books.lines_from_deltas(delta)


def post_change(loan: Loan, before: dict[str, int], kind: str, *, value_date: date, user_id: int | None = None,
                source_type: str = "", source_id: int | None = None, memo: str = "") -> JournalEntry | None:
    """Post what the loan's figures moved since ``before`` (read before the event changed it);
    nothing when nothing moved. Joins the caller's transaction (flushes, never commits)."""
    db.session.flush()
    if not loan.in_books:
        _open(loan, before, user_id=user_id)
    sync_recognition(loan)
    db.session.flush()
    delta = loan_books.difference(before, figures(loan))
    if not delta:
        return None
    return ledger.post(kind, _lines(delta), value_date=value_date, memo=memo, loan_id=loan.id,
                       office_id=loan.office_id, product_id=loan.product_id, source_type=source_type,
                       source_id=source_id, user_id=user_id)


def source_entry(kind: str, source_type: str, source_id: int) -> JournalEntry | None:
    """The entry an event posted (the one a reversal mirrors), if it has not been mirrored yet."""
    entry = db.session.scalar(select(JournalEntry).where(
        JournalEntry.kind == kind, JournalEntry.source_type == source_type, JournalEntry.source_id == source_id)
        .order_by(JournalEntry.id.desc()).limit(1))
    if entry is None:
        return None
    mirrored = db.session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id))
    return None if mirrored is not None else entry


def _by_account(delta: dict[str, int], product_id: int | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for role, fen in delta.items():
        code = ledger.account_for(role, product_id).code
        out[code] = out.get(code, 0) + fen
    return out


def post_undo(loan: Loan, before: dict[str, int], after: dict[str, int], undone: JournalEntry | None, kind: str,
              rest_kind: str, *, value_date: date, user_id: int | None = None, memo: str = "",
              source_type: str = "", source_id: int | None = None) -> list[JournalEntry]:
    """An event that undoes an earlier one: the mirror of ``undone`` (kind ``kind``), then, when the
    loan's figures moved by more than that (later repayments re-allocated, interest accrued
    since), the rest as one entry of ``rest_kind``. ``after`` is the figures once undone ({} for a
    loan that is gone)."""
    posted: list[JournalEntry] = []
    db.session.flush()
    if not loan.in_books:
        _open(loan, before, user_id=user_id)
    delta = _by_account(loan_books.difference(before, after), loan.product_id)
    if undone is not None:
        posted.append(ledger.mirror(undone, kind=kind, memo=memo, user_id=user_id))
        for line in undone.lines:
            code = line.account.code
            delta[code] = delta.get(code, 0) - (_fen(line.credit) - _fen(line.debit))
    rest = {code: fen for code, fen in delta.items() if fen}
    if rest:
        posted.append(ledger.post(rest_kind, _lines(rest), value_date=value_date, memo=memo, loan_id=loan.id,
                                  office_id=loan.office_id, product_id=loan.product_id, source_type=source_type,
                                  source_id=source_id, user_id=user_id))
    return posted


# --- loans that came in without entries ------------------------------------------------------------


def _open(loan: Loan, fig: dict[str, int], *, user_id: int | None = None) -> None:
    lines = loan_books.opening(fig)
    if lines:
        ledger.post("opening", _lines(lines), value_date=loan.disbursed_on, loan_id=loan.id, office_id=loan.office_id,
                    product_id=loan.product_id, source_type="loan", source_id=loan.id, user_id=user_id)
    loan.in_books = True


OPEN_CHUNK = 500


def open_books(*, user_id: int | None = None) -> int:
    """Post the opening balances of every loan not in the books yet (loans taken over from earlier
    books, loans made before the books existed): one entry per product, against the opening
    balance account. Returns how many loans were opened. Joins the caller's transaction."""
    opened = 0
    while True:
        batch = list(db.session.scalars(
            select(Loan).where(Loan.in_books.is_(False)).order_by(Loan.id).limit(OPEN_CHUNK)
            .options(selectinload(Loan.installments), selectinload(Loan.repayments))))
        if not batch:
            return opened
        by_product: dict[int, list[dict[str, int]]] = {}
        for loan in batch:
            sync_recognition(loan)
            by_product.setdefault(loan.product_id, []).append(loan_books.opening(figures(loan)))
            loan.in_books = True
        for product_id, figs in by_product.items():
            total = loan_books.add_up(figs)
            if total:
                ledger.post("opening", _lines(total), value_date=_posting_day(), product_id=product_id,
                            memo=f"{len(figs)}", source_type="open_books", user_id=user_id)
        db.session.flush()
        opened += len(batch)


# --- the daily job ------------------------------------------------------------------------------------


def _dialect() -> str:
    return db.engine.dialect.name


def _sql() -> dict[str, str]:
    if _dialect() == "sqlite":
        return {"days": "CAST(julianday({b}) - julianday({a}) AS INTEGER)", "max": "MAX", "min": "MIN"}
    return {"days": "DATEDIFF({b}, {a})", "max": "GREATEST", "min": "LEAST"}


def _interest_target() -> str:
    """The interest an unsettled installment has earned by :day, as app.domain.loan_books computes it
    (accrued_by_time, never below what it had, what was paid or carried, never above what is due)."""
    q = _sql()
    elapsed = q["days"].format(a="accrues_from", b=":day")
    period = q["days"].format(a="accrues_from", b="due_date")
    by_time = (f"CASE WHEN due_date <= :day THEN interest_due "
               f"ELSE interest_carried + (interest_due - interest_carried) * {elapsed} {'/' if _dialect() == 'sqlite' else 'DIV'} {period} END")
    return f"{q['min']}(interest_due, {q['max']}(interest_recognised, interest_paid, interest_carried, {by_time}))"


_ACCRUING = """paid_off_on IS NULL AND accrues_from < :day AND interest_recognised < interest_due
               AND loan_id IN (SELECT id FROM loans WHERE status = 'active' AND accounting_basis = 'accrual')"""


# Each moving installment's product and the interest it recognises this run (fen): the pass over the
# installments is made once, and both the UPDATE and the entries read its rows.
_INTEREST_MOVES = Table(
    "interest_moves", MetaData(),
    Column("installment_id", BigInteger, primary_key=True, autoincrement=False), Column("product_id", BigInteger),
    Column("delta", BigInteger), prefixes=["TEMPORARY"])


def accrue_interest(day: date, *, user_id: int | None = None) -> dict:
    """Recognise the interest every accrual-basis loan has earned by ``day`` (not including it): one
    pass over the installments into a temporary table, one UPDATE of the installments from it and
    one entry per product."""
    target = _interest_target()
    # Only the installments whose recognition moves: a second run of a day rewrites nothing.
    moving = f"{_ACCRUING} AND {target} > interest_recognised"
    scratch_tables.create(_INTEREST_MOVES)
    db.session.execute(text(f"""
        INSERT INTO interest_moves (installment_id, product_id, delta)
        SELECT i.id, l.product_id, i.delta FROM (
            SELECT id, loan_id, {target} - interest_recognised AS delta FROM installments WHERE {moving}
        ) i JOIN loans l ON l.id = i.loan_id"""), {"day": day})
    if _dialect() == "sqlite":
        update = """UPDATE installments SET interest_recognised = interest_recognised + m.delta
                      FROM interest_moves m WHERE m.installment_id = installments.id"""
    else:
        update = """UPDATE installments JOIN interest_moves m ON m.installment_id = installments.id
                       SET installments.interest_recognised = installments.interest_recognised + m.delta"""
    updated = db.session.execute(text(update)).rowcount
    rows = db.session.execute(text("SELECT product_id, SUM(delta) FROM interest_moves GROUP BY product_id")).all()
    scratch_tables.drop(_INTEREST_MOVES)
    total = 0
    on = _posting_day(day)
    for product_id, fen in sorted(rows):
        fen = int(fen or 0)
        if fen:
            ledger.post("accrual", [books.Line("interest_receivable", debit=fen), books.Line("interest_income", credit=fen)],
                        value_date=day - timedelta(days=1), posting_date=on, product_id=product_id,
                        source_type="daily", user_id=user_id)
            total += fen
    return {"installments": updated, "interest": str(from_fen(total))}


def post_penalty_accrual(day: date, by_product: dict[int, int], *, user_id: int | None = None) -> str:
    """The daily job's penalty accrual in the books: one entry per product for the change of the
    accrued penalty of its active accrual-basis loans (``by_product``, fen)."""
    total = 0
    on = _posting_day(day)
    for product_id in sorted(by_product):
        fen = by_product[product_id]
        if not fen:
            continue
        lines = [books.Line("penalty_receivable", debit=fen), books.Line("penalty_income", credit=fen)]
        if fen < 0:  # never expected (accrual only grows); posted as it is rather than lost
            lines = [books.Line("penalty_receivable", credit=-fen), books.Line("penalty_income", debit=-fen)]
        ledger.post("penalty_accrual", lines, value_date=day - timedelta(days=1), posting_date=on,
                    product_id=product_id, source_type="daily", user_id=user_id)
        total += fen
    return str(from_fen(total))


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconRow:
    code: str
    name: str
    ledger_fen: int  # the account's balance, + debit
    loans_fen: int  # what the loans say it holds
    difference_fen: int


@dataclass(frozen=True)
class Reconciliation:
    as_of: date
    rows: list[ReconRow]
    not_in_books: int  # loans whose opening balances are not posted yet

    @property
    def ok(self) -> bool:
        return self.not_in_books == 0 and all(r.difference_fen == 0 for r in self.rows)

    @property
    def differences(self) -> list[ReconRow]:
        return [r for r in self.rows if r.difference_fen]


RECONCILED_ROLES = ("loan_principal", "interest_receivable", "penalty_receivable", "written_off_memo")


def _loan_totals() -> dict[tuple[str, int], int]:
    """What the loans in the books hold per (role, product), in fen, from their current state."""
    def s(col):
        return func.coalesce(func.sum(type_coerce(col, BigInteger)), 0)

    def accrual(col):  # a receivable only on the accrual basis (the cash basis recognises when paid)
        return s(case((Loan.accounting_basis == "accrual", type_coerce(col, BigInteger)), else_=0))

    out: dict[tuple[str, int], int] = {}
    # One pass over the installments of the loans on the books, grouped by product. On MariaDB in
    # the order written (STRAIGHT_JOIN): the installments read in their key's order, each loan found
    # by its key, rather than every loan's installments looked up through the loan_id index — a
    # third less server CPU at 100,000 loans (bench/daily_job.py). SQLite plans it that way itself.
    for pid, principal, interest, penalty in db.session.execute(
            select(Loan.product_id, s(Installment.principal_due) - s(Installment.principal_paid),
                   accrual(Installment.interest_recognised) - accrual(Installment.interest_paid),
                   accrual(Installment.penalty_accrued) - accrual(Installment.penalty_paid))
            .select_from(Installment).join(Loan, Loan.id == Installment.loan_id)
            .where(Loan.in_books.is_(True), Loan.status != "written_off").group_by(Loan.product_id)
            .prefix_with("STRAIGHT_JOIN", dialect="mysql")):
        out[("loan_principal", pid)] = int(principal)
        out[("interest_receivable", pid)] = int(interest)
        out[("penalty_receivable", pid)] = int(penalty)
    for pid, memo in db.session.execute(
            select(Loan.product_id, s(Loan.written_off_principal) + s(Loan.written_off_interest) - s(Loan.recovered))
            .where(Loan.in_books.is_(True), Loan.status == "written_off").group_by(Loan.product_id)):
        out[("written_off_memo", pid)] = int(memo)
    return out


def reconcile(as_of: date | None = None) -> Reconciliation:
    """The loans' accounts against the loans: 贷款 equals all loans' outstanding principal, 应收利息
    the interest and penalty recognised and unpaid, the written-off memo what is left to recover.

    The loans' side is their state now, so the ledger side is every entry posted up to now; with
    ``as_of`` (a past day) only principal can be checked — against the loans replayed to that day,
    the ledger by value date (see ``reconcile_principal_on``)."""
    today = clock.business_today()
    if as_of is not None and as_of < today:
        return reconcile_principal_on(as_of)
    mappings = db.session.execute(select(AccountMapping.role, AccountMapping.product_id, Account)
                                  .join(Account, Account.id == AccountMapping.account_id)
                                  .where(AccountMapping.role.in_(RECONCILED_ROLES))).all()
    default = {role: acc for role, pid, acc in mappings if pid is None}
    own = {(role, pid): acc for role, pid, acc in mappings if pid is not None}
    expected: dict[int, int] = {}
    accounts: dict[int, Account] = {}
    for acc in [*default.values(), *own.values()]:
        accounts[acc.id] = acc
        expected.setdefault(acc.id, 0)
    for (role, pid), fen in _loan_totals().items():
        acc = own.get((role, pid)) or default.get(role)
        if acc is not None:
            expected[acc.id] = expected.get(acc.id, 0) + fen
    balances = _posted_balances(list(accounts))
    rows = [ReconRow(accounts[aid].code, accounts[aid].name, balances.get(aid, 0), fen, balances.get(aid, 0) - fen)
            for aid, fen in sorted(expected.items(), key=lambda kv: accounts[kv[0]].code)]
    not_in_books = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.in_books.is_(False))) or 0
    return Reconciliation(as_of=as_of or today, rows=rows, not_in_books=int(not_in_books))


def _posted_balances(account_ids: list[int]) -> dict[int, int]:
    """Debit minus credit per account over every line posted: the closed days' totals plus the lines
    posted after the last closed day (app/services/ledger_close.py's contract), so the daily job's
    reconciliation reads a few rows per account and day, not the whole journal."""
    from app.services.ledger_reports import totals_through

    return {aid: d - c for aid, (d, c) in totals_through(date.max, account_ids).items()}


def _balances(account_ids: list[int], as_of: date | None, *, by_value_date: bool = False) -> dict[int, int]:
    """Debit minus credit per account over the lines posted (or valued) up to ``as_of``."""
    day_column = JournalLine.value_date if by_value_date else JournalLine.posting_date
    where = [JournalLine.account_id.in_(account_ids)]
    if as_of is not None:
        where.append(day_column <= as_of)
    rows = db.session.execute(
        select(JournalLine.account_id, func.sum(type_coerce(JournalLine.debit, BigInteger)),
               func.sum(type_coerce(JournalLine.credit, BigInteger)))
        .where(*where).group_by(JournalLine.account_id)).all()
    return {aid: int(d or 0) - int(c or 0) for aid, d, c in rows}


def reconcile_principal_on(day: date) -> Reconciliation:
    """贷款 at the end of a past ``day``: the principal accounts' lines valued up to that day against
    every loan disbursed by then, its standing repayments up to that day replayed."""
    mapped = db.session.execute(select(AccountMapping.product_id, Account)
                                .join(Account, Account.id == AccountMapping.account_id)
                                .where(AccountMapping.role == "loan_principal")).all()
    default = next((acc for pid, acc in mapped if pid is None), None)
    own = {pid: acc for pid, acc in mapped if pid is not None}
    accounts = {acc.id: acc for _pid, acc in mapped}
    expected = {aid: 0 for aid in accounts}
    for loan in db.session.scalars(select(Loan).where(Loan.disbursed_on <= day, Loan.in_books.is_(True))
                                   .options(selectinload(Loan.installments), selectinload(Loan.repayments))):
        if loan.written_off_on is not None and loan.written_off_on <= day:
            continue
        acc = own.get(loan.product_id) or default
        if acc is None:
            continue
        expected[acc.id] += _principal_replayed_to(loan, day)
    balances = _balances(list(accounts), day, by_value_date=True)
    rows = [ReconRow(accounts[aid].code, accounts[aid].name, balances.get(aid, 0), fen, balances.get(aid, 0) - fen)
            for aid, fen in sorted(expected.items(), key=lambda kv: accounts[kv[0]].code)]
    return Reconciliation(as_of=day, rows=rows, not_in_books=0)


def _principal_replayed_to(loan: Loan, day: date) -> int:
    from app.domain import repayment as rp

    schedule = [(i.seq, i.due_date, i.principal_due, i.interest_due) for i in sorted(loan.installments, key=lambda i: i.seq)]
    payments = [rp.Payment(r.id, r.paid_on, r.amount) for r in loan.repayments
                if r.reversed_at is None and r.paid_on <= day]
    pos = rp.replay(schedule, payments, penalty_rate=loan.penalty_rate, as_of=day, start=loan.disbursed_on,
                    order=rp.validate_order(loan.allocation_order or ()))
    return sum(p.principal_due - p.principal_paid for p in pos.installments)


# --- a loan's account statement ------------------------------------------------------------------


def entries_of(loan_id: int) -> list[JournalEntry]:
    """The entries that name the loan, oldest first, with their lines and accounts."""
    return list(db.session.scalars(
        select(JournalEntry).where(JournalEntry.loan_id == loan_id).order_by(JournalEntry.id)
        .options(selectinload(JournalEntry.lines).selectinload(JournalLine.account))))


def mark_new(loan: Loan) -> None:
    """A loan made here (a disbursement): its entries start with its first event."""
    loan.in_books = True


__all__ = ["ReconRow", "Reconciliation", "accrue_interest", "entries_of", "figures", "mark_new", "open_books",
           "post_change", "post_penalty_accrual", "post_undo", "reconcile", "source_entry",
           "state_of", "sync_recognition"]
