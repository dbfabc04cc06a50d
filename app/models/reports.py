"""What the daily job keeps of the portfolio so that a report "as of" a past day gives that day's
figures without replaying history: compact aggregates per day, and one row per loan at each
month's opening.

A snapshot for day D is written by the daily job's run for D, after it has brought every loan to
D (days past due and class as of D): the figures at the opening of D, i.e. at the close of D - 1.
The loan rows are written on the first day of each month: the close of the month before, which is
what the month-end reports and the classification migration matrix compare.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PortfolioSnapshot(db.Model):
    """Active loans on one day, grouped by office × officer × product × class × days-past-due
    bucket (``app.domain.portfolio.DPD_BUCKETS``): counts and amounts in integer fen."""

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (
        # Also the index of every read: a day, then an office.
        UniqueConstraint("day", "office_id", "officer_id", "product_id", "classification", "dpd_bucket",
                         name="uq_portfolio_snapshots_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    classification: Mapped[str] = mapped_column(String(20))
    dpd_bucket: Mapped[int] = mapped_column(SmallInteger)
    loans: Mapped[int]
    outstanding_principal_fen: Mapped[int] = mapped_column(BigInteger)
    overdue_principal_fen: Mapped[int] = mapped_column(BigInteger)
    overdue_interest_fen: Mapped[int] = mapped_column(BigInteger)
    penalty_outstanding_fen: Mapped[int] = mapped_column(BigInteger)


class LoanSnapshot(db.Model):
    """One active loan at the opening of the first day of a month (the close of the month before)."""

    __tablename__ = "loan_snapshots"
    __table_args__ = (Index("ix_loan_snapshots_day_office", "day", "office_id"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), primary_key=True, autoincrement=False)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    classification: Mapped[str] = mapped_column(String(20))
    days_past_due: Mapped[int]
    outstanding_principal_fen: Mapped[int] = mapped_column(BigInteger)


class MonthlyFigures(db.Model):
    """A closed month's flows, grouped by office × officer × product, kept when the month closes
    (the daily job's run on the next month's first day, or a rebuild of that day): the collection
    report of the month (installments falling due in it, their due, what standing repayments paid
    on them on or before their due date and after it up to the month's last day) and the loans
    paid out in it. Amounts in integer fen; ``month`` is the month's first day."""

    __tablename__ = "monthly_figures"
    __table_args__ = (
        # Also the index of every read: a month, then an office.
        UniqueConstraint("month", "office_id", "officer_id", "product_id", name="uq_monthly_figures_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    installments_due: Mapped[int]
    due_fen: Mapped[int] = mapped_column(BigInteger)
    collected_on_time_fen: Mapped[int] = mapped_column(BigInteger)
    collected_late_fen: Mapped[int] = mapped_column(BigInteger)
    disbursed_loans: Mapped[int]
    disbursed_fen: Mapped[int] = mapped_column(BigInteger)
