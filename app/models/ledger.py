"""The general ledger: chart of accounts, role mapping, journal entries and lines, periods, day totals.

Append-only: a journal entry is never updated nor deleted; a mistake is undone by a mirror entry
(``reverses_id``). Amounts are Money (integer fen in the database). See app/domain/ledger.py.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import Money, UTCDateTime, utcnow


class Account(db.Model):
    """One account of the chart (科目). Never deleted once used: retired accounts take no postings."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # app.domain.ledger.KINDS
    side: Mapped[str] = mapped_column(String(6))   # normal side: "debit" | "credit"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountMapping(db.Model):
    """Which account a role posts to: for every product (product_id empty) or one product."""

    __tablename__ = "account_mappings"
    __table_args__ = (UniqueConstraint("role", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(40))  # app.domain.ledger.ROLES
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))

    account: Mapped[Account] = relationship()


class JournalEntry(db.Model):
    """One voucher (凭证): balanced lines, posted on ``posting_date`` (always in an open period) for
    an event of ``value_date`` (its own date, maybe earlier: a back-dated repayment)."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_source", "source_type", "source_id"),
        Index("ix_journal_entries_posting", "posting_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))  # app.domain.ledger.ENTRY_KINDS
    memo: Mapped[str] = mapped_column(String(200), default="")  # 摘要; empty = the kind's label
    # No foreign key: an undone disbursement deletes its loan, and the entries stay.
    loan_id: Mapped[int | None] = mapped_column(index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    source_type: Mapped[str] = mapped_column(String(30), default="")  # "repayment", "field_collection"…
    source_id: Mapped[int | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[JournalLine]] = relationship(back_populates="entry", order_by="JournalLine.id")


class JournalLine(db.Model):
    """A debit or a credit of one account. posting_date, value_date and loan_id are copied from
    the entry so that balances by day and per loan read one table's index."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("ix_journal_lines_account_posting", "account_id", "posting_date"),
        Index("ix_journal_lines_account_value", "account_id", "value_date"),
        Index("ix_journal_lines_loan_account", "loan_id", "account_id"),
        Index("ix_journal_lines_posting", "posting_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    loan_id: Mapped[int | None]
    posting_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date] = mapped_column(Date)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[Account] = relationship()


class AccountDayTotal(db.Model):
    """An account's debits and credits posted on one closed day: a trial balance sums these (a few
    thousand rows a year) plus the lines of the days not yet closed, never every line."""

    __tablename__ = "account_day_totals"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    debit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class LedgerBook(db.Model):
    """The one row (id 1) every posting reads with a shared lock and the day-end close updates:
    ``days_closed_through`` — no line may be posted on or before it."""

    __tablename__ = "ledger_book"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    days_closed_through: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1)


class LedgerPeriod(db.Model):
    """A month of the books. A closed period takes no new entries (a later event dated in it posts
    in the open period with its own value date)."""

    __tablename__ = "ledger_periods"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-12"
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checks: Mapped[dict] = mapped_column(JSON, default=dict)  # what the close checked, and found
