"""Loan products (业务类型) and the photos each one needs (采集项目)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.routing import RoutingRules
from app.extensions import db
from app.models.types import Money, Rate, UTCDateTime, utcnow

REPAYMENT_METHODS = ("annuity", "equal_principal", "interest_only", "bullet", "flat")


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    repayment_method: Mapped[str] = mapped_column(String(20))
    frequency: Mapped[str] = mapped_column(String(20), default="monthly")
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    min_rate: Mapped[Decimal] = mapped_column(Rate)
    max_rate: Mapped[Decimal] = mapped_column(Rate)
    penalty_rate: Mapped[Decimal] = mapped_column(Rate)
    day_count: Mapped[str] = mapped_column(String(10), default="act/360")
    min_amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal] = mapped_column(Money)
    min_term_months: Mapped[int]
    max_term_months: Mapped[int]
    # Routing rules as data (see app.domain.routing.RoutingRules.to_dict).
    routing_rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # Repayment allocation order (app.domain.repayment.COMPONENTS); empty = the default order.
    allocation_order: Mapped[list] = mapped_column(JSON, default=list)
    # Post-loan task thresholds; empty = the institution's default (TASK_* settings).
    first_revisit_days: Mapped[int | None]
    revisit_every_days: Mapped[int | None]
    pre_due_amount: Mapped[Decimal | None] = mapped_column(Money)
    escalation_days: Mapped[int | None]
    # Data entry: a keyed value that differs from the officer's capture or from OCR blocks completion
    # (True) or is shown to the reviewer as a finding (False, the default).
    entry_mismatch_blocks: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A due date on a holiday or a weekend (unless worked, 调休) moves to the next working day.
    holiday_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    # The books: "accrual" (interest recognised day by day) or "cash" (when paid); copied onto loans.
    accounting_basis: Mapped[str] = mapped_column(String(10), default="accrual")
    # Restructuring and extension rules as data (app.domain.restructure.RestructureRules); empty = defaults.
    restructure_rules: Mapped[dict | None] = mapped_column(JSON)
    # The rural credit model's rules as data, one key per concern, each read by its own domain
    # module: "group" (joint-liability groups), "guarantor", "light_path"; empty = defaults.
    credit_rules: Mapped[dict | None] = mapped_column(JSON)
    # Bumped by every change of the terms; product_versions keeps each version's terms.
    version: Mapped[int] = mapped_column(default=1)

    items: Mapped[list[CollectionItem]] = relationship(
        back_populates="product",
        order_by="CollectionItem.sort_order",
        cascade="all, delete-orphan",
    )

    @property
    def rules(self) -> RoutingRules:
        return RoutingRules.from_dict(self.routing_rules or {})


class CollectionItem(db.Model):
    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(50))  # e.g. 借款调查表
    required_count: Mapped[int] = mapped_column(default=1)
    max_count: Mapped[int] = mapped_column(default=5)
    sort_order: Mapped[int] = mapped_column(default=0)
    # A retired item is no longer asked for by the phone; it stays because photos refer to it.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    product: Mapped[Product] = relationship(back_populates="items")


class ProductVersion(db.Model):
    """The terms of a product as they were from ``changed_at`` (version 1 = as created)."""

    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    version: Mapped[int]
    terms: Mapped[dict] = mapped_column(JSON)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Holiday(db.Model):
    """A configured date: a holiday (no due date on it, for products that move them) or, with
    ``working``, a weekend day worked instead (调休)."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(50), default="")
    working: Mapped[bool] = mapped_column(Boolean, default=False)
