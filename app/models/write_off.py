"""Write-off (核销) of a lost loan and the recoveries after it (app/services/write_off.py)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.loans import Loan
from app.models.org import User
from app.models.types import Money, UTCDateTime, utcnow


class WriteOffRequest(db.Model):
    """A request to write a loan off: asked by one person with a reason, decided by another."""

    __tablename__ = "write_off_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    basis: Mapped[str] = mapped_column(String(20))  # "loss_class" | "decision"
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | refused
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))  # the write-off's entry

    loan: Mapped[Loan] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Recovery(db.Model):
    """Money received on a written-off loan: recovery income, and off the off-balance memo."""

    __tablename__ = "recoveries"
    __table_args__ = (UniqueConstraint("loan_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(50))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))

    loan: Mapped[Loan] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
