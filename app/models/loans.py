"""Loan accounts after disbursement, their schedules and repayments."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.applications import Application
from app.models.org import Office, User
from app.models.people import Borrower
from app.models.products import Product
from app.models.types import Money, Rate, UTCDateTime, utcnow


class Loan(db.Model):
    __tablename__ = "loans"
    __table_args__ = (
        # A period's disbursements (reports, the dashboard's monthly series) from the index alone:
        # these columns never change after disbursement, so the daily job's updates never touch it.
        Index("ix_loans_disbursed_on_office", "disbursed_on", "office_id", "officer_id", "product_id", "principal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    # The contract number printed on the loan note, assigned once at disbursement:
    # office code - year - sequence of that office and year (services/loans.next_contract_no).
    contract_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    repayment_method: Mapped[str] = mapped_column(String(20))
    # Copied from the product at disbursement: a later product change never alters a loan.
    frequency: Mapped[str] = mapped_column(String(20), default="monthly")
    day_count: Mapped[str] = mapped_column(String(10), default="act/360")
    penalty_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    # The product's repayment allocation order when the loan was made: a later change to the
    # product must not re-allocate repayments already taken. Empty = the default order.
    allocation_order: Mapped[list] = mapped_column(JSON, default=list)
    term_months: Mapped[int]
    disbursed_on: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(50), default="")
    disbursed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # active → closed (fully repaid) or written_off; arrears are derived, never stored as a state.
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    # Refreshed by the daily job, for fast portfolio queries.
    days_past_due: Mapped[int] = mapped_column(default=0)
    # Penalty interest has been accrued up to (not including) this day.
    accrued_through: Mapped[date | None] = mapped_column(Date)
    # When the next loan-use revisit falls due; the daily job creates it and moves this on, so it
    # reads only the loans due for one. Empty until the job first sees the loan.
    next_revisit_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    classification: Mapped[str] = mapped_column(String(20), default="normal")  # app.domain.repayment.CLASSES
    # The books (app/services/ledger_loans.py): "accrual" recognises interest day by day into
    # 应收利息, "cash" when it is paid. Copied from the product at disbursement.
    accounting_basis: Mapped[str] = mapped_column(String(10), default="accrual")
    # Restructuring (展期/重组): interest and penalty unpaid at a restructuring and added to the
    # principal, in total; the date of the last one (repayments before it keep their allocation,
    # the schedule from it is the new one); how many so far.
    capitalized_interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    restructured_on: Mapped[date | None] = mapped_column(Date)
    restructure_count: Mapped[int] = mapped_column(default=0)
    # The current schedule's first installment: the ones before it are the old schedule, settled by
    # the last restructuring and kept as they stood (the replay starts at restructured_on).
    schedule_from_seq: Mapped[int] = mapped_column(default=1)
    # A restructured loan's class stays at least this until that day (the daily job keeps it).
    class_floor: Mapped[str | None] = mapped_column(String(20))
    class_floor_until: Mapped[date | None] = mapped_column(Date)
    # Write-off (核销): when, and the principal and the interest/penalty it took off the balance sheet
    # (kept off-balance for collection); what has been recovered since.
    written_off_on: Mapped[date | None] = mapped_column(Date)
    written_off_principal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    written_off_interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # False for a loan that came in without entries (taken over from earlier books, or made before
    # the books existed): ledger_loans.open_books posts its opening balances, once.
    in_books: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship()
    borrower: Mapped[Borrower] = relationship()
    product: Mapped[Product] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    office: Mapped[Office] = relationship()
    installments: Mapped[list[Installment]] = relationship(
        back_populates="loan", order_by="Installment.seq", cascade="all, delete-orphan"
    )
    repayments: Mapped[list[Repayment]] = relationship(
        back_populates="loan", order_by="Repayment.id"
    )


class Installment(db.Model):
    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("loan_id", "seq"),
        # The daily job's lookups of unsettled installments (a settled one has paid_off_on): a loan's
        # in one index dive instead of reading all its installments, and all the late ones at once.
        Index("ix_installments_loan_unsettled", "loan_id", "paid_off_on", "due_date"),
        Index("ix_installments_unsettled_due", "paid_off_on", "due_date"),
        # The daily interest accrual reads the unsettled installments whose period has begun.
        Index("ix_installments_unsettled_accrues", "paid_off_on", "accrues_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    seq: Mapped[int]
    due_date: Mapped[date] = mapped_column(Date, index=True)
    principal_due: Mapped[Decimal] = mapped_column(Money)
    interest_due: Mapped[Decimal] = mapped_column(Money)
    principal_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    interest_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    penalty_accrued: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    penalty_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # Overdue principal in fen times days overdue, summed exactly; penalty_accrued is derived
    # from it, so accruing three days at once equals accruing them one by one.
    penalty_basis: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part of interest_due already recognised in the books before this installment existed
    # (interest carried into a restructured schedule, not capitalised): never accrued again.
    interest_carried: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # The books (app/domain/loan_books.py): the first day of the installment's interest period (the
    # previous due date, or the disbursement), and the interest recognised so far (accrual basis).
    accrues_from: Mapped[date | None] = mapped_column(Date)
    interest_recognised: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid_off_on: Mapped[date | None] = mapped_column(Date)

    loan: Mapped[Loan] = relationship(back_populates="installments")


class Repayment(db.Model):
    __tablename__ = "repayments"
    __table_args__ = (UniqueConstraint("loan_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(50))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Mistakes are reversed by a second person, never deleted.
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversal_reason: Mapped[str] = mapped_column(String(200), default="")
    # Where the money went: [[seq, component, fen], ...] plus prepaid principal.
    allocation: Mapped[dict] = mapped_column(JSON, default=dict)
    receipt_sha256: Mapped[str] = mapped_column(String(64), default="")

    loan: Mapped[Loan] = relationship(back_populates="repayments")


class JobRun(db.Model):
    """One run of a scheduled job for one business day: the catch-up bookmark."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "for_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(30))
    for_date: Mapped[date] = mapped_column(Date)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ContractCounter(db.Model):
    """The last contract number given per office and year: one row per pair, bumped under its lock."""

    __tablename__ = "contract_counters"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_no: Mapped[int] = mapped_column(default=0)
