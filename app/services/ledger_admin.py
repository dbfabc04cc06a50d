"""The accountant's hand on the books: the chart of accounts (add, rename, retire), the role →
account mapping (for all products, or one product's override), manual journal entries and the
reversal of an entry by its mirror.

Every refusal is a ``LedgerError`` with an N_ message (Chinese at the edge) and nothing written;
every change is audited in the same transaction and committed here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from app import clock
from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import AmountError, parse_amount, to_fen
from app.extensions import db
from app.models import Account, AccountMapping, JournalEntry, Product
from app.services import audit, ledger, ledger_close, ledger_reports, provisioning
from app.services.ledger import LedgerError

CODE = re.compile(r"\d{4,20}")
MAX_LINES = 50
FAR_FUTURE = date(9999, 12, 31)


# --- chart of accounts -----------------------------------------------------------------------------


def chart() -> list[Account]:
    return list(db.session.scalars(select(Account).order_by(Account.code)))


def _account(code: str) -> Account:
    account = db.session.scalar(select(Account).where(Account.code == (code or "").strip()))
    if account is None:
        raise LedgerError("unknown_account", N_("There is no account with code %(account)s."), account=(code or "").strip())
    return account


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise LedgerError("bad_name", N_("Enter the account's name."))
    if len(name) > 100:
        raise LedgerError("bad_name", N_("An account's name has at most %(max)s characters."), max=100)
    return name


def add_account(code: str, name: str, kind: str, side: str, *, actor_id: int | None, ip: str = "") -> Account:
    code = (code or "").strip()
    if not CODE.fullmatch(code):
        raise LedgerError("bad_code", N_("An account code is 4 to 20 digits."))
    if db.session.scalar(select(Account.id).where(Account.code == code)) is not None:
        raise LedgerError("code_taken", N_("Account code %(account)s is already in the chart."), account=code)
    if kind not in books.KINDS:
        raise LedgerError("bad_kind", N_("Choose the account's kind."))
    if side not in books.SIDES:
        raise LedgerError("bad_side", N_("Choose the account's normal side, debit or credit."))
    account = Account(code=code, name=_name(name), kind=kind, side=side, is_active=True)
    db.session.add(account)
    db.session.flush()
    audit.record("ledger.account_added", actor_id=actor_id, object_type="account", object_id=account.id, ip=ip,
                 code=code, name=account.name, kind=kind, side=side)
    db.session.commit()
    return account


def rename_account(code: str, name: str, *, actor_id: int | None, ip: str = "") -> Account:
    account = _account(code)
    new = _name(name)
    before = account.name
    if new == before:
        return account
    account.name = new
    audit.record("ledger.account_renamed", actor_id=actor_id, object_type="account", object_id=account.id, ip=ip,
                 code=account.code, before=before, after=new)
    db.session.commit()
    return account


def retire_account(code: str, *, actor_id: int | None, ip: str = "") -> Account:
    """No posting after: refused while the account holds a balance or a role still posts to it."""
    account = _account(code)
    if not account.is_active:
        raise LedgerError("already_retired", N_("Account %(account)s is already retired."), account=account.code)
    debit, credit = ledger_reports.totals_through(FAR_FUTURE, [account.id]).get(account.id, (0, 0))
    if debit != credit:
        raise LedgerError("balance_not_zero", N_("Account %(account)s still holds a balance; it can be retired only at zero."),
                          account=account.code)
    role = db.session.scalar(select(AccountMapping.role).where(AccountMapping.account_id == account.id))
    if role is not None:
        raise LedgerError("account_mapped", N_("Account %(account)s is still mapped for %(role)s; map that to another account first."),
                          account=account.code, role=books.ROLES.get(role, role))
    account.is_active = False
    audit.record("ledger.account_retired", actor_id=actor_id, object_type="account", object_id=account.id, ip=ip,
                 code=account.code)
    db.session.commit()
    return account


# --- the role mapping --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingRow:
    role: str
    label: str                       # N_
    code: str | None                 # the account for all products
    overrides: dict[int, str]        # product id → account code


def mapping() -> list[MappingRow]:
    rows = db.session.execute(select(AccountMapping.role, AccountMapping.product_id, Account.code)
                              .join(Account, AccountMapping.account_id == Account.id)).all()
    general: dict[str, str] = {}
    overrides: dict[str, dict[int, str]] = {}
    for role, product_id, code in rows:
        if product_id is None:
            general[role] = code
        else:
            overrides.setdefault(role, {})[product_id] = code
    return [MappingRow(role, label, general.get(role), overrides.get(role, {})) for role, label in books.ROLES.items()]


def products() -> list[Product]:
    return list(db.session.scalars(select(Product).order_by(Product.code)))


def set_mapping(role: str, code: str, *, product_id: int | None = None, actor_id: int | None, ip: str = "") -> None:
    """Map ``role`` to the account ``code`` for all products (``product_id`` None) or one product; an
    empty code removes a product's override (the general mapping applies again)."""
    if role not in books.ROLES:
        raise LedgerError("unknown_role", N_("There is no such role of the chart."))
    if product_id is not None and db.session.get(Product, product_id) is None:
        raise LedgerError("unknown_product", N_("There is no such loan product."))
    row = db.session.scalar(select(AccountMapping).where(
        AccountMapping.role == role,
        AccountMapping.product_id.is_(None) if product_id is None else AccountMapping.product_id == product_id))
    code = (code or "").strip()
    before = row.account.code if row is not None else None
    if not code:
        if product_id is None:
            raise LedgerError("mapping_required", N_("Every role needs an account for all products."))
        if row is not None:
            db.session.delete(row)
    else:
        account = _account(code)
        if not account.is_active:
            raise LedgerError("retired_account", N_("Account %(account)s %(name)s is retired and takes no postings."),
                              account=account.code, name=account.name)
        if row is None:
            db.session.add(AccountMapping(role=role, product_id=product_id, account_id=account.id))
        else:
            row.account_id = account.id
    if before == (code or None):
        db.session.rollback()
        return
    audit.record("ledger.mapping_changed", actor_id=actor_id, object_type="account_mapping", ip=ip, role=role,
                 product_id=product_id, before=before, after=code or None)
    db.session.commit()


