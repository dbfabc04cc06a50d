"""Loan products (业务类型) and the photos each one needs (采集项目)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.routing import RoutingRules
from app.extensions import db
from app.models.types import Money, Rate

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

    product: Mapped[Product] = relationship(back_populates="items")
