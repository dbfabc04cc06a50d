"""Restructuring and extension (重组 / 展期) requests and what they did (app/services/restructuring.py)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.loans import Loan
from app.models.types import UTCDateTime, utcnow


class LoanRestructuring(db.Model):
    """A request to extend or restructure a loan: asked with a reason, approved level by level (the
    levels its product's rules asked for), then applied: the old schedule is kept here as it stood."""

    __tablename__ = "loan_restructurings"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # app.domain.restructure.KINDS
    reason: Mapped[str] = mapped_column(String(20))  # app.domain.restructure.REASONS
    note: Mapped[str] = mapped_column(String(300))
    term_months: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))
    grace_months: Mapped[int] = mapped_column(default=0)
    capitalise: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending → approved (applied) | refused | withdrawn
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    # The levels the rules asked for beyond the first, with their reasons: [[level, N_, params], …]
    levels: Mapped[list] = mapped_column(JSON, default=list)
    # Each decision so far: [{"level", "user_id", "at", "approve", "comment"}, …]
    decisions: Mapped[list] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    effective_on: Mapped[date | None] = mapped_column(Date)
    # Once applied: what the old schedule left owed (fen) and the old schedule as it stood.
    carried: Mapped[dict] = mapped_column(JSON, default=dict)
    old_schedule: Mapped[list] = mapped_column(JSON, default=list)
    first_new_seq: Mapped[int | None]
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))

    loan: Mapped[Loan] = relationship()