# --- manual entries and reversals ------------------------------------------------------------------


def parse_lines(codes: list[str], debits: list[str], credits: list[str]) -> list[books.Line]:
    """The form's lines → Lines by account code. A wholly blank row is skipped; a row with an account
    and no amount, an amount and no account, or both a debit and a credit is refused."""
    lines: list[books.Line] = []
    n = max(len(codes), len(debits), len(credits))
    if n > MAX_LINES:
        raise LedgerError("too_many_lines", N_("An entry has at most %(max)s lines."), max=MAX_LINES)
    for i in range(n):
        code = (codes[i] if i < len(codes) else "").strip()
        debit = (debits[i] if i < len(debits) else "").strip()
        credit = (credits[i] if i < len(credits) else "").strip()
        if not (code or debit or credit):
            continue
        row = i + 1
        if not code:
            raise LedgerError("empty_line", N_("Line %(row)s: enter the account code."), row=row)
        if not debit and not credit:
            raise LedgerError("empty_line", N_("Line %(row)s: enter a debit or a credit amount."), row=row)
        if debit and credit:
            raise LedgerError("both_sides", N_("Line %(row)s: a line is a debit or a credit, not both."), row=row)
        try:
            amount = parse_amount(debit or credit)
        except AmountError as e:
            raise LedgerError("bad_amount", N_("Line %(row)s: %(problem)s"), row=row,
                              problem=e.message % e.params if e.params else e.message) from None
        fen = to_fen(amount)
        if fen <= 0:
            raise LedgerError("empty_line", N_("Line %(row)s: the amount must be more than zero."), row=row)
        account = db.session.scalar(select(Account).where(Account.code == code))
        if account is None or not CODE.fullmatch(code):
            raise LedgerError("unknown_account", N_("Line %(row)s: there is no account with code %(account)s."),
                              row=row, account=code)
        if not account.is_active:
            raise LedgerError("retired_account", N_("Line %(row)s: account %(account)s %(name)s is retired and takes no postings."),
                              row=row, account=code, name=account.name)
        lines.append(books.Line(code, debit=fen if debit else 0, credit=fen if credit else 0))
    if len(lines) < 2:
        raise LedgerError("too_few_lines", N_("An entry needs at least one debit line and one credit line."))
    debit_total = sum(line.debit for line in lines)
    credit_total = sum(line.credit for line in lines)
    if debit_total != credit_total:
        from app.domain.money import format_money, from_fen

        raise LedgerError("unbalanced", N_("The entry does not balance: debits %(debit)s, credits %(credit)s."),
                          debit=format_money(from_fen(debit_total)), credit=format_money(from_fen(credit_total)))
    return lines


