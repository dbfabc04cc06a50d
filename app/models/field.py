"""Field collection (上门收款): a repayment an officer took in the village, on his phone, and the
cashier's confirmation of what he handed over at the branch (the cash in transit until then)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Double, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.loans import Loan, Repayment
from app.models.messaging import SmsMessage
from app.models.org import User
from app.models.types import Money, UTCDateTime, UUIDStr, utcnow


class FieldDeposit(db.Model):
    """What an officer handed over at the branch for one day's collections, as the cashier counted it."""

    __tablename__ = "field_deposits"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    collected_on: Mapped[date] = mapped_column(Date)
    expected: Mapped[Decimal] = mapped_column(Money)   # the collections' total
    handed: Mapped[Decimal] = mapped_column(Money)     # counted by the cashier
    shortfall: Mapped[Decimal] = mapped_column(Money)  # expected - handed (never negative)
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    confirmed_by: Mapped[User] = relationship(foreign_keys=[confirmed_by_id])


class FieldCollection(db.Model):
    """One repayment taken in the field; its ``uuid`` is made by the phone (a resend records it once)."""

    __tablename__ = "field_collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDStr, unique=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    collected_on: Mapped[date] = mapped_column(Date, index=True)  # the business day it was taken
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmation: Mapped[str] = mapped_column(String(10))  # "photo" (the borrower's signature)
    photo_sha256: Mapped[str] = mapped_column(String(64), default="")
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    accuracy_m: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    repayment_id: Mapped[int | None] = mapped_column(ForeignKey("repayments.id"))
    receipt_sms_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id"))  # None: no mobile number
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("field_deposits.id"), index=True)

    loan: Mapped[Loan] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    repayment: Mapped[Repayment | None] = relationship()
    receipt_sms: Mapped[SmsMessage | None] = relationship()
    deposit: Mapped[FieldDeposit | None] = relationship()
