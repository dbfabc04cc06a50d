"""Posting to the general ledger: the one way a journal entry is written.

``post`` checks the lines balance (app.domain.ledger), resolves roles to the institution's accounts
(per product where it maps one), refuses a closed period, a closed day or a retired account, and
adds the entry to the caller's transaction: the entry commits with the event it records, or not at
all. It never commits; the caller's service does, with its own audit record.

Every posting first reads the ledger book's row with a shared lock: postings run side by side,
while the day-end close (which takes it exclusively) waits for those in flight and then no line can
be posted on a closed day.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from app import clock
from app.domain import ledger as books
from app.domain.i18n import N_
from app.domain.money import from_fen, to_fen
from app.extensions import db
from app.models import Account, AccountMapping, JournalEntry, JournalLine, LedgerBook, LedgerPeriod
from app.services.errors import ServiceError


class LedgerError(ServiceError):
    """A posting refused: ``code`` says why (unbalanced, closed_period, unknown_account…)."""


def ensure_chart() -> None:
    """Create the default chart and role mapping where there is none yet (a new institution; the
    migration, the demo and the tests call it). An existing chart is left as the admin made it;
    a role the chart does not map yet gets its default account if that account exists."""
    existing = {a.code: a for a in db.session.scalars(select(Account))}
    if not existing:
        for acc in books.DEFAULT_CHART:
            db.session.add(Account(code=acc.code, name=acc.name, kind=acc.kind, side=acc.side))
        db.session.flush()
        existing = {a.code: a for a in db.session.scalars(select(Account))}
    mapped = set(db.session.scalars(select(AccountMapping.role).where(AccountMapping.product_id.is_(None))))
    for role, code in books.DEFAULT_MAPPING.items():
        if role not in mapped and code in existing:
            db.session.add(AccountMapping(role=role, product_id=None, account_id=existing[code].id))
    if db.session.get(LedgerBook, 1) is None:
        db.session.add(LedgerBook(id=1))
    db.session.flush()


def account_for(role_or_code: str, product_id: int | None = None) -> Account:
    """The account a role posts to for a product (its own mapping, else the institution's), or the
    account of a code. Raises LedgerError(unknown_account) when there is none."""
    if role_or_code in books.ROLES:
        rows = db.session.execute(
            select(AccountMapping.product_id, Account).join(Account, AccountMapping.account_id == Account.id)
            .where(AccountMapping.role == role_or_code,
                   (AccountMapping.product_id.is_(None)) | (AccountMapping.product_id == product_id))
        ).all()
        by_product = {pid: acc for pid, acc in rows}
        account = by_product.get(product_id) if product_id is not None else None
        account = account or by_product.get(None)
        if account is None:
            raise LedgerError("unknown_account", N_("No account is set for %(role)s; set one under Chart of accounts."),
                              role=role_or_code)
        return account
    account = db.session.scalar(select(Account).where(Account.code == role_or_code))
    if account is None:
        raise LedgerError("unknown_account", N_("There is no account with code %(account)s."), account=role_or_code)
    return account


def open_period(period: str) -> bool:
    row = db.session.get(LedgerPeriod, period)
    return row is None or row.status == "open"


def post(kind: str, lines: Sequence[books.Line], *, value_date: date, posting_date: date | None = None,
         memo: str = "", loan_id: int | None = None, office_id: int | None = None, product_id: int | None = None,
         source_type: str = "", source_id: int | None = None, reverses: JournalEntry | None = None,
         user_id: int | None = None) -> JournalEntry:
    """Add one balanced entry to the session (flushed, not committed) and return it.

    ``lines`` name roles or account codes; roles resolve for ``product_id``. ``posting_date``
    defaults to the business day today; it must lie in an open period and after the last closed
    day. ``value_date`` is the event's own date (may be earlier, even in a closed period)."""
    if kind not in books.ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    try:
        books.check_balanced(lines)
    except books.Unbalanced:
        raise LedgerError("unbalanced", N_("The debits and the credits of an entry must be equal and each line one positive amount.")) from None
    on = posting_date or clock.business_today()
    book = db.session.scalar(select(LedgerBook).where(LedgerBook.id == 1).with_for_update(read=True))
    if book is None:
        ensure_chart()
        book = db.session.get(LedgerBook, 1)
    if book.days_closed_through is not None and on <= book.days_closed_through:
        raise LedgerError("closed_day", N_("The books are closed up to %(day)s; post on a later day."),
                          day=book.days_closed_through.isoformat())
    period = books.period_of(on)
    if not open_period(period):
        raise LedgerError("closed_period", N_("The period %(period)s is closed; it takes no new entries."), period=period)
    resolved: list[tuple[Account, books.Line]] = []
    for line in lines:
        account = account_for(line.account, product_id)
        if not account.is_active:
            raise LedgerError("retired_account", N_("Account %(account)s %(name)s is retired and takes no postings."),
                              account=account.code, name=account.name)
        resolved.append((account, line))
    entry = JournalEntry(posting_date=on, value_date=value_date, kind=kind, memo=memo[:200], loan_id=loan_id,
                         office_id=office_id, source_type=source_type, source_id=source_id,
                         reverses_id=reverses.id if reverses is not None else None, created_by_id=user_id)
    db.session.add(entry)
    db.session.flush()
    db.session.add_all(
        JournalLine(entry_id=entry.id, account_id=account.id, debit=from_fen(line.debit),
                    credit=from_fen(line.credit), loan_id=loan_id, posting_date=on, value_date=value_date)
        for account, line in resolved
    )
    db.session.flush()
    return entry


def mirror(entry: JournalEntry, *, kind: str = "reversal", memo: str = "", user_id: int | None = None,
           value_date: date | None = None) -> JournalEntry:
    """The mirror of ``entry`` (debits become credits), posted today: how a posting is undone.
    An entry is mirrored at most once (journal_entries.reverses_id is unique)."""
    if db.session.scalar(select(JournalEntry.id).where(JournalEntry.reverses_id == entry.id)) is not None:
        raise LedgerError("already_reversed", N_("This entry has already been reversed."))
    lines = [books.Line(line.account.code, debit=to_fen(line.credit), credit=to_fen(line.debit)) for line in entry.lines]
    return post(kind, lines, value_date=value_date or entry.value_date, memo=memo, loan_id=entry.loan_id,
                office_id=entry.office_id, source_type=entry.source_type, source_id=entry.source_id,
                reverses=entry, user_id=user_id)