def manual_entry(day: date | None, summary: str, codes: list[str], debits: list[str], credits: list[str], *,
                 actor_id: int | None, ip: str = "") -> JournalEntry:
    """Post the accountant's entry on ``day`` (an open day of an open period, not in the future);
    audited; commits. Refused, with nothing written: a missing summary or date, an unbalanced entry,
    an unknown or retired account code, a closed period or day, an empty line."""
    summary = " ".join((summary or "").split())
    if day is None:
        raise LedgerError("bad_date", N_("Enter the entry's date."))
    if day > clock.business_today():
        raise LedgerError("future_date", N_("An entry cannot be dated in the future."))
    if not summary:
        raise LedgerError("no_summary", N_("Enter the entry's summary (摘要)."))
    if len(summary) > 200:
        raise LedgerError("no_summary", N_("A summary has at most %(max)s characters."), max=200)
    lines = parse_lines(codes, debits, credits)
    try:
        entry = ledger.post("manual", lines, value_date=day, posting_date=day, memo=summary, source_type="manual",
                            user_id=actor_id)
    except LedgerError:
        db.session.rollback()
        raise
    audit.record("ledger.manual_entry", actor_id=actor_id, object_type="journal_entry", object_id=entry.id, ip=ip,
                 posting_date=day.isoformat(), summary=summary,
                 lines=[{"account": ln.account, "debit": ln.debit, "credit": ln.credit} for ln in lines])
    db.session.commit()
    return entry


def entry(entry_id: int) -> JournalEntry:
    found = db.session.get(JournalEntry, entry_id)
    if found is None:
        raise LedgerError("unknown_entry", N_("There is no such journal entry."))
    return found


def reverse_entry(entry_id: int, reason: str, *, actor_id: int | None, ip: str = "") -> JournalEntry:
    """Undo a manual entry by its mirror, posted today, with the reason as its summary; audited; commits.
    A loan's entries are undone at the loan (reversing the repayment…), so that the books and the
    loans keep agreeing; a reversal is not reversed again. As with a repayment, a second person
    reverses: the accountant who posted the entry does not undo it himself."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise LedgerError("no_reason", N_("Give the reason for the reversal."))
    original = entry(entry_id)
    if original.kind != "manual":
        raise LedgerError("not_manual", N_("Only a manual entry is reversed here; a loan's entries are undone at the loan."))
    if actor_id is not None and original.created_by_id == actor_id:
        raise LedgerError("same_person", N_("You posted this entry, so a second person must reverse it."))
    memo = f"冲销#{original.id} {reason}"[:200]
    try:
        mirror = ledger.mirror(original, kind="reversal", memo=memo, user_id=actor_id,
                               value_date=clock.business_today())
    except LedgerError:
        db.session.rollback()
        raise
    audit.record("ledger.entry_reversed", actor_id=actor_id, object_type="journal_entry", object_id=original.id, ip=ip,
                 mirror_id=mirror.id, reason=reason)
    db.session.commit()
    return mirror


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


# --- closing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRow:
    period: str
    status: str              # open | closed
    closed_at: object
    closed_by: str
    checks: dict


def closing_status() -> tuple[date | None, list[PeriodRow]]:
    """The last closed day and every period the books know (this month and the last at least), newest first."""
    from app.models import LedgerBook, LedgerPeriod, User

    book = db.session.get(LedgerBook, 1)
    periods = {p.period: p for p in db.session.scalars(select(LedgerPeriod))}
    today = clock.business_today()
    current = {books.period_of(today), books.period_of(today.replace(day=1) - timedelta(days=1))}
    names = dict(db.session.execute(select(User.id, User.full_name)).tuples().all())
    rows = []
    for name in sorted(set(periods) | current, reverse=True):
        p = periods.get(name)
        rows.append(PeriodRow(name, p.status if p else "open", p.closed_at if p else None,
                              names.get(p.closed_by_id, "") if p and p.closed_by_id else "",
                              dict(p.checks or {}) if p else {}))
    return (book.days_closed_through if book else None), rows


def close_day(day: date | None, *, actor) -> object:
    """The day-end close (app.services.ledger_close): audited and committed there."""
    if day is None:
        raise LedgerError("bad_date", N_("Enter the day to close."))
    return ledger_close.close_day(day, actor.id)


def close_month(period: str, *, actor) -> object:
    """The month-end close (provisioning, checks, the period closed): app.services.ledger_close."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", (period or "").strip()):
        raise LedgerError("bad_period", N_("A period is written YYYY-MM, e.g. 2026-11."))
    return ledger_close.close_month(period.strip(), actor)


def provision(period: str, *, actor) -> dict:
    """The month-end loan loss provision (app.services.provisioning): audited and committed there."""
    return provisioning.provision((period or "").strip(), getattr(actor, "id", actor))


def reconciliation(as_of: date) -> dict:
    """The loans ↔ ledger reconciliation for ``as_of`` (app.services.ledger_loans.reconcile) as a
    plain dict for the closing screen: as_of, rows (code, name, ledger_fen, loans_fen,
    difference_fen), not_in_books, ok."""
    from dataclasses import asdict

    from app.services import ledger_loans

    result = ledger_loans.reconcile(as_of)
    return {**asdict(result), "ok": result.ok}
